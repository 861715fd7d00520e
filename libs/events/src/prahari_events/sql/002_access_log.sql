-- Who read what (issue 10): one row per read of a case, its events, its timeline or its
-- notifications, and one per page of a list, by the unit that asked. Reads must not change
-- a case's version, so this is a log of its own, not the case's stream; append-only like
-- the events.
CREATE TABLE access_log (
    id       bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at       timestamptz NOT NULL DEFAULT now(),
    unit_id  text        NOT NULL,
    role     text        NOT NULL,
    kind     text        NOT NULL,
    state    integer,
    district integer,
    what     text        NOT NULL,
    case_id  uuid,
    detail   jsonb       NOT NULL DEFAULT '{}',
    trace_id text
);
CREATE INDEX access_log_by_case ON access_log (case_id, at) WHERE case_id IS NOT NULL;
CREATE INDEX access_log_by_unit ON access_log (unit_id, at);
CREATE TRIGGER access_log_append_only BEFORE UPDATE OR DELETE ON access_log
    FOR EACH ROW EXECUTE FUNCTION events_append_only();

-- The case lifecycle: the read model gains what lists filter on, the access keys of the
-- shared policy (prahari_events.policy), the search words, and the snapshot's model version.
-- Rows written by an older model (model < the code's) are rebuilt from their events when
-- cases starts (service_layer.handlers.refresh_stale_views), so no backfill here.
ALTER TABLE case_view
    ADD COLUMN model         integer  NOT NULL DEFAULT 1,
    ADD COLUMN level         text     NOT NULL DEFAULT 'district',
    ADD COLUMN report_type   text     NOT NULL DEFAULT '',
    ADD COLUMN assignee_unit text,
    ADD COLUMN readers       text[]   NOT NULL DEFAULT '{}',
    ADD COLUMN partners      text[]   NOT NULL DEFAULT '{}',
    ADD COLUMN search        tsvector NOT NULL DEFAULT ''::tsvector;
CREATE INDEX case_view_readers ON case_view USING gin (readers);
CREATE INDEX case_view_partners ON case_view USING gin (partners);
CREATE INDEX case_view_search ON case_view USING gin (search);
CREATE INDEX case_view_model ON case_view (model);

-- Which report belongs to which case: a report is in at most one case (triage will attach
-- several reports to one case).
CREATE TABLE case_reports (
    report_id uuid        PRIMARY KEY,
    case_id   uuid        NOT NULL,
    linked_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX case_reports_by_case ON case_reports (case_id);
INSERT INTO case_reports (report_id, case_id, linked_at)
    SELECT report_id, case_id, opened_at FROM case_view;

-- Idempotency-Key for commands: the first answer, kept with the request's fingerprint and
-- written in the command's own transaction, so a retried command has exactly one effect.
CREATE TABLE command_keys (
    scope        text        NOT NULL,  -- "<state>:<unit id>": unit ids are unique per state
    key          text        NOT NULL,
    request_hash bytea       NOT NULL,
    case_id      uuid        NOT NULL,
    version      integer,
    body         jsonb,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, key)
);

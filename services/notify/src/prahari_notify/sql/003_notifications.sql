-- Notifications as aggregates (issue 9): the deliveries row is the snapshot of its
-- notification-<id> stream (state, version, attempts), plus what dispatching needs: the
-- provider that may hold it (pinned), the one that just refused it, the one an attempt is in
-- flight at with its lease, and when it stops being worth delivering.
ALTER TABLE deliveries DROP CONSTRAINT IF EXISTS deliveries_status_check;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_status_check
    CHECK (status IN ('queued', 'sent', 'delivered', 'failed', 'expired'));
ALTER TABLE deliveries ALTER COLUMN case_id DROP NOT NULL;
ALTER TABLE deliveries
    ADD COLUMN version              integer NOT NULL DEFAULT 1,
    ADD COLUMN correlation_id       uuid,
    ADD COLUMN queued_event_id      uuid,
    ADD COLUMN recipient_state      integer,
    ADD COLUMN recipient_unit       text,
    ADD COLUMN template             text,
    ADD COLUMN cause                text,
    ADD COLUMN cause_event_id       uuid,
    ADD COLUMN expires_at           timestamptz,
    ADD COLUMN escalate             boolean NOT NULL DEFAULT false,
    ADD COLUMN pinned_provider      text,
    ADD COLUMN last_failed_provider text,
    ADD COLUMN sending_provider     text,
    ADD COLUMN lease_until          timestamptz;
-- Rows written before: their stream's real version and the event they started from.
UPDATE deliveries d SET
    version = coalesce((SELECT max(stream_version) FROM events e
                        WHERE e.stream_id = 'notification-' || d.notification_id), 1),
    (correlation_id, queued_event_id) = (SELECT (convert_from(e.body, 'UTF8')::jsonb ->> 'correlation_id')::uuid,
                               e.event_id FROM events e
                        WHERE e.stream_id = 'notification-' || d.notification_id
                          AND e.stream_version = 1);
DROP INDEX IF EXISTS deliveries_due;
CREATE INDEX deliveries_due ON deliveries (channel, next_attempt_at) WHERE status = 'queued';
CREATE INDEX deliveries_expiring ON deliveries (expires_at) WHERE status IN ('queued', 'sent');
CREATE INDEX deliveries_unarrived ON deliveries (status, created_at)
    WHERE status IN ('failed', 'expired');

-- Follow-ups about one case to one unit, held for a digest (domain/digest.py).
CREATE TABLE digest_windows (
    case_id         uuid        NOT NULL,
    recipient_state integer     NOT NULL,
    recipient_unit  text        NOT NULL,
    cause           text        NOT NULL,
    ends_at         timestamptz NOT NULL,
    held            integer     NOT NULL,
    place           text        NOT NULL,
    state           integer     NOT NULL,
    district        integer,
    correlation_id  uuid        NOT NULL,
    PRIMARY KEY (case_id, recipient_state, recipient_unit, cause)
);
CREATE INDEX digest_windows_ending ON digest_windows (ends_at);

-- The report type of each case, for the words of alerts about its later events.
ALTER TABLE case_access ADD COLUMN report_type text;

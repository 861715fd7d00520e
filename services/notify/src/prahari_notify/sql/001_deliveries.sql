-- One row per message to send. Written in the same transaction as its notification.queued
-- event; the dispatcher moves it to sent or failed, appending the matching event.
CREATE TABLE deliveries (
    notification_id    uuid        PRIMARY KEY,
    case_id            uuid        NOT NULL,
    state              integer     NOT NULL,
    district           integer,
    channel            text        NOT NULL CHECK (channel IN ('sms', 'email')),
    recipient_name     text        NOT NULL,
    address            text        NOT NULL,
    subject            text,
    body               text        NOT NULL,
    template_id        text,
    status             text        NOT NULL DEFAULT 'queued'
                                   CHECK (status IN ('queued', 'sent', 'failed')),
    attempts           integer     NOT NULL DEFAULT 0,
    next_attempt_at    timestamptz NOT NULL DEFAULT now(),
    last_error         text,
    provider_reference text,
    trace              jsonb       NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'queued';
CREATE INDEX deliveries_by_case ON deliveries (case_id);

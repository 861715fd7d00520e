-- Idempotency keys: one row per (unit, key), written before the report is published, with
-- the exact envelope, so a retry after any failure publishes the very same event again.
CREATE TABLE idempotency_keys (
    unit_id      text        NOT NULL,
    key          text        NOT NULL,
    request_hash bytea       NOT NULL,
    report_id    uuid        NOT NULL UNIQUE,
    topic        text        NOT NULL,
    envelope     bytea       NOT NULL,
    status       text        NOT NULL CHECK (status IN ('pending', 'accepted')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    accepted_at  timestamptz,
    PRIMARY KEY (unit_id, key)
);

-- What became of each report: received, case opened (with its case), or rejected downstream.
CREATE TABLE report_status (
    report_id   uuid        PRIMARY KEY,
    unit_id     text        NOT NULL,
    report_type text        NOT NULL,
    state       integer     NOT NULL,
    district    integer     NOT NULL,
    status      text        NOT NULL CHECK (status IN ('received', 'case_opened', 'rejected')),
    case_id     uuid,
    reason      text,
    received_at timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

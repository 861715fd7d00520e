-- The cases read model: the current state of every case, updated in the same transaction as
-- the events it is folded from, so it never runs ahead of or behind the event store.
CREATE TABLE case_view (
    case_id     uuid        PRIMARY KEY,
    version     integer     NOT NULL,
    status      text        NOT NULL,
    report_id   uuid        NOT NULL UNIQUE,
    state       integer     NOT NULL,
    district    integer     NOT NULL,
    opened_at   timestamptz NOT NULL,
    body        jsonb       NOT NULL
);
CREATE INDEX case_view_by_place ON case_view (state, district, opened_at DESC, case_id DESC);
CREATE INDEX case_view_by_time ON case_view (opened_at DESC, case_id DESC);

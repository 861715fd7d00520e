-- Watchlist entries, as they stand (their events are in the event store, watchlist-<id>).
CREATE TABLE watchlist (
    entry_id    uuid        PRIMARY KEY,
    version     integer     NOT NULL,
    kind        text        NOT NULL,
    value       text        NOT NULL,
    owner_state integer     NOT NULL,
    expires_at  timestamptz NOT NULL,
    removed     boolean     NOT NULL,
    body        jsonb       NOT NULL
);
CREATE INDEX watchlist_by_identifier ON watchlist (kind, value) WHERE NOT removed;
CREATE INDEX watchlist_by_owner ON watchlist (owner_state, expires_at);

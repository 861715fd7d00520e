-- The event store, its outbox and the consumers' processed-message records.
-- Applied inside the owning service's schema (search_path), once, by prahari_events.db.migrate.

CREATE TABLE events (
    stream_id      text        NOT NULL,
    stream_version integer     NOT NULL CHECK (stream_version > 0),
    -- Global order is (tx_id, position): see read_all in store.py for why not position alone.
    position       bigint      GENERATED ALWAYS AS IDENTITY,
    tx_id          xid8        NOT NULL DEFAULT pg_current_xact_id(),
    event_id       uuid        NOT NULL UNIQUE,
    type           text        NOT NULL,
    version        integer     NOT NULL CHECK (version > 0),
    recorded_at    timestamptz NOT NULL,
    -- The whole envelope as canonical JSON (sorted keys, UTF-8): exactly the bytes that are
    -- hashed and published. Query it with convert_from(body, 'UTF8')::jsonb.
    body           bytea       NOT NULL,
    -- Hash chain per stream: hash = SHA-256(prev_hash || body), prev_hash of version 1 is 32
    -- zero bytes. Editing or deleting any stored event breaks the chain after it.
    prev_hash      bytea       NOT NULL CHECK (length(prev_hash) = 32),
    hash           bytea       NOT NULL CHECK (length(hash) = 32),
    -- One writer wins each version of a stream: this key is the optimistic concurrency check.
    PRIMARY KEY (stream_id, stream_version)
);
CREATE INDEX events_global_order ON events (tx_id, position);
CREATE INDEX events_recorded_at ON events (stream_id, recorded_at);

-- History is append-only. A table owner can still disable this trigger; the hash chain is
-- what makes such an edit detectable.
CREATE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'events are append-only: % refused', TG_OP USING ERRCODE = 'P0001';
END $$;
CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_append_only();

-- Transactional outbox: written in the same transaction as the events it publishes.
CREATE TABLE outbox (
    id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id     uuid        NOT NULL,
    topic        text        NOT NULL,
    key          text        NOT NULL,
    value        bytea       NOT NULL,
    headers      jsonb       NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
);
CREATE INDEX outbox_pending ON outbox (id) WHERE published_at IS NULL;

-- Idempotent consumers: one row per (consumer, event), written with the consumer's effect.
CREATE TABLE processed_messages (
    consumer     text        NOT NULL,
    event_id     uuid        NOT NULL,
    topic        text        NOT NULL,
    partition    integer     NOT NULL,
    "offset"     bigint      NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);

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

-- Appends in one round trip: the optimistic-concurrency check, the hash chain, the events and
-- their outbox rows. The chain is the same as prahari_events.store.chain_hash computes.
CREATE FUNCTION append_events(
    p_stream      text,
    p_expected    integer,
    p_event_ids   uuid[],
    p_types       text[],
    p_versions    integer[],
    p_recorded_at timestamptz,
    p_bodies      bytea[],
    p_topic       text,
    p_headers     text[]
) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    head_version integer;
    prev         bytea;
    prevs        bytea[] := '{}';
    hashes       bytea[] := '{}';
    body         bytea;
BEGIN
    SELECT stream_version, hash INTO head_version, prev
      FROM events WHERE stream_id = p_stream ORDER BY stream_version DESC LIMIT 1;
    IF NOT FOUND THEN
        head_version := 0;
        prev := decode(repeat('00', 32), 'hex');
    END IF;
    IF head_version <> p_expected THEN
        RAISE EXCEPTION 'stream % is at version %, not %', p_stream, head_version, p_expected
            USING ERRCODE = 'PX409', DETAIL = head_version::text;
    END IF;
    FOREACH body IN ARRAY p_bodies LOOP
        prevs := array_append(prevs, prev);
        prev := sha256(prev || body);
        hashes := array_append(hashes, prev);
    END LOOP;
    -- A concurrent writer that took the same version fails here on the primary key.
    INSERT INTO events (stream_id, stream_version, event_id, type, version, recorded_at,
                        body, prev_hash, hash)
    SELECT p_stream, p_expected + n::integer, e, t, v, p_recorded_at, b, ph, h
      FROM unnest(p_event_ids, p_types, p_versions, p_bodies, prevs, hashes)
           WITH ORDINALITY AS u(e, t, v, b, ph, h, n);
    IF p_topic IS NOT NULL THEN
        INSERT INTO outbox (event_id, topic, key, value, headers)
        SELECT e, p_topic, p_stream, b, hd::jsonb
          FROM unnest(p_event_ids, p_bodies, p_headers) AS u(e, b, hd);
        -- Wakes the relay at commit; NOTIFY is transactional, so never for a rollback.
        PERFORM pg_notify('prahari_outbox', current_schema());
    END IF;
END $$;

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

-- Signed checkpoints (issue 10): what the service has published about its own store. One
-- row per checkpoint, written with the checkpoint's outbox row; the maker reads the newest
-- to continue the chain. The copy that counts is the signed one on Kafka: an edit here
-- only makes the next checkpoint disagree with the published chain.
CREATE TABLE checkpoints (
    seq      bigint      PRIMARY KEY,
    tx_id    xid8        NOT NULL,
    position bigint      NOT NULL,
    digest   bytea       NOT NULL CHECK (length(digest) = 32),
    made_at  timestamptz NOT NULL
);
CREATE TRIGGER checkpoints_append_only BEFORE UPDATE OR DELETE ON checkpoints
    FOR EACH ROW EXECUTE FUNCTION events_append_only();

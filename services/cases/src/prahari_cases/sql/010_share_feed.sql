-- How far the partner states' feeds (prahari.share.<state>) have read this store's events,
-- in the store's global order. One row: the feed's transaction locks it, so two processes of
-- cases never queue the same events twice, and it moves with the outbox rows it queued.
CREATE TABLE share_feed_position (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    tx_id    xid8    NOT NULL,
    position bigint  NOT NULL
);
INSERT INTO share_feed_position (tx_id, position) VALUES ('0', 0);

-- Signed webhook requests already answered (issue 11): an exact copy sent again within the
-- timestamp skew is refused. Rows older than twice the skew are forgotten as new ones come.
CREATE TABLE webhook_seen (
    signature text        PRIMARY KEY,
    seen_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_seen_by_age ON webhook_seen (seen_at);

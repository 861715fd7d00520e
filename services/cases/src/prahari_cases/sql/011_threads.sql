-- Threads' read model (their events are in the event store, thread-<id>). A post locks its
-- thread's head row, so posts to one thread queue behind each other instead of failing on
-- the stream's version; posts to different threads never wait for each other.
CREATE TABLE thread_heads (
    thread_id uuid        PRIMARY KEY,
    kind      text        NOT NULL,
    case_id   uuid,
    version   integer     NOT NULL DEFAULT 0,
    last_at   timestamptz
);
CREATE INDEX thread_heads_cases ON thread_heads (last_at DESC) WHERE case_id IS NOT NULL;

-- Each message as the API shows it, the words it is found by (domain/search.py, as for
-- cases), the fingerprint of the request that posted it (a retry with the same key answers
-- the same), and the cases opened from it.
CREATE TABLE thread_messages (
    message_id   uuid        PRIMARY KEY,
    thread_id    uuid        NOT NULL,
    version      integer     NOT NULL,
    posted_at    timestamptz NOT NULL,
    body         jsonb       NOT NULL,
    request_hash bytea,
    search       tsvector    NOT NULL,
    cases        uuid[]      NOT NULL DEFAULT '{}',
    UNIQUE (thread_id, version)
);
CREATE INDEX thread_messages_search ON thread_messages USING gin (search);

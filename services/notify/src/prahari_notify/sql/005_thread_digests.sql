-- Messages in a thread are digested per thread as follow-ups about a case are per case: the
-- window's subject is the thread then (the cause names which).
COMMENT ON COLUMN digest_windows.case_id IS
    'what the digest is about: the case, or for thread.message_posted the thread';

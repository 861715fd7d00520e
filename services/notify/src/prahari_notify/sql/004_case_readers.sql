-- Who may read each case, as the shared policy's keys (policy.read_keys), so that a list of
-- notifications across cases is filtered in the query (readers && the unit's keys), the way
-- cases filters its list: a page never comes back short because rows were dropped after it.
ALTER TABLE case_access ADD COLUMN readers text[] NOT NULL DEFAULT '{}';
CREATE INDEX case_access_readers ON case_access USING gin (readers);

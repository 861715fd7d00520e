-- The database roles (docs/security.md), made once by whoever administers the server:
-- infra/postgres.sh for development, the postgres image's init for docker compose.
--   prahari         owns the database and every table; prahari-migrate runs as it
--   prahari_<svc>   a service: reads and writes its read models, appends to its history,
--                   cannot change history or the schema (prahari-migrate grants this)
--   prahari_audit   reads every schema, inserts into the access log; its replay builds a
--                   scratch schema inside a transaction it always rolls back
-- Development passwords are the roles' names; real deployments set their own.
SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', r, r)
  FROM unnest(ARRAY['prahari_intake', 'prahari_cases', 'prahari_notify', 'prahari_audit']) AS r
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) \gexec
GRANT CONNECT ON DATABASE prahari TO prahari_intake, prahari_cases, prahari_notify;
GRANT CONNECT, CREATE, TEMPORARY ON DATABASE prahari TO prahari_audit;

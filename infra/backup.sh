#!/usr/bin/env bash
# Backup and restore of Prahari's PostgreSQL database (every service's schema: the event
# stores, outboxes, read models, access logs and checkpoints), with Debian's pg_dump.
#   infra/backup.sh dump FILE      a consistent snapshot (one transaction) in pg_dump's
#                                  custom format, compressed
#   infra/backup.sh restore FILE   into an empty database whose roles exist (a fresh cluster
#                                  from infra/postgres.sh start has them, from roles.sql):
#                                  objects, grants and the append-only triggers come back
#                                  as they were, in one transaction
# The database is the owner's DATABASE_URL (default: infra/postgres.sh url). Afterwards run
# `prahari-audit verify` and `prahari-audit replay --service cases|notify` against the
# restored database: the chains, the checkpoints and the read models are checked there.
# Kafka is not in the backup: its topics are kept forever and replicated (three brokers in
# production); a restore replays nothing into them.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
url=${DATABASE_URL:-$("$here/postgres.sh" url)}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -x "$bin/pg_dump" ] || { echo "backup.sh: PostgreSQL's client tools are not installed" >&2; exit 1; }

case "${1:-}" in
  dump)
    file=${2:?usage: backup.sh dump FILE}
    "$bin/pg_dump" --format=custom --compress=6 --no-password --file="$file" "$url"
    echo "backup.sh: wrote $file ($(du -h "$file" | cut -f1))"
    ;;
  restore)
    file=${2:?usage: backup.sh restore FILE}
    "$bin/pg_restore" --single-transaction --exit-on-error --no-password --dbname="$url" "$file"
    echo "backup.sh: restored $file"
    ;;
  *) echo "usage: $0 dump FILE | restore FILE" >&2; exit 2 ;;
esac

#!/usr/bin/env bash
# PostgreSQL for development and tests.
#   infra/postgres.sh start   when DATABASE_URL is set, only check that it answers; otherwise
#                             install Debian's postgresql package if missing, create a cluster
#                             (once) and start it on 127.0.0.1:$PRAHARI_PG_PORT (default 54329)
#   infra/postgres.sh stop    stop the local cluster
#   infra/postgres.sh url     print the owner role's DATABASE_URL (migrations, tests)
#   infra/postgres.sh url R   print role R's (prahari_cases, prahari_audit, ...)
# The server runs as the postgres user, never as root. Its data directory and its log live
# outside the checkout (/var/lib/prahari), because the checkout may be in a directory the
# postgres user cannot enter (a clone in root's home, mode 0700).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
port=${PRAHARI_PG_PORT:-54329}
# The data directory sits outside the checkout so that the postgres user can always reach it.
data=${PRAHARI_PG_DATA:-/var/lib/prahari/pg-$port}
log=${PRAHARI_PG_LOG:-/var/lib/prahari/pg-$port.log}
local_url="postgresql://prahari:prahari@127.0.0.1:$port/prahari"

as_postgres() {
  # From /, so that the postgres user's tools never try to enter the caller's directory.
  if [ "$(id -un)" = postgres ]; then (cd / && "$@"); else (cd / && runuser -u postgres -- "$@"); fi
}

bindir() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$d" ] && [ -x "$d/pg_ctl" ] && echo "$d"
}

install() {
  bindir >/dev/null && return
  echo "postgres.sh: installing Debian's postgresql package"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq postgresql >/dev/null
}

answers() { (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; }

start() {
  if [ -n "${DATABASE_URL:-}" ]; then
    echo "postgres.sh: using DATABASE_URL from the environment"; return
  fi
  install
  local bin; bin=$(bindir)
  mkdir -p "$(dirname "$log")" && touch "$log" && chown postgres "$log"
  if [ ! -f "$data/PG_VERSION" ]; then
    mkdir -p "$data" && chown postgres:postgres "$data" && chmod 700 "$data"
    as_postgres "$bin/initdb" -D "$data" -U postgres -E UTF8 --locale=C.UTF-8 \
      --auth-local=peer --auth-host=scram-sha-256 >/dev/null
  fi
  if ! answers; then
    mkdir -p /var/run/postgresql && chown postgres:postgres /var/run/postgresql
    # fsync stays on: the tests prove durability, so the database must really be durable.
    as_postgres "$bin/pg_ctl" -D "$data" -l "$log" -w -t 60 start \
      -o "-p $port -c listen_addresses=127.0.0.1 -k /var/run/postgresql -c max_connections=200" >/dev/null
  fi
  as_postgres "$bin/psql" -h /var/run/postgresql -p "$port" -U postgres -qAt -v ON_ERROR_STOP=1 <<SQL >/dev/null
SELECT 'CREATE ROLE prahari LOGIN PASSWORD ''prahari'''
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'prahari') \gexec
SELECT 'CREATE DATABASE prahari OWNER prahari ENCODING ''UTF8'''
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'prahari') \gexec
SQL
  as_postgres "$bin/psql" -h /var/run/postgresql -p "$port" -U postgres -d prahari -qAt -v ON_ERROR_STOP=1 \
    <"$root/infra/roles.sql" >/dev/null
  echo "postgres.sh: PostgreSQL answers on 127.0.0.1:$port (log: $log)"
}

stop() {
  [ -n "${DATABASE_URL:-}" ] && return
  local bin; bin=$(bindir) || return 0
  [ -f "$data/postmaster.pid" ] || { echo "postgres.sh: not running"; return; }
  as_postgres "$bin/pg_ctl" -D "$data" -m fast -w stop >/dev/null
  echo "postgres.sh: stopped"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  # url: the owner's (migrations; tests' tampering). url ROLE: a service's or the auditors'
  # (in development the password is the role's name; elsewhere PRAHARI_<ROLE>_DATABASE_URL).
  url)
    if [ -z "${2:-}" ]; then echo "${DATABASE_URL:-$local_url}"
    else
      name="PRAHARI_$(echo "${2#prahari_}" | tr a-z A-Z)_DATABASE_URL"
      if [ -n "${!name:-}" ]; then echo "${!name}"
      elif [ -n "${DATABASE_URL:-}" ]; then echo "$DATABASE_URL"
      else echo "postgresql://$2:$2@127.0.0.1:$port/prahari"; fi
    fi ;;
  *) echo "usage: $0 start|stop|url [role]" >&2; exit 2 ;;
esac

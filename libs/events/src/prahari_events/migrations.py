"""prahari-migrate: the only thing that changes the database's schema.

Services never run schema changes. This command does, connected as the owner role (the
owner of the database and of every table), and then grants each service's role what it may
do in its schema: read and write its read models, insert into its history, never update,
delete or truncate it; only an owner can disable the append-only triggers, and the services
are not owners. The audit role may read everything and insert into the access log alone.

    prahari-migrate --service cases [--service notify ...] [--schema S]

`./dev up`, `./dev test` and the test fixtures call it. The roles themselves are made once
by whoever administers the server (infra/postgres.sh for development): see
docs/security.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence

import asyncpg

from prahari_events.db import (
    Conn,
    Migration,
    create_pool,
    event_store_migrations,
    migrate,
    package_migrations,
    quote_ident,
)

# Per service: its package (whose sql/ holds its migrations) and the prefix of their names.
SERVICES = {
    "intake": ("prahari_intake", "intake"),
    "cases": ("prahari_cases", "cases"),
    "notify": ("prahari_notify", "notify"),
}
# History: the service may add to it, never change it.
HISTORY = ("events", "access_log", "checkpoints")
AUDIT_ROLE = "prahari_audit"


def role_of(service: str) -> str:
    return f"prahari_{service}"


def migrations_for(service: str) -> list[Migration]:
    package, prefix = SERVICES[service]
    return event_store_migrations() + package_migrations(package, prefix)


async def grant(conn: Conn, schema: str, role: str, auditor: str) -> None:
    """What `role` (a service) and `auditor` may do in `schema`; run after every migration,
    so tables added since are covered."""
    s, r, a = quote_ident(schema), quote_ident(role), quote_ident(auditor)
    tables = {
        row["tablename"]
        for row in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = $1", schema)
    }
    history = [quote_ident(t) for t in HISTORY if t in tables]
    statements = [
        f"GRANT USAGE ON SCHEMA {s} TO {r}, {a}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA {s} TO {r}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {s} TO {r}",
        f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON {s}.schema_migrations FROM {r}",
        f"GRANT SELECT ON ALL TABLES IN SCHEMA {s} TO {a}",
    ]
    if history:
        qualified = ", ".join(f"{s}.{t}" for t in history)
        statements.append(f"REVOKE UPDATE, DELETE, TRUNCATE ON {qualified} FROM {r}")
    if "access_log" in tables:
        # The auditors' tool records its own use: insert, nothing more.
        statements += [
            f"GRANT INSERT ON {s}.access_log TO {a}",
            f"GRANT USAGE ON SEQUENCE {s}.access_log_id_seq TO {a}",
        ]
    for statement in statements:
        await conn.execute(statement)


async def migrate_service(
    url: str,
    service: str,
    schema: str | None = None,
    *,
    role: str | None = None,
    auditor: str = AUDIT_ROLE,
) -> list[str]:
    """Bring `schema` (by default the service's name) up to date for `service` and grant
    its role; returns the migrations applied now."""
    schema = schema or service
    pool = await create_pool(url, schema, application="prahari-migrate", max_size=1)
    try:
        applied = await migrate(pool, schema, migrations_for(service))
        async with pool.acquire() as conn, conn.transaction():
            await grant(conn, schema, role or role_of(service), auditor)
    finally:
        await pool.close()
    return applied


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="prahari-migrate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--service", action="append", choices=sorted(SERVICES), required=True)
    parser.add_argument("--schema", help="the schema (default: the service's name)")
    parser.add_argument("--role", help="the service's role (default: prahari_<service>)")
    parser.add_argument("--auditor", default=AUDIT_ROLE, help="the audit tool's role")
    args = parser.parse_args(argv)
    if not args.database_url:
        parser.error("give --database-url or DATABASE_URL: the owner role's connection")
    try:
        for service in args.service:
            applied = asyncio.run(
                migrate_service(
                    args.database_url,
                    service,
                    args.schema,
                    role=args.role,
                    auditor=args.auditor,
                )
            )
            print(
                f"{service}: {len(applied)} migrations applied"
                + (f": {', '.join(applied)}" if applied else "")
            )
    except asyncpg.UndefinedObjectError as exc:
        print(
            f"prahari-migrate: {exc} (infra/postgres.sh start makes the development roles;"
            " on another server, see docs/security.md)",
            file=sys.stderr,
        )
        return 2
    except (OSError, asyncpg.PostgresError) as exc:
        print(f"prahari-migrate: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

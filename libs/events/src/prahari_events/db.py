"""PostgreSQL pools and migrations. Each service owns one schema; tests give every test its
own schema, so they never see each other's rows."""

from __future__ import annotations

import json
from collections.abc import Sequence
from importlib import resources

import asyncpg
import orjson

from prahari_events.errors import ConfigError

Migration = tuple[str, str]  # (unique name, SQL)
# A connection as handlers receive it: a plain one, or one lent by a pool.
Conn = asyncpg.Connection | asyncpg.pool.PoolConnectionProxy


def event_store_migrations() -> list[Migration]:
    base = resources.files("prahari_events") / "sql"
    return [
        (f"events/{name}", (base / name).read_text("utf-8"))
        for name in ("001_eventstore.sql", "002_access_log.sql", "003_checkpoints.sql")
    ]


def package_migrations(package: str, prefix: str) -> list[Migration]:
    base = resources.files(package) / "sql"
    names = sorted(p.name for p in base.iterdir() if p.name.endswith(".sql"))
    return [(f"{prefix}/{name}", (base / name).read_text("utf-8")) for name in names]


def _encode_json(value: object) -> str:
    # orjson: UTF-8 as it is (Hindi stays readable in psql), and several times faster than
    # the stdlib on read-model rows that commands rewrite. The stdlib for what orjson cannot
    # hold (integers beyond 64 bits).
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value, ensure_ascii=False)


async def _init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec(
        "jsonb", encoder=_encode_json, decoder=orjson.loads, schema="pg_catalog"
    )


def quote_ident(name: str) -> str:
    if not name.replace("_", "").isalnum() or not name.isascii():
        raise ConfigError(f"unsafe SQL identifier {name!r}")
    return f'"{name}"'


async def _keep_session(_conn: object) -> None:
    """Pool reset without the reset query. asyncpg still rolls back an open transaction on
    release; we skip its `RESET ALL; UNLISTEN *; ...`, a round trip on every release,
    because no code of ours leaves session state on a pooled connection (the outbox relay
    holds its lock and LISTEN on a connection of its own)."""


async def create_pool(
    url: str, schema: str, *, application: str, max_size: int = 10
) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        url,
        min_size=1,
        max_size=max_size,
        server_settings={"search_path": schema, "application_name": application},
        init=_init_connection,
        reset=_keep_session,
    )
    assert pool is not None
    return pool


async def connect(url: str, schema: str, *, application: str) -> asyncpg.Connection:
    """A connection of its own, outside any pool: for session state such as advisory locks
    and LISTEN, which must end with the connection."""
    conn: asyncpg.Connection = await asyncpg.connect(
        url, server_settings={"search_path": schema, "application_name": application}
    )
    await _init_connection(conn)
    return conn


async def migrate(pool: asyncpg.Pool, schema: str, migrations: Sequence[Migration]) -> list[str]:
    """Apply the migrations not yet applied in `schema`; safe to run from many processes at
    once (they queue on an advisory lock). Returns the names applied now."""
    applied: list[str] = []
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"migrate:{schema}")
        await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_ident(schema)}")
        await conn.execute(f"SET LOCAL search_path TO {quote_ident(schema)}")
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {r["name"] for r in await conn.fetch("SELECT name FROM schema_migrations")}
        for name, sql in migrations:
            if name in done:
                continue
            await conn.execute(sql)
            await conn.execute("INSERT INTO schema_migrations (name) VALUES ($1)", name)
            applied.append(name)
    return applied


async def require_migrated(
    pool: asyncpg.Pool, schema: str, migrations: Sequence[Migration], service: str
) -> None:
    """Services never change the schema (prahari-migrate does, as the owner role): a
    service finds its migrations applied, or refuses to start, saying what to run."""
    try:
        done = {r["name"] for r in await pool.fetch("SELECT name FROM schema_migrations")}
    except asyncpg.UndefinedTableError:
        done = set()
    missing = [name for name, _ in migrations if name not in done]
    if missing:
        raise ConfigError(
            f"schema {schema} lacks migrations {', '.join(missing)}:"
            f" run prahari-migrate --service {service} --schema {schema}"
        )


async def drop_schema(pool: asyncpg.Pool, schema: str) -> None:
    await pool.execute(f"DROP SCHEMA IF EXISTS {quote_ident(schema)} CASCADE")

"""The watchlist table: entries as they stand, and the entries an identifier matches."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from prahari_cases.domain.watchlist import Entry
from prahari_events.db import Conn


async def save(conn: Conn, entry: Entry) -> None:
    await conn.execute(
        "INSERT INTO watchlist (entry_id, version, kind, value, owner_state, expires_at,"
        " removed, body) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        " ON CONFLICT (entry_id) DO UPDATE SET version = excluded.version,"
        " expires_at = excluded.expires_at, removed = excluded.removed, body = excluded.body"
        " WHERE watchlist.version < excluded.version",
        entry.entry_id,
        entry.version,
        entry.identifier.kind,
        entry.identifier.value,
        entry.owner.state,
        entry.expires_at,
        entry.removed,
        entry.to_json(),
    )


async def get(conn: Conn | asyncpg.Pool, entry_id: uuid.UUID) -> Entry | None:
    body = await conn.fetchval("SELECT body FROM watchlist WHERE entry_id = $1", entry_id)
    return Entry.from_json(dict(body)) if body is not None else None


async def listed(
    pool: asyncpg.Pool, owner_state: int | None, now: datetime, *, inactive: bool
) -> list[Entry]:
    rows = await pool.fetch(
        "SELECT body FROM watchlist WHERE ($1::integer IS NULL OR owner_state = $1)"
        " AND ($3 OR (NOT removed AND expires_at > $2))"
        " ORDER BY expires_at DESC, entry_id LIMIT 1000",
        owner_state,
        now,
        inactive,
    )
    return [Entry.from_json(dict(r["body"])) for r in rows]

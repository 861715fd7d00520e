"""notify's tables as its handlers and HTTP API read them: the case-access projection and
the deliveries' read model."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from prahari_events.db import Conn
from prahari_events.policy import CaseAccess
from prahari_notify.domain import access as case_access


async def access_of(conn: Conn | asyncpg.Pool, case_id: uuid.UUID) -> tuple[int, CaseAccess] | None:
    row = await conn.fetchrow("SELECT version, access FROM case_access WHERE case_id = $1", case_id)
    return (row["version"], case_access.from_json(dict(row["access"]))) if row else None


async def save_access(conn: Conn, case_id: uuid.UUID, version: int, access: CaseAccess) -> None:
    await conn.execute(
        "INSERT INTO case_access (case_id, version, access) VALUES ($1, $2, $3)"
        " ON CONFLICT (case_id) DO UPDATE SET version = excluded.version,"
        " access = excluded.access WHERE case_access.version < excluded.version",
        case_id,
        version,
        case_access.to_json(access),
    )


async def case_of(pool: asyncpg.Pool, notification_id: uuid.UUID) -> uuid.UUID | None:
    found: uuid.UUID | None = await pool.fetchval(
        "SELECT case_id FROM deliveries WHERE notification_id = $1", notification_id
    )
    return found


async def deliveries(pool: asyncpg.Pool, case_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = await pool.fetch(
        "SELECT notification_id, case_id, state, district, channel, recipient_name, address,"
        " status, attempts, last_error, provider_reference, created_at, updated_at"
        " FROM deliveries WHERE case_id = $1 ORDER BY created_at, notification_id",
        case_id,
    )
    return [dict(r) for r in rows]

"""The case_view table: written with the events, read by the HTTP API."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from prahari_cases.domain.case import Case
from prahari_events.db import Conn


async def save(conn: Conn, case: Case) -> None:
    await conn.execute(
        "INSERT INTO case_view (case_id, version, status, report_id, state, district,"
        " opened_at, body) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        " ON CONFLICT (case_id) DO UPDATE SET version = excluded.version,"
        " status = excluded.status, body = excluded.body"
        " WHERE case_view.version < excluded.version",
        case.case_id,
        case.version,
        case.status,
        case.report_id,
        case.state,
        case.district,
        case.opened_at,
        case.to_json(),
    )


async def get(pool: asyncpg.Pool, case_id: uuid.UUID) -> dict[str, Any] | None:
    body = await pool.fetchval("SELECT body FROM case_view WHERE case_id = $1", case_id)
    return dict(body) if body is not None else None


@dataclass(frozen=True, slots=True)
class CaseQuery:
    state: int | None
    district: int | None
    status: str | None
    limit: int
    before: tuple[datetime, uuid.UUID] | None


async def find(pool: asyncpg.Pool, query: CaseQuery) -> Sequence[dict[str, Any]]:
    rows = await pool.fetch(
        "SELECT body FROM case_view"
        " WHERE ($1::integer IS NULL OR state = $1)"
        " AND ($2::integer IS NULL OR district = $2)"
        " AND ($3::text IS NULL OR status = $3)"
        " AND ($4::timestamptz IS NULL OR (opened_at, case_id) < ($4, $5::uuid))"
        " ORDER BY opened_at DESC, case_id DESC LIMIT $6",
        query.state,
        query.district,
        query.status,
        query.before[0] if query.before else None,
        query.before[1] if query.before else None,
        query.limit,
    )
    return [dict(r["body"]) for r in rows]

"""The case_view table, the report-to-case table and command idempotency keys: written in
the same transaction as the events, read by the HTTP API and by the command handlers."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from prahari_cases.domain import search
from prahari_cases.domain.case import Case
from prahari_events.db import Conn
from prahari_events.policy import partner_keys, read_keys

# The shape of `body` this code writes. A row of an older shape is rebuilt from its events.
MODEL = 2


@dataclass(frozen=True, slots=True)
class Row:
    model: int
    version: int
    body: dict[str, Any]


async def save(conn: Conn, case: Case) -> None:
    access = case.access()
    await conn.execute(
        "INSERT INTO case_view (case_id, version, status, report_id, state, district,"
        " opened_at, body, model, level, report_type, assignee_unit, readers, partners, search)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14,"
        " array_to_tsvector($15::text[]))"
        " ON CONFLICT (case_id) DO UPDATE SET version = excluded.version,"
        " status = excluded.status, state = excluded.state, district = excluded.district,"
        " body = excluded.body, model = excluded.model, level = excluded.level,"
        " report_type = excluded.report_type, assignee_unit = excluded.assignee_unit,"
        " readers = excluded.readers, partners = excluded.partners, search = excluded.search"
        " WHERE case_view.version < excluded.version OR case_view.model < excluded.model",
        case.case_id,
        case.version,
        case.status.value,
        case.report_id,
        case.state,
        case.district,
        case.opened_at,
        case.to_json(),
        MODEL,
        case.level.value,
        case.report_type,
        case.assignee.ref.unit_id if case.assignee else None,
        read_keys(access),
        partner_keys(access),
        search.terms(case.description),
    )


async def get(conn: Conn | asyncpg.Pool, case_id: uuid.UUID) -> Row | None:
    row = await conn.fetchrow(
        "SELECT model, version, body FROM case_view WHERE case_id = $1", case_id
    )
    return Row(row["model"], row["version"], dict(row["body"])) if row else None


async def stale(conn: Conn | asyncpg.Pool, limit: int) -> list[uuid.UUID]:
    rows = await conn.fetch(
        "SELECT case_id FROM case_view WHERE model < $1 ORDER BY case_id LIMIT $2", MODEL, limit
    )
    return [r["case_id"] for r in rows]


async def link_report(conn: Conn, report_id: uuid.UUID, case_id: uuid.UUID) -> bool:
    """Record that the report belongs to the case; False if it already belongs to one."""
    linked = await conn.fetchval(
        "INSERT INTO case_reports (report_id, case_id) VALUES ($1, $2)"
        " ON CONFLICT (report_id) DO NOTHING RETURNING true",
        report_id,
        case_id,
    )
    return bool(linked)


@dataclass(frozen=True, slots=True)
class CaseQuery:
    # None: every case (auditors); otherwise the policy's keys the caller holds.
    reader_keys: Sequence[str] | None
    partner_of: Sequence[str] | None  # shared_with_me: the caller's keys as a partner
    status: str | None = None
    report_type: str | None = None
    state: int | None = None
    district: int | None = None
    assigned_to: str | None = None
    opened_from: datetime | None = None
    opened_to: datetime | None = None
    words: Sequence[str] = ()
    limit: int = 50
    after: tuple[datetime, uuid.UUID] | None = None


def _tsquery(words: Sequence[str]) -> str | None:
    """Every word must match, each as a whole word or the start of one. Lexemes are
    quoted, so PostgreSQL's parser never splits them again."""
    if not words:
        return None
    quoted = ("'" + w.replace("\\", "\\\\").replace("'", "''") + "':*" for w in words)
    return " & ".join(quoted)


async def find(pool: asyncpg.Pool, query: CaseQuery) -> Sequence[dict[str, Any]]:
    rows = await pool.fetch(
        "SELECT body FROM case_view"
        " WHERE ($1::text[] IS NULL OR readers && $1)"
        " AND ($2::text[] IS NULL OR partners && $2)"
        " AND ($3::text IS NULL OR status = $3)"
        " AND ($4::text IS NULL OR report_type = $4)"
        " AND ($5::integer IS NULL OR state = $5)"
        " AND ($6::integer IS NULL OR district = $6)"
        " AND ($7::text IS NULL OR assignee_unit = $7)"
        " AND ($8::timestamptz IS NULL OR opened_at >= $8)"
        " AND ($9::timestamptz IS NULL OR opened_at < $9)"
        " AND ($10::tsquery IS NULL OR search @@ $10::tsquery)"
        " AND ($11::timestamptz IS NULL OR (opened_at, case_id) < ($11, $12::uuid))"
        " ORDER BY opened_at DESC, case_id DESC LIMIT $13",
        query.reader_keys,
        query.partner_of,
        query.status,
        query.report_type,
        query.state,
        query.district,
        query.assigned_to,
        query.opened_from,
        query.opened_to,
        _tsquery(query.words),
        query.after[0] if query.after else None,
        query.after[1] if query.after else None,
        query.limit,
    )
    return [dict(r["body"]) for r in rows]


@dataclass(frozen=True, slots=True)
class KeyRecord:
    request_hash: bytes
    case_id: uuid.UUID
    version: int | None
    body: dict[str, Any] | None


async def claim_key(
    conn: Conn, scope: str, key: str, request_hash: bytes, case_id: uuid.UUID
) -> KeyRecord | None:
    """Take the key for this command, or return what holds it. A twin request in flight
    holds the row until its transaction ends; this waits for it, then sees its answer."""
    claimed = await conn.fetchval(
        "INSERT INTO command_keys (scope, key, request_hash, case_id) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT (scope, key) DO NOTHING RETURNING true",
        scope,
        key,
        request_hash,
        case_id,
    )
    if claimed:
        return None
    row = await conn.fetchrow(
        "SELECT request_hash, case_id, version, body FROM command_keys"
        " WHERE scope = $1 AND key = $2",
        scope,
        key,
    )
    assert row is not None  # keys are never deleted while a claim waits on them
    body = row["body"]
    return KeyRecord(row["request_hash"], row["case_id"], row["version"], body)


async def record_answer(
    conn: Conn, scope: str, key: str, version: int, body: dict[str, Any]
) -> None:
    await conn.execute(
        "UPDATE command_keys SET version = $3, body = $4 WHERE scope = $1 AND key = $2",
        scope,
        key,
        version,
        body,
    )

"""intake's PostgreSQL tables: idempotency keys and the report-status read model."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from prahari_events.db import Conn
from prahari_events.envelope import Envelope


@dataclass(frozen=True, slots=True)
class KeyRecord:
    report_id: uuid.UUID
    request_hash: bytes
    topic: str
    envelope: bytes
    status: str
    created_at: datetime


async def find_key(pool: asyncpg.Pool, unit_id: str, key: str) -> KeyRecord | None:
    row = await pool.fetchrow(
        "SELECT report_id, request_hash, topic, envelope, status, created_at"
        " FROM idempotency_keys WHERE unit_id = $1 AND key = $2",
        unit_id,
        key,
    )
    return KeyRecord(**dict(row)) if row else None


async def claim_key(
    pool: asyncpg.Pool,
    unit_id: str,
    key: str,
    *,
    request_hash: bytes,
    envelope: Envelope,
    topic: str,
    body: bytes,
) -> bool:
    """Record the key with the report it stands for; False if someone else holds it."""
    claimed = await pool.fetchval(
        "INSERT INTO idempotency_keys (unit_id, key, request_hash, report_id, topic, envelope,"
        " status) VALUES ($1, $2, $3, $4, $5, $6, 'pending')"
        " ON CONFLICT (unit_id, key) DO NOTHING RETURNING true",
        unit_id,
        key,
        request_hash,
        uuid.UUID(envelope.payload["report_id"]),
        topic,
        body,
    )
    return bool(claimed)


async def record_received(
    conn: Conn | asyncpg.Pool, report: Envelope, *, accepting: tuple[str, str] | None = None
) -> None:
    """Record the report as received and, given (unit id, key), mark that idempotency key
    accepted in the same statement: one commit for both."""
    p = report.payload
    unit_id, key = accepting or (None, None)
    await conn.execute(
        "WITH accepted AS (UPDATE idempotency_keys SET status = 'accepted', accepted_at = now()"
        " WHERE unit_id = $7 AND key = $8 AND status = 'pending')"
        " INSERT INTO report_status (report_id, unit_id, report_type, state, district, status,"
        " received_at) VALUES ($1, $2, $3, $4, $5, 'received', $6)"
        " ON CONFLICT (report_id) DO NOTHING",
        uuid.UUID(p["report_id"]),
        report.actor.unit_id,
        p["report_type"],
        p["state"],
        p["district"],
        report.recorded_at,
        unit_id,
        key,
    )


async def record_case(
    conn: Conn,
    report_id: uuid.UUID,
    case_id: uuid.UUID,
    *,
    status: str,
    reported_by: str,
    report_type: str,
    state: int,
    district: int,
    received_at: str,
) -> None:
    """The report's case: the one it opened (case_opened) or the one triage attached it to
    (linked). The case event may be read before the report itself (two topics): insert or
    update."""
    await conn.execute(
        "INSERT INTO report_status (report_id, unit_id, report_type, state, district, status,"
        " case_id, received_at) VALUES ($1, $2, $3, $4, $5, $8, $6, $7)"
        " ON CONFLICT (report_id) DO UPDATE SET status = excluded.status,"
        " case_id = excluded.case_id, reason = NULL, updated_at = now()",
        report_id,
        reported_by,
        report_type,
        state,
        district,
        case_id,
        datetime.fromisoformat(received_at),
        status,
    )


async def record_rejected(pool: asyncpg.Pool, report_id: uuid.UUID, reason: str) -> None:
    # A case, once opened, stands: a late dead letter does not overwrite it.
    await pool.execute(
        "UPDATE report_status SET status = 'rejected', reason = $2, updated_at = now()"
        " WHERE report_id = $1 AND status = 'received'",
        report_id,
        reason,
    )


async def report_status(pool: asyncpg.Pool, report_id: uuid.UUID) -> dict[str, Any] | None:
    row = await pool.fetchrow("SELECT * FROM report_status WHERE report_id = $1", report_id)
    return dict(row) if row else None


async def webhook_seen(pool: asyncpg.Pool, signature: str) -> bool:
    """Whether this exact signed request (its signature covers its timestamp) was answered."""
    seen: bool = await pool.fetchval(
        "SELECT EXISTS (SELECT 1 FROM webhook_seen WHERE signature = $1)", signature
    )
    return seen


async def remember_webhook(pool: asyncpg.Pool, signature: str, *, keep_s: float) -> None:
    """Remember an answered request for as long as its timestamp would pass the skew check,
    and forget the ones older than that."""
    await pool.execute(
        "WITH gone AS (DELETE FROM webhook_seen WHERE seen_at < now() - make_interval(secs => $2))"
        " INSERT INTO webhook_seen (signature) VALUES ($1) ON CONFLICT DO NOTHING",
        signature,
        keep_s,
    )

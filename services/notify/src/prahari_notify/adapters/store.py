"""All of notify's SQL: the case-access projection, the deliveries (each notification's
snapshot beside its event stream), the digest windows, and the reads of the HTTP API."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

import asyncpg

from prahari_events import policy
from prahari_events.db import Conn
from prahari_events.policy import CaseAccess
from prahari_events.store import APPEND_PARAMS, PreparedAppend
from prahari_notify.domain import access as case_access
from prahari_notify.domain.digest import Window
from prahari_notify.domain.notification import Notification, State

Db = Conn | asyncpg.Pool


async def access_of(conn: Db, case_id: uuid.UUID) -> tuple[int, CaseAccess, str | None] | None:
    row = await conn.fetchrow(
        "SELECT version, access, report_type FROM case_access WHERE case_id = $1", case_id
    )
    if row is None:
        return None
    return row["version"], case_access.from_json(dict(row["access"])), row["report_type"]


async def save_access(
    conn: Conn, case_id: uuid.UUID, version: int, access: CaseAccess, report_type: str | None
) -> None:
    await conn.execute(
        "INSERT INTO case_access (case_id, version, access, report_type, readers)"
        " VALUES ($1, $2, $3, $4, $5)"
        " ON CONFLICT (case_id) DO UPDATE SET version = excluded.version,"
        " access = excluded.access, readers = excluded.readers,"
        " report_type = coalesce(excluded.report_type, case_access.report_type)"
        " WHERE case_access.version < excluded.version",
        case_id,
        version,
        case_access.to_json(access),
        report_type,
        policy.read_keys(access),
    )


async def existing(conn: Conn, ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    rows = await conn.fetch(
        "SELECT notification_id FROM deliveries WHERE notification_id = ANY($1::uuid[])", ids
    )
    return {r["notification_id"] for r in rows}


_QUEUE_COLUMNS = (
    "notification_id, case_id, state, district, channel, recipient_name, address, subject,"
    " body, template_id, trace, correlation_id, queued_event_id, recipient_state,"
    " recipient_unit, template, cause, cause_event_id, expires_at, escalate"
)


_QUEUE_NAMES = [c.strip() for c in _QUEUE_COLUMNS.split(",")]
_QUEUE = (
    f"WITH appended AS (SELECT append_events({APPEND_PARAMS}))"
    f" INSERT INTO deliveries ({_QUEUE_COLUMNS})"
    f" SELECT {', '.join(f'${i}' for i in range(10, 10 + len(_QUEUE_NAMES)))} FROM appended"
)


async def queue(conn: Conn, items: Sequence[tuple[PreparedAppend, Mapping[str, Any]]]) -> None:
    """Each notification.queued with its deliveries row, one statement each, pipelined in
    one round of messages to the server."""
    if not items:
        return
    args = [(*append.args, *(row[c] for c in _QUEUE_NAMES)) for append, row in items]
    with items[0][0].conflicts():
        await conn.executemany(_QUEUE, args)


def notification_of(row: Mapping[str, Any]) -> Notification:
    return Notification(
        row["notification_id"],
        row["channel"],
        State(row["status"]),
        row["version"],
        row["attempts"],
        row["pinned_provider"],
        row["expires_at"],
    )


async def claim(
    pool: asyncpg.Pool,
    channel: str,
    limit: int,
    *,
    lease_s: float,
    choose: Callable[[Mapping[str, Any]], str | None],
    defer_s: float,
) -> list[dict[str, Any]]:
    """Take up to `limit` due messages of one channel for sending, each with the provider
    `choose` picks, under a lease: the provider is written down before anything is sent, so
    after a crash the next attempt knows where the message may already be. A message whose
    only allowed provider is resting (breaker open) is put off by `defer_s`."""
    async with pool.acquire() as conn, conn.transaction():
        rows = await conn.fetch(
            "SELECT * FROM deliveries WHERE channel = $1 AND status = 'queued'"
            " AND next_attempt_at <= now() AND (lease_until IS NULL OR lease_until < now())"
            " ORDER BY next_attempt_at LIMIT $2 FOR UPDATE SKIP LOCKED",
            channel,
            limit,
        )
        if not rows:
            return []
        taken: list[dict[str, Any]] = []
        deferred: list[uuid.UUID] = []
        for row in rows:
            provider = choose(dict(row))
            if provider is None:
                deferred.append(row["notification_id"])
                continue
            taken.append({**dict(row), "provider": provider})
        if taken:
            await conn.execute(
                "UPDATE deliveries d SET sending_provider = t.provider, attempts = d.attempts + 1,"
                " lease_until = now() + make_interval(secs => $3)"
                " FROM unnest($1::uuid[], $2::text[]) AS t(id, provider)"
                " WHERE d.notification_id = t.id",
                [t["notification_id"] for t in taken],
                [t["provider"] for t in taken],
                lease_s,
            )
        if deferred:
            await conn.execute(
                "UPDATE deliveries SET next_attempt_at = now() + make_interval(secs => $2)"
                " WHERE notification_id = ANY($1::uuid[])",
                deferred,
                defer_s,
            )
    for t in taken:
        t["attempts"] += 1
    return taken


async def load(
    conn: Db, notification_id: uuid.UUID, *, lock: bool = False
) -> dict[str, Any] | None:
    row = await conn.fetchrow(
        "SELECT * FROM deliveries WHERE notification_id = $1" + (" FOR UPDATE" if lock else ""),
        notification_id,
    )
    return dict(row) if row else None


# What a recorded attempt or outcome may change on the row; anything else is left alone.
_SETTABLE = frozenset(
    {
        "status",
        "attempts",
        "pinned_provider",
        "last_failed_provider",
        "provider_reference",
        "last_error",
        "next_attempt_at",
    }
)


async def record(
    conn: Db,
    notification_id: uuid.UUID,
    append: PreparedAppend | None,
    changes: Mapping[str, Any],
    *,
    release: bool,
) -> None:
    """Append a notification's new events and move its row with them, in one statement;
    `release` ends the attempt's lease. ConcurrencyError if the stream moved meanwhile."""
    unknown = set(changes) - _SETTABLE
    if unknown:
        raise ValueError(f"not settable: {sorted(unknown)}")
    names = sorted(changes)
    base = 10 if append is not None else 1
    sets = [f"{name} = ${base + 1 + i}" for i, name in enumerate(names)]
    sets.append("updated_at = now()")
    if append is not None:
        sets.append(f"version = {append.expected_version + len(append.envelopes)}")
    if release:
        sets += ["sending_provider = NULL", "lease_until = NULL"]
    update = f"UPDATE deliveries SET {', '.join(sets)} WHERE notification_id = ${base}"
    args = [notification_id, *(changes[n] for n in names)]
    if append is None:
        await conn.execute(update, *args)
        return
    with append.conflicts():
        await conn.execute(
            f"WITH appended AS (SELECT append_events({APPEND_PARAMS})) {update}"
            f" AND EXISTS (SELECT 1 FROM appended)",
            *append.args,
            *args,
        )


_RECORD_ATTEMPT = (
    f"WITH appended AS (SELECT append_events({APPEND_PARAMS}))"
    " UPDATE deliveries SET status = $11, attempts = $12, pinned_provider = $13,"
    " last_failed_provider = coalesce($14, last_failed_provider),"
    " provider_reference = coalesce($15, provider_reference),"
    " last_error = coalesce($16, last_error),"
    " next_attempt_at = coalesce($17, next_attempt_at),"
    " version = $18, updated_at = now(), sending_provider = NULL, lease_until = NULL"
    " WHERE notification_id = $10 AND EXISTS (SELECT 1 FROM appended)"
)


async def record_attempts(
    conn: Conn, items: Sequence[tuple[uuid.UUID, PreparedAppend | None, Mapping[str, Any]]]
) -> None:
    """Many attempts' events and rows in one pipelined round of statements (the caller's
    transaction makes them one commit); ConcurrencyError if any stream moved."""
    args = []
    for notification_id, append, changes in items:
        assert append is not None
        args.append(
            (
                *append.args,
                notification_id,
                changes["status"],
                changes["attempts"],
                changes["pinned_provider"],
                changes.get("last_failed_provider"),
                changes.get("provider_reference"),
                changes.get("last_error"),
                changes.get("next_attempt_at"),
                append.expected_version + len(append.envelopes),
            )
        )
    first = items[0][1]
    assert first is not None
    with first.conflicts():
        await conn.executemany(_RECORD_ATTEMPT, args)


async def overdue(conn: Conn, limit: int, *, sms_receipts: bool) -> list[dict[str, Any]]:
    """Messages past their time to live and not delivered (not while an attempt is out);
    an SMS the gateway took counts as delivered where gateways send no delivery reports."""
    statuses = ["queued", "sent"] if sms_receipts else ["queued"]
    rows = await conn.fetch(
        "SELECT * FROM deliveries WHERE status = ANY($2::text[]) AND expires_at <= now()"
        " AND (lease_until IS NULL OR lease_until < now())"
        " ORDER BY expires_at LIMIT $1 FOR UPDATE SKIP LOCKED",
        limit,
        statuses,
    )
    return [dict(r) for r in rows]


def _window_key(row: Mapping[str, Any]) -> tuple[Any, ...]:
    return (row["case_id"], row["recipient_state"], row["recipient_unit"], row["cause"])


async def window(
    conn: Conn, case_id: uuid.UUID, state: int, unit_id: str, cause: str
) -> Window | None:
    row = await conn.fetchrow(
        "SELECT ends_at, held FROM digest_windows WHERE case_id = $1 AND recipient_state = $2"
        " AND recipient_unit = $3 AND cause = $4 FOR UPDATE",
        case_id,
        state,
        unit_id,
        cause,
    )
    return Window(row["ends_at"], row["held"]) if row else None


async def save_window(conn: Conn, key: Mapping[str, Any], w: Window | None) -> None:
    if w is None:
        await conn.execute(
            "DELETE FROM digest_windows WHERE case_id = $1 AND recipient_state = $2"
            " AND recipient_unit = $3 AND cause = $4",
            *_window_key(key),
        )
        return
    await conn.execute(
        "INSERT INTO digest_windows (case_id, recipient_state, recipient_unit, cause, ends_at,"
        " held, place, state, district, correlation_id)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        " ON CONFLICT (case_id, recipient_state, recipient_unit, cause)"
        " DO UPDATE SET ends_at = excluded.ends_at, held = excluded.held,"
        " correlation_id = excluded.correlation_id",
        *_window_key(key),
        w.ends_at,
        w.held,
        key["place"],
        key["state"],
        key["district"],
        key["correlation_id"],
    )


async def ended_windows(conn: Conn, now: datetime, limit: int) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        "SELECT * FROM digest_windows WHERE ends_at <= $1 ORDER BY ends_at LIMIT $2"
        " FOR UPDATE SKIP LOCKED",
        now,
        limit,
    )
    return [dict(r) for r in rows]


_SHOWN = (
    "notification_id, case_id, state, district, channel, recipient_name, address,"
    " recipient_state, recipient_unit, template, cause, status, attempts, last_error,"
    " provider_reference, pinned_provider AS provider, expires_at, created_at, updated_at"
)


async def case_of(pool: asyncpg.Pool, notification_id: uuid.UUID) -> uuid.UUID | None:
    found: uuid.UUID | None = await pool.fetchval(
        "SELECT case_id FROM deliveries WHERE notification_id = $1", notification_id
    )
    return found


async def deliveries(pool: asyncpg.Pool, case_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = await pool.fetch(
        f"SELECT {_SHOWN} FROM deliveries WHERE case_id = $1 ORDER BY created_at, notification_id",
        case_id,
    )
    return [dict(r) for r in rows]


async def unarrived(
    pool: asyncpg.Pool, status: str, keys: Sequence[str] | None, limit: int
) -> list[dict[str, Any]]:
    """Failed or expired messages, newest first, of the cases whose readers share one of
    `keys` (the shared policy's keys of the asking unit; None for an auditor: all)."""
    rows = await pool.fetch(
        f"SELECT {_SHOWN} FROM deliveries d JOIN case_access a USING (case_id)"
        " WHERE d.status = $1 AND ($3::text[] IS NULL OR a.readers && $3::text[])"
        " ORDER BY d.created_at DESC LIMIT $2",
        status,
        limit,
        keys,
    )
    return [dict(r) for r in rows]

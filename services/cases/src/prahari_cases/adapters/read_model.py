"""The case_view table, the report-to-case table and command idempotency keys: written with
the events (in the consumer's transaction, or in a command's one statement), read by the HTTP
API and by the command handlers."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import orjson

from prahari_cases.domain import search
from prahari_cases.domain.case import Case
from prahari_cases.domain.identifiers import Identifier
from prahari_events.db import Conn
from prahari_events.errors import ConcurrencyError
from prahari_events.policy import partner_keys, read_keys
from prahari_events.store import PreparedAppend

# The shape of `body` this code writes. A row of an older shape is rebuilt from its events.
MODEL = 8


@dataclass(frozen=True, slots=True)
class Row:
    model: int
    version: int
    body: dict[str, Any]


def _view_args(case: Case, body: dict[str, Any]) -> tuple[Any, ...]:
    """save_case_view's arguments (003_commit.sql), in its order; `body` is case.to_json()."""
    access = case.access()
    return (
        case.case_id,
        case.version,
        case.status.value,
        case.report_id,
        case.state,
        case.district,
        case.opened_at,
        body,
        MODEL,
        case.level.value,
        case.report_type,
        case.assignee.ref.unit_id if case.assignee else None,
        read_keys(access),
        partner_keys(access),
        search.terms(case.description),
        bool(case.overdue) and case.status.value != "closed",
        [stage for stage, _ in case.deadlines],
        [due for _, due in case.deadlines],
    )


_VIEW_PARAMS = ", ".join(f"${n}" for n in range(1, 19))
_WITH_IDENTIFIERS_PARAMS = ", ".join(f"${n}" for n in range(1, 22))


async def save(
    conn: Conn,
    case: Case,
    *,
    identifiers: tuple[uuid.UUID, Sequence[Identifier]] | None = None,
) -> None:
    """Write the case's row inside the caller's transaction (the consumer's); with
    `identifiers` (a report's id and what triage took from it), their rows too, in the
    same statement."""
    args = _view_args(case, case.to_json())
    if identifiers is None:
        await conn.execute(f"SELECT save_case_view({_VIEW_PARAMS})", *args)
        return
    report_id, found = identifiers
    await conn.execute(
        f"SELECT save_case_with_identifiers({_WITH_IDENTIFIERS_PARAMS})",
        *args,
        report_id,
        [i.kind for i in found],
        [i.value for i in found],
    )


_STAGED = (
    "case_id uuid, version integer, status text, report_id uuid, state integer,"
    " district integer, opened_at timestamptz, body text, model integer, level text,"
    " report_type text, assignee text, readers text[], partners text[], terms text[],"
    " overdue boolean, timer_stages text[], timer_due timestamptz[]"
)


async def save_many(conn: Conn, cases: Sequence[Case]) -> None:
    """Write many cases' rows (view and timers) into empty tables, in bulk: a rebuild from
    the events (prahari-audit replay, the replay benchmark). The same row as `save` writes,
    staged by COPY and moved by two statements instead of a round trip per case."""
    await conn.execute(f"CREATE TEMPORARY TABLE case_view_staged ({_STAGED})")
    # The body as JSON text: COPY's binary format has no jsonb encoder on our connections.
    records = []
    for case in cases:
        args = list(_view_args(case, {}))
        args[7] = orjson.dumps(case.to_json()).decode()
        records.append(args)
    await conn.copy_records_to_table("case_view_staged", records=records)
    await conn.execute(
        "INSERT INTO case_view (case_id, version, status, report_id, state, district,"
        " opened_at, body, model, level, report_type, assignee_unit, readers, partners, search,"
        " overdue) SELECT case_id, version, status, report_id, state, district, opened_at,"
        " body::jsonb, model, level, report_type, assignee, readers, partners,"
        " array_to_tsvector(terms), overdue FROM case_view_staged;"
        " INSERT INTO case_timers (case_id, stage, due_at)"
        " SELECT s.case_id, d.stage, d.due_at FROM case_view_staged s,"
        " unnest(s.timer_stages, s.timer_due) AS d(stage, due_at);"
        " DROP TABLE case_view_staged"
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


async def link_reports(conn: Conn, links: Sequence[tuple[uuid.UUID, uuid.UUID]]) -> None:
    """Many (report, case) rows at once, into an empty table (a rebuild)."""
    await conn.executemany(
        "INSERT INTO case_reports (report_id, case_id) VALUES ($1, $2)", list(links)
    )


async def move_report(conn: Conn, report_id: uuid.UUID, case_id: uuid.UUID) -> None:
    """The report belongs to another case than its own (triage attached it there)."""
    await conn.execute(
        "UPDATE case_reports SET case_id = $2, linked_at = now() WHERE report_id = $1",
        report_id,
        case_id,
    )


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
    overdue: bool | None = None
    limit: int = 50
    after: tuple[datetime, uuid.UUID] | None = None


def tsquery(words: Sequence[str]) -> str | None:
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
        " AND ($14::boolean IS NULL OR overdue = $14)"
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
        tsquery(query.words),
        query.after[0] if query.after else None,
        query.after[1] if query.after else None,
        query.limit,
        query.overdue,
    )
    return [dict(r["body"]) for r in rows]


@dataclass(frozen=True, slots=True)
class KeyRecord:
    request_hash: bytes
    version: int
    body: dict[str, Any]


@dataclass(frozen=True, slots=True)
class KeyClaim:
    scope: str  # "<state>:<unit id>": unit ids are unique per state
    key: str
    request_hash: bytes


async def load_for_command(
    pool: asyncpg.Pool, case_id: uuid.UUID, key: KeyClaim | None
) -> tuple[Row | None, KeyRecord | None]:
    """The case's row and the answer already given under the request's key, in one query."""
    row = await pool.fetchrow(
        "SELECT v.model, v.version, v.body, k.request_hash, k.version AS key_version,"
        " k.body AS key_body"
        " FROM (SELECT $1::uuid AS case_id) AS q"
        " LEFT JOIN case_view v ON v.case_id = q.case_id"
        " LEFT JOIN command_keys k ON k.scope = $2 AND k.key = $3",
        case_id,
        key.scope if key else None,
        key.key if key else None,
    )
    assert row is not None  # the query always gives one row
    case = Row(row["model"], row["version"], row["body"]) if row["body"] is not None else None
    held = (
        KeyRecord(row["request_hash"], row["key_version"], row["key_body"])
        if row["request_hash"] is not None
        else None
    )
    return case, held


_COMMIT_PARAMS = ", ".join(f"${n}" for n in range(1, 31))


async def commit(
    pool: asyncpg.Pool,
    prepared: PreparedAppend | None,
    case: Case,
    body: dict[str, Any],
    key: KeyClaim | None,
) -> None:
    """The command's events, the case's row and the key's answer, in one statement: all of
    it or, when a version or the key was taken first, ConcurrencyError and none of it."""
    append = prepared.args if prepared else (None,) * 9
    claim = (key.scope, key.key, key.request_hash) if key else (None, None, None)
    with prepared.conflicts() if prepared else _key_conflicts(case):
        await pool.execute(
            f"SELECT commit_case_command({_COMMIT_PARAMS})",
            *append,
            *_view_args(case, body),
            *claim,
        )


@contextlib.contextmanager
def _key_conflicts(case: Case) -> Iterator[None]:
    try:
        yield
    except asyncpg.UniqueViolationError:
        raise ConcurrencyError(f"case {case.case_id}: the Idempotency-Key was taken") from None

"""The threads' tables: each thread's head (its stream's version, its last message) and its
messages as the API shows them, found by keyset pages and by the same Hindi and English
search as cases."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from prahari_cases.adapters.read_model import tsquery
from prahari_cases.domain.events import Source
from prahari_events.db import Conn


@dataclass(frozen=True, slots=True)
class Stored:
    thread_id: uuid.UUID
    body: dict[str, Any]
    request_hash: bytes | None


@dataclass(frozen=True, slots=True)
class Head:
    thread_id: uuid.UUID
    messages: int
    last_at: datetime | None


async def lock_head(conn: Conn, thread_id: uuid.UUID, kind: str, case_id: uuid.UUID | None) -> int:
    """The thread's version, its head row locked until the caller's transaction ends."""
    await conn.execute(
        "INSERT INTO thread_heads (thread_id, kind, case_id) VALUES ($1, $2, $3)"
        " ON CONFLICT (thread_id) DO NOTHING",
        thread_id,
        kind,
        case_id,
    )
    version: int = await conn.fetchval(
        "SELECT version FROM thread_heads WHERE thread_id = $1 FOR UPDATE", thread_id
    )
    return version


async def get_message(conn: Conn | asyncpg.Pool, message_id: uuid.UUID) -> Stored | None:
    row = await conn.fetchrow(
        "SELECT thread_id, body, cases, request_hash FROM thread_messages WHERE message_id = $1",
        message_id,
    )
    if row is None:
        return None
    return Stored(row["thread_id"], _body(row), row["request_hash"])


async def add_message(
    conn: Conn,
    body: dict[str, Any],
    *,
    request_hash: bytes | None,
    terms: Sequence[str],
) -> None:
    """Write a message (`body` as the API shows it) and move its thread's head to it."""
    thread_id, version = uuid.UUID(body["thread_id"]), body["version"]
    posted_at = datetime.fromisoformat(body["at"])
    await conn.execute(
        "INSERT INTO thread_messages (message_id, thread_id, version, posted_at, body,"
        " request_hash, search) VALUES ($1, $2, $3, $4, $5, $6, array_to_tsvector($7))",
        uuid.UUID(body["message_id"]),
        thread_id,
        version,
        posted_at,
        body,
        request_hash,
        list(terms),
    )
    await conn.execute(
        "UPDATE thread_heads SET version = $2, last_at = $3 WHERE thread_id = $1",
        thread_id,
        version,
        posted_at,
    )


async def page(
    pool: asyncpg.Pool,
    thread_id: uuid.UUID,
    *,
    after: int,
    limit: int,
    words: Sequence[str],
) -> list[dict[str, Any]]:
    """Messages in the order they were posted, after version `after`; with `words`, only
    those holding every word (or a word starting with it)."""
    rows = await pool.fetch(
        "SELECT body, cases FROM thread_messages WHERE thread_id = $1 AND version > $2"
        " AND ($4::tsquery IS NULL OR search @@ $4::tsquery)"
        " ORDER BY version LIMIT $3",
        thread_id,
        after,
        limit,
        tsquery(words),
    )
    return [_body(r) for r in rows]


async def search(
    pool: asyncpg.Pool, thread_ids: Sequence[uuid.UUID] | None, words: Sequence[str], limit: int
) -> list[dict[str, Any]]:
    """Messages of these threads (None: every thread) holding every word, newest first."""
    rows = await pool.fetch(
        "SELECT body, cases FROM thread_messages"
        " WHERE ($1::uuid[] IS NULL OR thread_id = ANY($1)) AND search @@ $2::tsquery"
        " ORDER BY posted_at DESC, message_id DESC LIMIT $3",
        None if thread_ids is None else list(thread_ids),
        tsquery(words),
        limit,
    )
    return [_body(r) for r in rows]


async def heads(pool: asyncpg.Pool, thread_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Head]:
    rows = await pool.fetch(
        "SELECT thread_id, version, last_at FROM thread_heads WHERE thread_id = ANY($1)",
        list(thread_ids),
    )
    return {r["thread_id"]: Head(r["thread_id"], r["version"], r["last_at"]) for r in rows}


async def case_threads(
    pool: asyncpg.Pool, reader_keys: Sequence[str] | None, limit: int
) -> list[tuple[Head, dict[str, Any]]]:
    """Case threads with messages, newest first, of cases these keys read (None: all), each
    with its case's read-model body (whose members the policy then checks)."""
    rows = await pool.fetch(
        "SELECT h.thread_id, h.version, h.last_at, v.body FROM thread_heads h"
        " JOIN case_view v ON v.case_id = h.case_id"
        " WHERE h.case_id IS NOT NULL AND h.version > 0"
        " AND ($1::text[] IS NULL OR v.readers && $1)"
        " ORDER BY h.last_at DESC LIMIT $2",
        None if reader_keys is None else list(reader_keys),
        limit,
    )
    return [(Head(r["thread_id"], r["version"], r["last_at"]), dict(r["body"])) for r in rows]


async def link_case(
    conn: Conn, source: Source, case_id: uuid.UUID, *, instead_of: uuid.UUID | None = None
) -> bool:
    """A case holds a report made from the message: the message shows it (a redelivery adds
    nothing); `instead_of`, a case that no longer holds it, goes. False when the thread has
    no such message."""
    found = await conn.fetchval(
        "UPDATE thread_messages SET cases = CASE WHEN $3 = ANY(cases)"
        " THEN array_remove(cases, $4) ELSE array_append(array_remove(cases, $4), $3) END"
        " WHERE message_id = $2 AND thread_id = $1 RETURNING true",
        source.thread_id,
        source.message_id,
        case_id,
        instead_of,
    )
    return bool(found)


def _body(row: asyncpg.Record) -> dict[str, Any]:
    return {**dict(row["body"]), "cases": [str(c) for c in row["cases"]]}

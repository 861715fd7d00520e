"""Tamper evidence: prahari-audit verify finds any edit or deletion of stored history."""

from __future__ import annotations

import asyncio
import os
import sys

import asyncpg
import pytest

from prahari_audit.verify import verify
from prahari_events.store import EventStore, chain_hash
from tests.factories import report_draft
from tests.support import DATABASE_URL

pytestmark = pytest.mark.integration


async def _history(pool: asyncpg.Pool, store: EventStore) -> None:
    for stream in ("case-a", "case-b", "case-c"):
        async with pool.acquire() as conn, conn.transaction():
            await store.append(conn, stream, 0, [report_draft() for _ in range(4)])


async def _run_verify(schema: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "prahari_audit.cli",
        "--database-url",
        DATABASE_URL,
        "verify",
        "--schema",
        schema,
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ},
    )
    out, _ = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode()


async def _tamper(pool: asyncpg.Pool, sql: str, *args: object) -> None:
    """What someone with the table owner's rights could do behind the application's back."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("ALTER TABLE events DISABLE TRIGGER events_append_only")
        await conn.execute(sql, *args)
        await conn.execute("ALTER TABLE events ENABLE TRIGGER events_append_only")


async def test_intact_history_verifies(pool: asyncpg.Pool, store: EventStore, schema: str) -> None:
    await _history(pool, store)
    code, out = await _run_verify(schema)
    assert code == 0, out
    assert "ok: 12 events in 3 streams" in out


async def test_an_edited_event_is_named(pool: asyncpg.Pool, store: EventStore, schema: str) -> None:
    await _history(pool, store)
    await _tamper(
        pool,
        "UPDATE events SET body = convert_to(replace(convert_from(body, 'UTF8'),"
        " 'अवैध शराब', 'वैध शराब'), 'UTF8') WHERE stream_id = 'case-b' AND stream_version = 2",
    )
    code, out = await _run_verify(schema)
    assert code == 1
    assert out.startswith(f"{schema}: BROKEN: stream case-b version 2")
    assert "edited" in out


async def test_a_deleted_event_is_named(pool: asyncpg.Pool, store: EventStore, schema: str) -> None:
    await _history(pool, store)
    await _tamper(pool, "DELETE FROM events WHERE stream_id = 'case-a' AND stream_version = 3")
    report = await verify(pool)
    assert [(b.stream_id, b.stream_version) for b in report.broken] == [("case-a", 4)]
    assert "version 3 is missing" in report.broken[0].reason


async def test_an_edit_with_a_recomputed_hash_still_breaks_the_chain(
    pool: asyncpg.Pool, store: EventStore
) -> None:
    await _history(pool, store)
    row = await pool.fetchrow(
        "SELECT body, prev_hash FROM events WHERE stream_id = 'case-c' AND stream_version = 2"
    )
    assert row is not None
    forged = row["body"].replace("ट्रक".encode(), "कार".encode())
    await _tamper(
        pool,
        "UPDATE events SET body = $1, hash = $2 WHERE stream_id = 'case-c' AND stream_version = 2",
        forged,
        chain_hash(row["prev_hash"], forged),
    )
    report = await verify(pool)
    assert [(b.stream_id, b.stream_version) for b in report.broken] == [("case-c", 3)]
    assert "prev_hash" in report.broken[0].reason


async def test_columns_that_disagree_with_the_hashed_body_are_found(
    pool: asyncpg.Pool, store: EventStore
) -> None:
    await _history(pool, store)
    await _tamper(
        pool,
        "UPDATE events SET type = 'case.closed' WHERE stream_id = 'case-a' AND stream_version = 1",
    )
    report = await verify(pool)
    assert [(b.stream_id, b.stream_version) for b in report.broken] == [("case-a", 1)]
    assert "type" in report.broken[0].reason


async def test_an_edited_recorded_at_is_found(pool: asyncpg.Pool, store: EventStore) -> None:
    # Moving an event in time (to pass it off as recorded before a deadline) is an edit too.
    await _history(pool, store)
    await _tamper(
        pool,
        "UPDATE events SET recorded_at = recorded_at - interval '1 hour'"
        " WHERE stream_id = 'case-b' AND stream_version = 3",
    )
    report = await verify(pool)
    assert [(b.stream_id, b.stream_version) for b in report.broken] == [("case-b", 3)]
    assert "recorded_at" in report.broken[0].reason

"""The PostgreSQL event store, on the real PostgreSQL."""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import UTC, datetime

import asyncpg
import pytest

from prahari_events.envelope import Draft
from prahari_events.errors import ConcurrencyError
from prahari_events.store import EventStore, Position
from tests.factories import report_draft

pytestmark = pytest.mark.integration


async def _append(
    pool: asyncpg.Pool,
    store: EventStore,
    stream: str,
    expected: int,
    drafts: list[Draft],
    publish_to: str | None = None,
) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await store.append(conn, stream, expected, drafts, publish_to=publish_to)


async def test_append_then_read_back_in_order(pool: asyncpg.Pool, store: EventStore) -> None:
    drafts = [report_draft(), report_draft(description="दूसरी सूचना")]
    await _append(pool, store, "report-a", 0, drafts)
    events = await store.read_stream(pool, "report-a")
    assert [e.stream_version for e in events] == [1, 2]
    assert [e.event_id for e in events] == [d.event_id for d in drafts]
    assert events[1].payload["description"] == "दूसरी सूचना"
    assert events[0].actor == drafts[0].actor


async def test_a_stale_expected_version_is_a_conflict(
    pool: asyncpg.Pool, store: EventStore
) -> None:
    await _append(pool, store, "s", 0, [report_draft()])
    with pytest.raises(ConcurrencyError):
        await _append(pool, store, "s", 0, [report_draft()])
    with pytest.raises(ConcurrencyError):
        await _append(pool, store, "s", 5, [report_draft()])
    assert await store.stream_version(pool, "s") == 1


async def test_concurrent_writers_on_one_stream_exactly_one_wins_each_version(
    pool: asyncpg.Pool, store: EventStore
) -> None:
    async def writer(expected: int) -> bool:
        try:
            await _append(pool, store, "contested", expected, [report_draft()])
        except ConcurrencyError:
            return False
        return True

    for version in range(3):
        outcomes = await asyncio.gather(*(writer(version) for _ in range(12)))
        assert outcomes.count(True) == 1, f"version {version + 1}: {outcomes}"
    events = await store.read_stream(pool, "contested")
    assert [e.stream_version for e in events] == [1, 2, 3]


async def test_history_cannot_be_edited_in_place(pool: asyncpg.Pool, store: EventStore) -> None:
    await _append(pool, store, "s", 0, [report_draft()])
    with pytest.raises(asyncpg.RaiseError, match="append-only"):
        await pool.execute("UPDATE events SET body = '\\x00'::bytea")
    with pytest.raises(asyncpg.RaiseError, match="append-only"):
        await pool.execute("DELETE FROM events")


async def test_read_a_stream_as_it_was(pool: asyncpg.Pool, store: EventStore) -> None:
    await _append(pool, store, "s", 0, [report_draft()])
    between = datetime.now(UTC)
    await asyncio.sleep(0.01)
    await _append(pool, store, "s", 1, [report_draft()])
    assert len(await store.read_stream(pool, "s", as_of=between)) == 1
    assert len(await store.read_stream(pool, "s", up_to_version=1)) == 1
    assert len(await store.read_stream(pool, "s")) == 2


async def test_events_and_outbox_rows_commit_or_roll_back_together(
    pool: asyncpg.Pool, store: EventStore
) -> None:
    async def crash_before_commit() -> None:
        async with pool.acquire() as conn, conn.transaction():
            await store.append(conn, "s", 0, [report_draft()], publish_to="topic")
            raise RuntimeError("crash before commit")

    with pytest.raises(RuntimeError):
        await crash_before_commit()
    assert await pool.fetchval("SELECT count(*) FROM events") == 0
    assert await pool.fetchval("SELECT count(*) FROM outbox") == 0
    await _append(pool, store, "s", 0, [report_draft()], publish_to="topic")
    assert await pool.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 1


async def test_a_follower_misses_nothing_while_writers_commit_out_of_order(
    pool: asyncpg.Pool, store: EventStore
) -> None:
    """Writers take positions in one order and commit in another; a follower reading the
    global order as it goes must still see every event exactly once."""
    writers, per_writer = 8, 15
    written: set[uuid.UUID] = set()
    done = asyncio.Event()

    async def writer(n: int) -> None:
        rng = random.Random(n)
        for i in range(per_writer):
            draft = report_draft()
            async with pool.acquire() as conn, conn.transaction():
                await store.append(conn, f"w{n}-{i}", 0, [draft])
                # Hold the transaction open after taking a position, so that later
                # positions often commit first.
                await asyncio.sleep(rng.uniform(0, 0.02))
            written.add(draft.event_id)

    async def follower() -> list[uuid.UUID]:
        seen: list[uuid.UUID] = []
        cursor = Position.start()
        while True:
            finished = done.is_set()
            batch = await store.read_all(pool, cursor, limit=7)
            for position, event in batch:
                assert position > cursor
                cursor = position
                seen.append(event.event_id)
            if finished and not batch:
                return seen
            await asyncio.sleep(0.005)

    follow = asyncio.create_task(follower())
    await asyncio.gather(*(writer(n) for n in range(writers)))
    done.set()
    seen = await follow
    assert len(seen) == len(set(seen)), "an event was delivered twice"
    assert set(seen) == written, f"missed {len(written - set(seen))} events"


async def test_an_append_given_a_pool_is_its_own_transaction(
    pool: asyncpg.Pool, store: EventStore
) -> None:
    await store.append(pool, "alone", 0, [report_draft(), report_draft()], publish_to="topic")
    assert await store.stream_version(pool, "alone") == 2
    assert await pool.fetchval("SELECT count(*) FROM outbox") == 2
    with pytest.raises(ConcurrencyError):
        await store.append(pool, "alone", 1, [report_draft()])


async def test_a_connection_outside_a_transaction_is_refused(
    pool: asyncpg.Pool, store: EventStore
) -> None:
    async with pool.acquire() as conn:
        with pytest.raises(RuntimeError, match="inside a transaction"):
            await store.append(conn, "s", 0, [report_draft()])

"""A relay process killed with SIGKILL mid-batch loses nothing."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer

from prahari_events.kafka import Topics
from prahari_events.outbox import OutboxRelay
from prahari_events.registry import Registry
from prahari_events.store import EventStore
from tests.factories import report_draft
from tests.support import eventually, read_topic, relay_connection

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


async def test_a_relay_killed_mid_batch_loses_nothing(
    pool: asyncpg.Pool,
    store: EventStore,
    topics: Topics,
    producer: AIOKafkaProducer,
    registry: Registry,
    schema: str,
) -> None:
    total = 2000
    for start in range(0, total, 100):
        async with pool.acquire() as conn, conn.transaction():
            await store.append(
                conn,
                f"case-{start}",
                0,
                [report_draft() for _ in range(100)],
                publish_to=topics.case_events,
            )
    written = {r["event_id"] for r in await pool.fetch("SELECT event_id FROM events")}

    relay = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.relay_process",
        schema,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    try:

        async def some_published() -> int | None:
            done = await pool.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NOT NULL")
            return done if 0 < done < total else None

        await eventually(some_published, within=60, every=0.005)
    finally:
        relay.send_signal(signal.SIGKILL)
        await relay.wait()
    marked = await pool.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NOT NULL")
    assert 0 < marked < total, "the kill should land mid-way"

    # A new relay picks up where the dead one stopped.
    survivor = OutboxRelay(pool, producer, schema=schema, connect=relay_connection(schema))
    while await survivor.relay_once():
        pass
    messages = await read_topic(topics.case_events, at_least=total, within=60)
    published = [registry.decode(m.value or b"").event_id for m in messages]
    assert set(published) == written  # nothing lost
    # Duplicates, if the kill fell between a publish and its mark, carry the same ids, so
    # consumers skip them.
    assert len(published) >= total

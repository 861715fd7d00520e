"""The transactional outbox and the idempotent consumer, on the real PostgreSQL and Kafka."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer

from prahari_events import deadletters
from prahari_events.consumer import IdempotentConsumer
from prahari_events.db import Conn
from prahari_events.envelope import Envelope
from prahari_events.kafka import Topics, envelope_headers
from prahari_events.outbox import OutboxRelay
from prahari_events.registry import Registry
from prahari_events.store import EventStore
from prahari_events.telemetry import no_op_tracer
from tests.factories import report_draft, report_envelope
from tests.support import KAFKA, eventually, read_topic, relay_connection

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


async def test_the_relay_publishes_in_order_keyed_by_stream_and_marks_rows(
    pool: asyncpg.Pool,
    store: EventStore,
    topics: Topics,
    producer: AIOKafkaProducer,
    registry: Registry,
    schema: str,
) -> None:
    drafts = [report_draft() for _ in range(5)]
    async with pool.acquire() as conn, conn.transaction():
        await store.append(conn, "case-1", 0, drafts, publish_to=topics.case_events)
    relay = OutboxRelay(pool, producer, schema=schema, connect=relay_connection(schema))
    assert await relay.relay_once() == 5
    assert await relay.relay_once() == 0
    messages = await read_topic(topics.case_events, at_least=5)
    assert [m.key for m in messages] == [b"case-1"] * 5
    decoded = [registry.decode(m.value or b"") for m in messages]
    assert [e.stream_version for e in decoded] == [1, 2, 3, 4, 5]
    assert dict(messages[0].headers)["event-type"] == b"report.received"
    # As a CloudEvent (binary mode) through the outbox too: what kcat or any CloudEvents SDK
    # reads without our code.
    ce = dict(messages[0].headers)
    assert (ce["ce_specversion"], ce["ce_type"], ce["ce_subject"]) == (
        b"1.0",
        b"report.received",
        b"case-1",
    )
    assert ce["ce_id"] == str(decoded[0].event_id).encode()
    assert await pool.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 0


async def test_a_relay_that_loses_its_lock_publishes_not_one_more_message(
    pool: asyncpg.Pool,
    store: EventStore,
    topics: Topics,
    producer: AIOKafkaProducer,
    registry: Registry,
    schema: str,
) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await store.append(conn, "case-1", 0, [report_draft() for _ in range(5)],
                           publish_to=topics.case_events)  # fmt: skip
    relay = OutboxRelay(pool, producer, schema=schema, connect=relay_connection(schema))
    asked = 0

    def leading() -> bool:
        nonlocal asked
        asked += 1
        return asked <= 2  # the lock's connection drops after the second message

    with pytest.raises(ConnectionError, match="leadership"):
        await relay.relay_once(leading)
    messages = await read_topic(topics.case_events, at_least=2)
    assert [registry.decode(m.value or b"").stream_version for m in messages] == [1, 2]
    # Nothing marked: the next leader publishes all five (two again, which consumers skip).
    assert await pool.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 5


async def test_a_relay_whose_lock_connection_is_cut_leads_again_and_goes_on(
    pool: asyncpg.Pool,
    store: EventStore,
    topics: Topics,
    producer: AIOKafkaProducer,
    schema: str,
) -> None:
    relay = OutboxRelay(
        pool, producer, schema=schema, connect=relay_connection(schema), idle_poll_s=0.1
    )

    async def append_and_wait(stream: str, total: int) -> None:
        async with pool.acquire() as conn, conn.transaction():
            await store.append(conn, stream, 0, [report_draft()], publish_to=topics.case_events)

        async def done() -> bool | None:
            left = await pool.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL")
            return True if left == 0 and relay.published >= total else None

        await eventually(done, within=30)

    async def holder() -> int | None:
        # The backend that holds this schema's relay lock.
        pid = await pool.fetchval(
            "SELECT l.pid FROM pg_locks l WHERE l.locktype = 'advisory' AND l.granted"
            " AND l.objid = hashtext($1)::oid",
            f"outbox:{schema}",
        )
        return None if pid is None else int(pid)

    task = asyncio.create_task(relay.run())
    try:
        await append_and_wait("case-1", 1)
        first = await eventually(holder)
        await pool.execute("SELECT pg_terminate_backend($1)", first)
        second = await eventually(lambda: _other_than(holder, first), within=30)
        assert second != first
        await append_and_wait("case-2", 2)
        assert not task.done()
    finally:
        relay.stop()
        await asyncio.wait_for(task, 10)


async def _other_than(holder: Any, first: int) -> int | None:
    pid = await holder()
    return pid if pid not in (None, first) else None


async def test_a_relay_killed_after_publishing_loses_nothing(
    pool: asyncpg.Pool,
    store: EventStore,
    topics: Topics,
    producer: AIOKafkaProducer,
    registry: Registry,
    schema: str,
) -> None:
    """Publish, then die before marking: the restarted relay publishes again. Every event
    is on the topic at least once, and the duplicates carry the same event ids."""
    async with pool.acquire() as conn, conn.transaction():
        await store.append(
            conn, "case-2", 0, [report_draft() for _ in range(3)], publish_to=topics.case_events
        )

    class Killed(Exception):
        pass

    class DiesBeforeMarking(OutboxRelay):
        async def _mark_published(self, conn: Conn, ids: list[int]) -> None:
            raise Killed

    with pytest.raises(Killed):
        await DiesBeforeMarking(
            pool, producer, schema=schema, connect=relay_connection(schema)
        ).relay_once()
    assert (
        await OutboxRelay(
            pool, producer, schema=schema, connect=relay_connection(schema)
        ).relay_once()
        == 3
    )
    ids = [
        registry.decode(m.value or b"").event_id
        for m in await read_topic(topics.case_events, at_least=6)
    ]
    assert len(ids) == 6
    assert len(set(ids)) == 3


class Effects:
    """A handler whose effect is a row in the same transaction as the processed record."""

    def __init__(self, fail_with: Exception | None = None) -> None:
        self.calls = 0
        self.fail_with = fail_with

    async def __call__(self, conn: Conn, envelope: Envelope) -> None:
        self.calls += 1
        if self.fail_with is not None:
            raise self.fail_with
        await conn.execute("CREATE TABLE IF NOT EXISTS effects (event_id uuid NOT NULL, n serial)")
        await conn.execute("INSERT INTO effects (event_id) VALUES ($1)", envelope.event_id)


@contextlib.asynccontextmanager
async def running(consumer: IdempotentConsumer) -> AsyncIterator[IdempotentConsumer]:
    task = asyncio.create_task(consumer.run())
    try:
        yield consumer
    finally:
        consumer.stop()
        await asyncio.wait_for(task, 20)


def _consumer(
    pool: asyncpg.Pool,
    registry: Registry,
    topics: Topics,
    producer: AIOKafkaProducer,
    handler: Effects,
    group: str,
    *,
    batch: bool = False,
) -> IdempotentConsumer:
    return IdempotentConsumer(
        name="test-consumer",
        group_id=group,
        topics=[topics.reports],
        kafka=KAFKA,
        pool=pool,
        registry=registry,
        handler=handler,
        producer=producer,
        deadletter_topic=topics.deadletter,
        tracer=no_op_tracer(),
        batch=batch,
    )


async def _publish(
    producer: AIOKafkaProducer, topic: str, registry: Registry, envelope: Envelope
) -> None:
    await producer.send_and_wait(
        topic,
        registry.encode(envelope),
        key=envelope.stream_id.encode(),
        headers=envelope_headers(envelope),
    )


async def test_a_redelivered_message_has_no_second_effect(
    pool: asyncpg.Pool,
    registry: Registry,
    topics: Topics,
    producer: AIOKafkaProducer,
    test_id: str,
) -> None:
    envelope = report_envelope(registry)
    # The same event twice on the log (a relay's duplicate), then read by two consumer
    # groups that share one processed-record table (offsets lost: everything redelivered).
    for _ in range(2):
        await _publish(producer, topics.reports, registry, envelope)
    handler = Effects()
    # Each consumer is seen to take both copies (processed counts a recognised duplicate
    # too) before anything is asserted: no fixed wait that would pass with nothing read.
    async with running(_consumer(pool, registry, topics, producer, handler, f"g1-{test_id}")) as c:
        await eventually(lambda: _at_least(c, 2))
    async with running(
        _consumer(pool, registry, topics, producer, handler, f"g2-{test_id}")
    ) as again:
        await eventually(lambda: _at_least(again, 2))
    assert await pool.fetchval("SELECT count(*) FROM effects") == 1
    assert handler.calls == 1


async def test_a_consumer_killed_between_effect_and_commit_does_not_repeat_the_effect(
    pool: asyncpg.Pool,
    registry: Registry,
    topics: Topics,
    producer: AIOKafkaProducer,
    test_id: str,
) -> None:
    envelope = report_envelope(registry)
    await _publish(producer, topics.reports, registry, envelope)
    group = f"g-{test_id}"

    class DiesBeforeCommitting(IdempotentConsumer):
        async def _commit(self, consumer: object, tp: object, offset: int) -> None:
            return None  # the process dies before the offset commit reaches Kafka

    first = DiesBeforeCommitting(
        name="test-consumer",
        group_id=group,
        topics=[topics.reports],
        kafka=KAFKA,
        pool=pool,
        registry=registry,
        handler=Effects(),
        producer=producer,
        deadletter_topic=topics.deadletter,
        tracer=no_op_tracer(),
    )
    async with running(first):
        await eventually(lambda: _at_least(first, 1))
    second_handler = Effects()
    async with running(
        _consumer(pool, registry, topics, producer, second_handler, group)
    ) as second:
        await eventually(lambda: _at_least(second, 1))  # the redelivery arrived
    assert await pool.fetchval("SELECT count(*) FROM effects") == 1
    assert second_handler.calls == 0  # redelivered, recognised, skipped


async def test_poison_messages_go_to_the_dead_letter_topic_and_the_consumer_moves_on(
    pool: asyncpg.Pool,
    registry: Registry,
    topics: Topics,
    producer: AIOKafkaProducer,
    test_id: str,
) -> None:
    good = report_envelope(registry)
    await producer.send_and_wait(topics.reports, b"{not json", key=good.stream_id.encode())
    await _publish(producer, topics.reports, registry, good)
    handler = Effects()
    async with running(_consumer(pool, registry, topics, producer, handler, f"g-{test_id}")) as c:
        await eventually(lambda: _at_least(c, 1))
    dead = await read_topic(topics.deadletter, at_least=1)
    assert len(dead) == 1
    headers = dict(dead[0].headers)
    assert b"not JSON" in headers["dlq-reason"]
    assert headers["dlq-source"].startswith(topics.reports.encode())
    assert dead[0].value == b"{not json"
    assert await pool.fetchval("SELECT count(*) FROM effects") == 1


async def test_a_handler_that_keeps_failing_is_dead_lettered_not_retried_forever(
    pool: asyncpg.Pool,
    registry: Registry,
    topics: Topics,
    producer: AIOKafkaProducer,
    test_id: str,
) -> None:
    await _publish(producer, topics.reports, registry, report_envelope(registry))
    handler = Effects(fail_with=KeyError("a bug"))
    consumer = _consumer(pool, registry, topics, producer, handler, f"g-{test_id}")
    async with running(consumer):
        await eventually(lambda: _dead(consumer))
    assert handler.calls == 3
    dead = await read_topic(topics.deadletter, at_least=1)
    assert b"KeyError" in dict(dead[0].headers)["dlq-reason"]
    # Nothing of the failed attempts was left half-written.
    assert await pool.fetchval("SELECT count(*) FROM processed_messages") == 0


async def test_a_dead_letter_is_listed_shown_and_replayed_to_one_effect(
    pool: asyncpg.Pool,
    registry: Registry,
    topics: Topics,
    producer: AIOKafkaProducer,
    test_id: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    envelope = report_envelope(registry)
    await _publish(producer, topics.reports, registry, envelope)
    handler = Effects(fail_with=KeyError("a bug, since fixed"))
    consumer = _consumer(pool, registry, topics, producer, handler, f"g-{test_id}")
    async with running(consumer):
        await eventually(lambda: _dead(consumer))
    monkeypatch.setenv("PRAHARI_KAFKA_BOOTSTRAP", KAFKA.bootstrap)
    monkeypatch.setenv("PRAHARI_TOPIC_PREFIX", topics.prefix)

    async def tool(*argv: str) -> str:
        capsys.readouterr()
        assert await asyncio.to_thread(deadletters.main, list(argv)) == 0
        return capsys.readouterr().out

    [row] = json.loads(await tool("--json", "list"))
    assert (row["consumer"], row["type"], row["event_id"]) == (
        "test-consumer",
        "report.received",
        str(envelope.event_id),
    )
    assert "KeyError" in row["reason"]
    shown = json.loads(await tool("show", str(row["offset"])))
    assert shown["body"]["event_id"] == str(envelope.event_id)
    assert shown["headers"]["dlq-source"].startswith(topics.reports)

    # The bug is fixed; the letter is replayed, twice by mistake: one effect.
    handler.fail_with = None
    await tool("replay", str(row["offset"]))
    await tool("replay", "--all")
    again = _consumer(pool, registry, topics, producer, handler, f"g-{test_id}")
    async with running(again):
        await eventually(lambda: _at_least(again, 2))
    assert await pool.fetchval("SELECT count(*) FROM effects") == 1
    replayed = await read_topic(topics.reports, at_least=3)
    assert [dict(m.headers).get("dlq-replayed-from") for m in replayed][1:] == [
        f"{topics.deadletter}/0/{row['offset']}".encode()
    ] * 2


async def _at_least(consumer: IdempotentConsumer, n: int) -> bool | None:
    return True if consumer.processed >= n else None


async def _dead(consumer: IdempotentConsumer) -> bool | None:
    return True if consumer.dead_lettered >= 1 else None


async def test_a_consumer_process_killed_after_its_effect_and_before_its_commit(
    pool: asyncpg.Pool,
    registry: Registry,
    topics: Topics,
    producer: AIOKafkaProducer,
    schema: str,
    test_id: str,
) -> None:
    """A real process dies at the worst moment; the next consumer of the same group gets the
    message again and recognises it: one effect."""
    envelope = report_envelope(registry)
    await _publish(producer, topics.reports, registry, envelope)
    group = f"g-{test_id}"
    crashing = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.consumer_process",
        schema,
        topics.reports,
        group,
        topics.deadletter,
        cwd=ROOT,
    )
    assert await asyncio.wait_for(crashing.wait(), 60) == 9  # died where it was meant to
    assert await pool.fetchval("SELECT count(*) FROM effects") == 1
    handler = Effects()
    survivor = _consumer(pool, registry, topics, producer, handler, group)
    async with running(survivor):
        await eventually(lambda: _at_least(survivor, 1))  # handed the message again
    assert handler.calls == 0  # redelivered, recognised, skipped
    assert await pool.fetchval("SELECT count(*) FROM effects") == 1
    assert (
        await pool.fetchval(
            "SELECT count(*) FROM processed_messages WHERE event_id = $1", envelope.event_id
        )
        == 1
    )


async def test_in_batch_mode_one_bad_message_costs_its_batch_a_retry_not_an_effect(
    pool: asyncpg.Pool,
    registry: Registry,
    topics: Topics,
    producer: AIOKafkaProducer,
    test_id: str,
) -> None:
    # Ten events of one stream (one partition, so one fetch), one of them twice, and one
    # whose handler always fails: the batch rolls back whole, then goes one by one.
    envelopes = [report_envelope(registry) for _ in range(10)]
    key = envelopes[0].stream_id.encode()
    bad = envelopes[6].event_id
    for envelope in [*envelopes[:4], envelopes[3], *envelopes[4:]]:
        await producer.send_and_wait(
            topics.reports, registry.encode(envelope), key=key, headers=envelope_headers(envelope)
        )

    class FailsOnOne(Effects):
        bad_calls = 0

        async def __call__(self, conn: Conn, envelope: Envelope) -> None:
            if envelope.event_id == bad:
                self.bad_calls += 1
                raise KeyError("a bug")
            await super().__call__(conn, envelope)

    handler = FailsOnOne()
    consumer = _consumer(pool, registry, topics, producer, handler, f"g-{test_id}", batch=True)
    async with running(consumer):
        await eventually(lambda: _dead(consumer))
        await eventually(lambda: _at_least(consumer, 9))
    effects = await pool.fetch("SELECT event_id, count(*) AS n FROM effects GROUP BY event_id")
    assert {r["event_id"] for r in effects} == {e.event_id for e in envelopes} - {bad}
    assert {r["n"] for r in effects} == {1}
    # Tried once in the batch (which rolled back with it), then three times on its own.
    assert handler.bad_calls == 4
    dead = await read_topic(topics.deadletter, at_least=1)
    assert [dict(d.headers)["event-id"] for d in dead] == [str(bad).encode()]

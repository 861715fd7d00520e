"""Runs an idempotent consumer in its own process that dies, as by SIGKILL, right after its
first effect is durable and before the offset commit reaches Kafka.
    python -m tests.consumer_process SCHEMA TOPIC GROUP DEADLETTER"""

from __future__ import annotations

import asyncio
import os
import sys

from aiokafka import TopicPartition

from prahari_events.catalogue import build_registry
from prahari_events.consumer import IdempotentConsumer
from prahari_events.db import Conn, create_pool
from prahari_events.envelope import Envelope
from prahari_events.kafka import make_producer
from prahari_events.telemetry import no_op_tracer
from tests.support import DATABASE_URL, KAFKA


async def effect(conn: Conn, envelope: Envelope) -> None:
    await conn.execute("CREATE TABLE IF NOT EXISTS effects (event_id uuid NOT NULL)")
    await conn.execute("INSERT INTO effects (event_id) VALUES ($1)", envelope.event_id)


class DiesBeforeCommitting(IdempotentConsumer):
    async def _commit(self, consumer: object, tp: TopicPartition, offset: int) -> None:
        os._exit(9)  # no cleanup, no commit: the process is simply gone


async def main(schema: str, topic: str, group: str, deadletter: str) -> None:
    pool = await create_pool(DATABASE_URL, schema, application="consumer-process")
    producer = make_producer(KAFKA, "consumer-process")
    await producer.start()
    consumer = DiesBeforeCommitting(
        name="test-consumer",  # the same consumer as the survivor, another process
        group_id=group,
        topics=[topic],
        kafka=KAFKA,
        pool=pool,
        registry=build_registry(),
        handler=effect,
        producer=producer,
        deadletter_topic=deadletter,
        tracer=no_op_tracer(),
    )
    await consumer.run()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5]))

"""Runs an outbox relay in its own process, so a test can kill it with SIGKILL mid-batch.
python -m tests.relay_process SCHEMA"""

from __future__ import annotations

import asyncio
import sys

from prahari_events.db import create_pool
from prahari_events.kafka import make_producer
from prahari_events.outbox import OutboxRelay
from tests.support import DATABASE_URL, KAFKA, relay_connection


async def main(schema: str) -> None:
    pool = await create_pool(DATABASE_URL, schema, application="relay-process")
    producer = make_producer(KAFKA, "relay-process")
    await producer.start()
    # Small batches, so that a kill lands between a batch's publish and its mark.
    relay = OutboxRelay(
        pool, producer, schema=schema, connect=relay_connection(schema), batch_size=50
    )
    print("started", flush=True)
    await relay.run()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))

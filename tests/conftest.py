"""Fixtures on the real infrastructure: each test gets its own PostgreSQL schema and its own
Kafka topics, so tests can run in any order and never see each other's data."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer

from prahari_events.catalogue import build_registry
from prahari_events.db import create_pool, drop_schema, event_store_migrations, migrate
from prahari_events.kafka import Topics, create_topics, delete_topics, make_producer
from prahari_events.registry import Registry
from prahari_events.store import EventStore
from tests.support import DATABASE_URL, KAFKA


@pytest.fixture
def test_id() -> str:
    return uuid.uuid4().hex[:10]


@pytest.fixture
def registry() -> Registry:
    return build_registry()


@pytest.fixture
def store(registry: Registry) -> EventStore:
    return EventStore(registry)


@pytest.fixture
def schema(test_id: str) -> str:
    return f"t_{test_id}"


@pytest.fixture
async def pool(schema: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(DATABASE_URL, schema, application="tests", max_size=20)
    try:
        await migrate(pool, schema, event_store_migrations())
        yield pool
        await drop_schema(pool, schema)
    finally:
        await pool.close()


@pytest.fixture
async def topics(test_id: str) -> AsyncIterator[Topics]:
    topics = Topics(f"t{test_id}.")
    await create_topics(KAFKA, topics.specs(partitions=3))
    yield topics
    await delete_topics(KAFKA, [spec.name for spec in topics.specs()])


@pytest.fixture
async def producer() -> AsyncIterator[AIOKafkaProducer]:
    producer = make_producer(KAFKA, "tests")
    await producer.start()
    yield producer
    await producer.stop()

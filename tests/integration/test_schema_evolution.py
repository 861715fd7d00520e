"""Events written as v1 are read as the current version, from PostgreSQL and from Kafka."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer
from marshmallow import Schema, fields

from prahari_audit.verify import verify
from prahari_events.envelope import Actor, Draft, Jurisdiction
from prahari_events.kafka import Topics
from prahari_events.outbox import OutboxRelay
from prahari_events.registry import Registry
from prahari_events.store import EventStore
from tests.support import read_topic, relay_connection

pytestmark = pytest.mark.integration


class SightingV1(Schema):
    vehicle = fields.String(required=True)


class SightingV2(Schema):
    # v2 split the registration into its state prefix and the rest, for inter-state matching.
    vehicle = fields.String(required=True)
    vehicle_state = fields.String(required=True, allow_none=True)


def v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    prefix = payload["vehicle"][:2].upper()
    return {**payload, "vehicle_state": prefix if prefix.isalpha() else None}


def registry_at(version: int) -> Registry:
    registry = Registry()
    if version == 1:
        registry.register("vehicle.sighted", {1: SightingV1})
    else:
        registry.register("vehicle.sighted", {1: SightingV1, 2: SightingV2}, {1: v1_to_v2})
    return registry


async def test_v1_events_stored_and_published_are_read_as_v2(
    pool: asyncpg.Pool, topics: Topics, producer: AIOKafkaProducer, schema: str
) -> None:
    old = EventStore(registry_at(1))
    drafts = [
        Draft(
            type="vehicle.sighted",
            payload={"vehicle": plate},
            actor=Actor("UP-CP-NAUBATPUR", "reporter", "check_post", 9, 135),
            jurisdiction=Jurisdiction(9, 135),
            correlation_id=uuid.uuid4(),
        )
        for plate in ("BR01AB1234", "UP65XY9876")
    ]
    async with pool.acquire() as conn, conn.transaction():
        written = await old.append(conn, "sightings", 0, drafts, publish_to=topics.reports)
    assert [e.version for e in written] == [1, 1]
    await OutboxRelay(pool, producer, schema=schema, connect=relay_connection(schema)).relay_once()

    # Later code, which knows v2, reads the same stored bytes.
    new_registry = registry_at(2)
    from_postgres = await EventStore(new_registry).read_stream(pool, "sightings")
    assert [e.version for e in from_postgres] == [2, 2]
    assert [e.payload["vehicle_state"] for e in from_postgres] == ["BR", "UP"]
    from_kafka = [
        new_registry.decode(m.value or b"") for m in await read_topic(topics.reports, at_least=2)
    ]
    assert sorted(e.payload["vehicle_state"] for e in from_kafka) == ["BR", "UP"]
    assert {e.version for e in from_kafka} == {2}
    # Upcasting happens on read; the stored history, and its hash chain, are untouched.
    assert (await verify(pool)).broken == []

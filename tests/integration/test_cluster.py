"""A three-broker cluster (infra/kafka-cluster.sh) of this module's own: topics replicated
three times with two in sync to accept, and a broker killed under a steady stream of
reports. Every report is answered 202, or 503 and then 202 on a retry with its key; every
accepted report is on the topic, none twice."""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from prahari_events.errors import ConfigError
from prahari_events.kafka import Topics, check_replication, create_topics
from prahari_events.registry import Registry
from prahari_events.telemetry import no_op_tracer
from prahari_intake.entrypoints.examples import EXAMPLES
from prahari_intake.entrypoints.http import create_app
from tests.factories import STATION
from tests.own_infra import OwnCluster, free_port_block
from tests.support import bearer, eventually, intake_settings, read_topic

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OwnCluster]:
    own = OwnCluster(tmp_path_factory.mktemp("kafka-cluster"), free_port_block(3))
    own.start()
    try:
        yield own
    finally:
        own.stop()


@pytest.mark.usefixtures("intake_schema")
async def test_a_broker_killed_under_load_loses_and_doubles_no_report(
    cluster: OwnCluster, topics: Topics, schema: str, registry: Registry
) -> None:
    await create_topics(cluster.access(), topics.specs(partitions=3), replication=3, min_insync=2)

    async def replicated() -> bool | None:
        try:
            await check_replication(cluster.access(), topics.written_by("intake"), 3)
        except ConfigError as exc:
            # Until every broker has the new topics' metadata, one may not know them yet.
            if "does not exist" in exc.message:
                return None
            raise
        return True

    await eventually(replicated, within=30)
    settings = intake_settings(
        topics,
        schema,
        PRAHARI_KAFKA_BOOTSTRAP=cluster.bootstrap,
        PRAHARI_KAFKA_REPLICATION="3",
        PRAHARI_INTAKE_KAFKA_ACK_TIMEOUT_S="3",
    )
    accepted: dict[str, str] = {}  # Idempotency-Key -> report id
    unavailable = 0
    async with TestClient(TestServer(create_app(settings, no_op_tracer()))) as intake:

        async def file_one() -> None:
            nonlocal unavailable
            key = str(uuid.uuid4())
            headers = {**bearer(STATION), "Idempotency-Key": key}
            for _ in range(60):
                answer = await intake.post("/v1/reports", json=EXAMPLES["rumour"], headers=headers)
                if answer.status in (200, 202):
                    accepted[key] = (await answer.json())["report_id"]
                    return
                # 503 (Kafka did not acknowledge in time) or 409 (the first attempt is
                # still in flight): what a client does, retry with the same key.
                assert answer.status in (503, 409), await answer.text()
                unavailable += 1
                await asyncio.sleep(float(answer.headers.get("Retry-After", "1")) / 4)
            raise AssertionError(f"report {key} was never accepted")

        for _ in range(20):
            await file_one()
        os.kill(cluster.pid(1), signal.SIGKILL)  # a broker, and a controller, gone at once
        for _ in range(40):
            await file_one()
    assert len(accepted) == 60
    print(f"cluster drill: 60 reports accepted, {unavailable} answers were 503 or 409 first")
    messages = await read_topic(topics.reports, at_least=60, within=60, kafka=cluster.access())
    on_topic: dict[str, set[Any]] = {}
    for m in messages:
        envelope = registry.decode(m.value or b"")
        on_topic.setdefault(envelope.payload["report_id"], set()).add(envelope.event_id)
    # Every accepted report is there; a retried key republished the very same event (one
    # event id per report), so no report is doubled downstream.
    assert set(on_topic) == set(accepted.values())
    assert all(len(ids) == 1 for ids in on_topic.values())


async def test_a_service_refuses_topics_with_fewer_replicas_than_the_cluster_needs(
    cluster: OwnCluster, topics: Topics
) -> None:
    await create_topics(cluster.access(), topics.specs(partitions=1), replication=2)

    async def refused() -> str | None:
        try:
            await check_replication(cluster.access(), topics.written_by("intake"), 3)
        except ConfigError as exc:
            # Until every broker has the new topics' metadata, one may not know them yet.
            return None if "does not exist" in exc.message else exc.message
        return "accepted"

    assert "fewer than PRAHARI_KAFKA_REPLICATION=3" in await eventually(refused, within=30)

"""Idempotency-Key, durability and report status, on the real Kafka and PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer
from aiokafka import AIOKafkaProducer

from prahari_events.kafka import Topics, envelope_headers
from prahari_events.registry import Registry
from prahari_events.telemetry import no_op_tracer
from prahari_intake.entrypoints.examples import EXAMPLES
from prahari_intake.entrypoints.http import create_app
from prahari_intake.service_layer.desk import request_hash
from tests.factories import AUDITOR, OTHER_STATION, STATE_ROOM, STATION, report_envelope
from tests.own_infra import OwnBroker
from tests.support import bearer, eventually, filing, intake_settings, read_topic

pytestmark = pytest.mark.integration

REPORT = EXAMPLES["rumour"]  # Sonbhadra, the STATION's district


def keyed(unit: Any, key: str) -> dict[str, str]:
    return {**bearer(unit), "Idempotency-Key": key}


async def test_a_retry_with_the_same_key_returns_the_same_report_and_creates_nothing(
    client: TestClient[Any, Any], topics: Topics
) -> None:
    key = str(uuid.uuid4())
    first = await client.post("/v1/reports", json=REPORT, headers=keyed(STATION, key))
    assert first.status == 202
    report_id = (await first.json())["report_id"]
    for _ in range(3):
        again = await client.post("/v1/reports", json=REPORT, headers=keyed(STATION, key))
        assert again.status == 200
        body = await again.json()
        assert body["report_id"] == report_id
        assert body["replayed"] is True
        assert body["status"] in ("received", "case_opened")
    assert len(await read_topic(topics.reports, at_least=1)) == 1


async def test_keys_belong_to_their_unit(client: TestClient[Any, Any], topics: Topics) -> None:
    key = "same-key-different-units"
    a = await client.post("/v1/reports", json=REPORT, headers=keyed(STATION, key))
    b = await client.post("/v1/reports", json=REPORT, headers=keyed(STATE_ROOM, key))
    assert (a.status, b.status) == (202, 202)
    assert (await a.json())["report_id"] != (await b.json())["report_id"]


async def test_a_key_reused_for_a_different_report_is_refused(client: TestClient[Any, Any]) -> None:
    key = str(uuid.uuid4())
    assert (
        await client.post("/v1/reports", json=REPORT, headers=keyed(STATION, key))
    ).status == 202
    other = {**REPORT, "description": "कुछ और"}
    response = await client.post("/v1/reports", json=other, headers=keyed(STATION, key))
    assert response.status == 422
    assert (await response.json())["error"]["code"] == "idempotency_key_reused"


async def test_a_malformed_key_is_named(client: TestClient[Any, Any]) -> None:
    response = await client.post("/v1/reports", json=REPORT, headers=keyed(STATION, "has space"))
    assert response.status == 400
    assert "Idempotency-Key" in (await response.json())["error"]["fields"]


async def test_a_refused_report_does_not_use_up_its_key(client: TestClient[Any, Any]) -> None:
    key = str(uuid.uuid4())
    bad = {**REPORT, "district": 135}  # Chandauli: not the station's district
    assert (await client.post("/v1/reports", json=bad, headers=keyed(STATION, key))).status == 403
    assert (
        await client.post("/v1/reports", json=REPORT, headers=keyed(STATION, key))
    ).status == 202


@pytest.mark.usefixtures("intake_schema")
async def test_keys_survive_a_restart_and_hold_across_intake_processes(
    topics: Topics, schema: str, pool: asyncpg.Pool
) -> None:
    key = str(uuid.uuid4())
    first_app = create_app(intake_settings(topics, schema), no_op_tracer())
    async with TestClient(TestServer(first_app)) as first:
        response = await first.post("/v1/reports", json=REPORT, headers=keyed(STATION, key))
        assert response.status == 202
        report_id = (await response.json())["report_id"]
    # A new process (after a restart), and two processes at once, on the same database.
    apps = [create_app(intake_settings(topics, schema), no_op_tracer()) for _ in range(2)]
    async with TestClient(TestServer(apps[0])) as a, TestClient(TestServer(apps[1])) as b:
        answers = await asyncio.gather(
            *(c.post("/v1/reports", json=REPORT, headers=keyed(STATION, key)) for c in (a, b, a, b))
        )
        assert {r.status for r in answers} == {200}
        assert {(await r.json())["report_id"] for r in answers} == {report_id}
    assert len(await read_topic(topics.reports, at_least=1)) == 1


@pytest.mark.usefixtures("intake_schema")
async def test_twins_racing_on_two_processes_file_one_report(
    topics: Topics, schema: str, pool: asyncpg.Pool, registry: Registry
) -> None:
    apps = [create_app(intake_settings(topics, schema), no_op_tracer()) for _ in range(2)]
    async with TestClient(TestServer(apps[0])) as a, TestClient(TestServer(apps[1])) as b:
        for _ in range(5):
            key = str(uuid.uuid4())
            answers = await asyncio.gather(
                a.post("/v1/reports", json=REPORT, headers=keyed(STATION, key)),
                b.post("/v1/reports", json=REPORT, headers=keyed(STATION, key)),
            )
            statuses = sorted(r.status for r in answers)
            # One files it; its twin either sees the result (200) or is told to retry (409).
            assert statuses in ([200, 202], [202, 409]), statuses
            conflict = [r for r in answers if r.status == 409]
            if conflict:
                assert conflict[0].headers["Retry-After"] == "1"
    messages = await read_topic(topics.reports, at_least=5)
    assert len({registry.decode(m.value or b"").event_id for m in messages}) == 5


async def test_a_key_whose_first_attempt_died_before_the_ack_publishes_the_same_event(
    client: TestClient[Any, Any], topics: Topics, pool: asyncpg.Pool, registry: Registry
) -> None:
    """The process recorded the key and died before Kafka acknowledged: the retry publishes
    the very envelope that was recorded (same event id), not a new report."""
    key = str(uuid.uuid4())
    stored = report_envelope(registry, STATION)
    await pool.execute(
        "INSERT INTO idempotency_keys (unit_id, key, request_hash, report_id, topic, envelope,"
        " status, created_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, 'pending', now() - interval '1 hour')",
        STATION.unit_id,
        key,
        request_hash(REPORT),
        uuid.UUID(stored.payload["report_id"]),
        topics.reports,
        registry.encode(stored),
    )
    response = await client.post("/v1/reports", json=REPORT, headers=keyed(STATION, key))
    assert response.status == 200
    assert (await response.json())["report_id"] == stored.payload["report_id"]
    [message] = await read_topic(topics.reports, at_least=1)
    assert registry.decode(message.value or b"").event_id == stored.event_id


@pytest.mark.usefixtures("intake_schema")
async def test_kafka_down_gets_503_and_a_retry_with_the_key_files_it_once(
    topics: Topics, schema: str, pool: asyncpg.Pool, registry: Registry, own_broker: OwnBroker
) -> None:
    pid = own_broker.pid
    settings = intake_settings(
        topics,
        schema,
        PRAHARI_INTAKE_KAFKA_ACK_TIMEOUT_S="1.5",
        PRAHARI_KAFKA_BOOTSTRAP=own_broker.bootstrap,
    )
    async with TestClient(TestServer(create_app(settings, no_op_tracer()))) as slow:
        key = str(uuid.uuid4())
        os.kill(pid, signal.SIGSTOP)  # the broker stops answering, as in a network partition
        try:
            response = await slow.post("/v1/reports", json=REPORT, headers=keyed(STATION, key))
        finally:
            os.kill(pid, signal.SIGCONT)
        assert response.status == 503
        assert response.headers["Retry-After"]
        assert (await response.json())["error"]["code"] == "unavailable"

        async def filed() -> Any:
            answer = await slow.post("/v1/reports", json=REPORT, headers=keyed(STATION, key))
            return await answer.json() if answer.status in (200, 202) else None

        body = await eventually(filed, within=30, every=0.5)
    messages = await read_topic(topics.reports, at_least=1, kafka=own_broker.access())
    ids = {registry.decode(m.value or b"").payload["report_id"] for m in messages}
    assert ids == {body["report_id"]}  # the attempt that timed out and the retry: one report


async def test_report_status_is_visible_to_the_unit_its_control_rooms_and_auditors(
    client: TestClient[Any, Any],
) -> None:
    response = await client.post("/v1/reports", json=REPORT, headers=filing(STATION))
    report_id = (await response.json())["report_id"]
    url = f"/v1/reports/{report_id}"
    for unit in (STATION, STATE_ROOM, AUDITOR):
        answer = await client.get(url, headers=bearer(unit))
        assert answer.status == 200
        body = await answer.json()
        assert body["status"] == "received"
        assert body["reported_by"] == STATION.unit_id
    assert (await client.get(url, headers=bearer(OTHER_STATION))).status == 404
    assert (await client.get("/v1/reports/not-a-uuid", headers=bearer(STATION))).status == 404


async def test_a_report_dead_lettered_downstream_shows_as_rejected_with_the_reason(
    client: TestClient[Any, Any], topics: Topics, producer: AIOKafkaProducer, registry: Registry
) -> None:
    response = await client.post("/v1/reports", json=REPORT, headers=filing(STATION))
    report_id = (await response.json())["report_id"]
    [message] = await read_topic(topics.reports, at_least=1)
    event = registry.decode(message.value or b"")
    # intake publishes directly, not through an outbox: a CloudEvent all the same.
    ce = dict(message.headers)
    assert (ce["ce_source"], ce["ce_type"], ce["ce_id"]) == (
        b"/prahari/intake",
        b"report.received",
        str(event.event_id).encode(),
    )
    await producer.send_and_wait(
        topics.deadletter,
        message.value,
        key=message.key,
        headers=[
            *envelope_headers(event),
            ("dlq-reason", b"KeyError: 'district'"),
            ("dlq-consumer", b"cases"),
        ],
    )

    async def rejected() -> dict[str, Any] | None:
        answer = await client.get(f"/v1/reports/{report_id}", headers=bearer(STATION))
        body: dict[str, Any] = await answer.json()
        return body if body["status"] == "rejected" else None

    body = await eventually(rejected, within=20)
    assert "KeyError" in body["reason"]

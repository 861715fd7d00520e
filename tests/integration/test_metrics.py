"""GET /metrics on every service, read as Prometheus would: requests by route and status
with their latency, the loops that run, what consumers took, a dead gateway as failed
attempts, and a paused broker as an outbox backlog that grows old and then drains."""

from __future__ import annotations

import os
import signal
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families

from prahari_cases.domain.case import case_id_for
from prahari_cases.domain.sla import SlaPolicy
from prahari_cases.entrypoints.http import create_app as create_cases_app
from prahari_cases.service_layer.handlers import CaseHandlers
from prahari_events.kafka import Topics
from prahari_events.registry import Registry
from prahari_events.store import EventStore
from prahari_events.telemetry import no_op_tracer
from prahari_intake.entrypoints.examples import EXAMPLES
from tests.cases_support import SON_ROOM, cases_settings, do
from tests.factories import STATION, report_envelope
from tests.notify_support import Rig, notify_rig, until
from tests.own_infra import OwnBroker
from tests.support import bearer, eventually, filing, migrate_for

pytestmark = pytest.mark.integration


async def scrape(
    client: TestClient[Any, Any],
) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample: (name, sorted labels) -> value, parsed with Prometheus' own parser."""
    answer = await client.get("/metrics")
    assert answer.status == 200
    assert answer.headers["Content-Type"].startswith("text/plain")
    text = await answer.text()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(samples: dict[Any, float], name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


async def test_intake_counts_requests_by_route_and_status_and_shows_its_loops(
    client: TestClient[Any, Any],
) -> None:
    report = EXAMPLES["rumour"]
    assert (await client.post("/v1/reports", json=report, headers=filing(STATION))).status == 202
    assert (await client.post("/v1/reports", json={}, headers=filing(STATION))).status == 400
    samples = await scrape(client)
    post = {"route": "/v1/reports", "method": "POST"}
    assert value(samples, "prahari_http_requests_total", **post, status="202") == 1
    assert value(samples, "prahari_http_requests_total", **post, status="400") == 1
    assert value(samples, "prahari_http_request_duration_seconds_count", **post) == 2
    # A route template, never a raw path with an id in it.
    filed = await client.post("/v1/reports", json=report, headers=filing(STATION))
    report_id = (await filed.json())["report_id"]
    await client.get(f"/v1/reports/{report_id}", headers=bearer(STATION))
    samples = await scrape(client)
    assert not [k for k in samples if report_id in str(k)]
    assert value(samples, "prahari_http_requests_total", route="/v1/reports/{report_id}",
                 method="GET", status="200") == 1  # fmt: skip
    assert value(samples, "prahari_background_up", task="consumer") == 1
    assert value(samples, "prahari_background_up", task="deadletter-watcher") == 1
    assert (value(samples, "prahari_disk_free_bytes", path="/") or 0) > 0
    assert any(name == "prahari_consumer_messages_total" for name, _ in samples)


@pytest.fixture
async def rig(topics: Topics, schema: str, tmp_path: Path) -> AsyncIterator[Rig]:
    async with notify_rig(topics, schema, tmp_path) as rig:
        yield rig


async def test_a_dead_gateway_shows_as_failed_attempts_and_a_fallback_as_accepted(rig: Rig) -> None:
    rig.sms.fail_next = 1000  # the primary SMS gateway answers 503 to everything
    await rig.open_case()

    async def counted() -> dict[Any, float] | None:
        samples = await scrape(rig.client)
        failed = value(samples, "prahari_notify_attempts_total", channel="sms",
                       provider="sms-primary", outcome="failed")  # fmt: skip
        sent = value(samples, "prahari_notify_attempts_total", channel="sms",
                     provider="sms-fallback", outcome="accepted")  # fmt: skip
        # The attempt is counted as the gateway answers; the notification's state a moment
        # later, when its outcome is recorded: wait for both.
        recorded = value(samples, "prahari_notifications", channel="sms", state="sent")
        return samples if failed and sent and recorded is not None else None

    samples = await until(counted, within=15)
    assert value(samples, "prahari_notifications", channel="sms", state="sent") == 1


async def test_a_paused_broker_shows_as_an_outbox_backlog_that_ages_then_drains(
    own_broker: OwnBroker,
    topics: Topics,
    schema: str,
    pool: asyncpg.Pool,
    store: EventStore,
    registry: Registry,
) -> None:
    await migrate_for(schema, "cases")
    settings = cases_settings(topics, schema, PRAHARI_KAFKA_BOOTSTRAP=own_broker.bootstrap)
    async with TestClient(TestServer(create_cases_app(settings, no_op_tracer()))) as cases:
        # A case, as cases' consumer would open it from a report (this app's only relay
        # publishes it, to this test's broker).
        report = report_envelope(registry)
        async with pool.acquire() as conn, conn.transaction():
            await CaseHandlers(store, topics.case_events, SlaPolicy()).report_received(conn, report)
        case_id = str(case_id_for(uuid.UUID(report.payload["report_id"])))

        async def backlog(wanted: Any) -> dict[Any, float] | None:
            samples = await scrape(cases)
            return samples if wanted(value(samples, "prahari_outbox_backlog")) else None

        await eventually(lambda: backlog(lambda n: n == 0), within=30)
        os.kill(own_broker.pid, signal.SIGSTOP)
        try:
            await do(cases, case_id, "/notes", SON_ROOM, {"text": "सीमा पर नाका लगाया"})
            stuck = await eventually(lambda: backlog(lambda n: (n or 0) >= 1), within=30)
            assert (value(stuck, "prahari_outbox_oldest_age_seconds") or 0) >= 0
            aged = await eventually(lambda: _older_than(cases, 1.0), within=30, every=0.5)
            assert aged
        finally:
            os.kill(own_broker.pid, signal.SIGCONT)
        await eventually(lambda: backlog(lambda n: n == 0), within=60)


async def _older_than(client: TestClient[Any, Any], seconds: float) -> bool | None:
    age = value(await scrape(client), "prahari_outbox_oldest_age_seconds")
    return True if age is not None and age > seconds else None

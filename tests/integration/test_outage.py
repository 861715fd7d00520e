"""A PostgreSQL restart is an outage, not a fault: the outbox relay leads again and
publishes everything, the HTTP services answer 503 with Retry-After (never 500) while it
lasts and say so in one log line per interval, and all of it recovers by itself. On a
cluster of this module's own, which it stops and starts."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Iterator
from typing import Any

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from aiokafka import AIOKafkaProducer

from prahari_cases.entrypoints.http import create_app as cases_app
from prahari_events.db import connect, create_pool
from prahari_events.kafka import Topics
from prahari_events.migrations import migrate_service
from prahari_events.outbox import OutboxRelay
from prahari_events.registry import Registry
from prahari_events.runtime import background
from prahari_events.store import EventStore
from prahari_events.telemetry import no_op_tracer
from prahari_events.web import READY_CHECKS
from prahari_intake.entrypoints.http import create_app as intake_app
from tests.cases_support import SON_ROOM, cases_settings
from tests.factories import SONBHADRA, STATION, UP, report_draft
from tests.own_infra import OwnPostgres
from tests.support import bearer, eventually, filing, free_port, intake_settings, read_topic

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]


@pytest.fixture(scope="module")
def own_postgres() -> Iterator[OwnPostgres]:
    cluster = OwnPostgres(free_port())
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.remove()


async def _restart(cluster: OwnPostgres) -> None:
    await asyncio.to_thread(cluster.stop)
    await asyncio.to_thread(cluster.start)


async def test_the_outbox_relay_leads_again_after_a_restart_and_publishes_everything(
    own_postgres: OwnPostgres,
    topics: Topics,
    producer: AIOKafkaProducer,
    registry: Registry,
) -> None:
    schema = f"relay_{uuid.uuid4().hex[:8]}"
    await migrate_service(own_postgres.url(), "cases", schema)
    url = own_postgres.url("prahari_cases")
    pool = await create_pool(url, schema, application="tests", max_size=4)
    store = EventStore(registry)

    async def append(n: int) -> bool | None:
        try:
            async with pool.acquire() as conn, conn.transaction():
                await store.append(
                    conn,
                    f"case-{uuid.uuid4()}",
                    0,
                    [report_draft() for _ in range(n)],
                    publish_to=topics.case_events,
                )
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            return None  # the database is still on its way back
        return True

    async def published() -> int:
        return int(
            await pool.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NOT NULL")
        )

    relay = OutboxRelay(
        pool,
        producer,
        schema=schema,
        connect=lambda: connect(url, schema, application="tests-relay"),
        idle_poll_s=0.2,
    )
    app = web.Application()
    app[READY_CHECKS] = {}
    try:
        async with background(app, "outbox-relay", relay.run, relay.stop, restart_s=(0.1, 1)):
            await append(50)
            await eventually(lambda: _at_least(published, 50), within=30)
            await _restart(own_postgres)
            await eventually(lambda: append(50), within=60, every=0.2)
            await eventually(lambda: _at_least(published, 100), within=60, every=0.2)
            await app[READY_CHECKS]["outbox-relay"]()  # it runs, and says so
        written = {r["event_id"] for r in await pool.fetch("SELECT event_id FROM events")}
        messages = await read_topic(topics.case_events, at_least=100)
        assert {registry.decode(m.value or b"").event_id for m in messages} == written
        assert len(written) == 100
    finally:
        await pool.close()


async def _at_least(count: Any, n: int) -> bool | None:
    try:
        return True if await count() >= n else None
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
        return None


async def test_a_database_outage_is_503_with_retry_after_and_one_log_line_then_recovers(
    own_postgres: OwnPostgres, topics: Topics, caplog: pytest.LogCaptureFixture
) -> None:
    schema = f"outage_{uuid.uuid4().hex[:8]}"
    await migrate_service(own_postgres.url(), "intake", schema)
    await migrate_service(own_postgres.url(), "cases", schema)
    intake = intake_app(
        intake_settings(topics, schema, DATABASE_URL=own_postgres.url("prahari_intake")),
        no_op_tracer(),
    )
    cases = cases_app(
        cases_settings(topics, schema, DATABASE_URL=own_postgres.url("prahari_cases")),
        no_op_tracer(),
    )
    report = {
        "type": "rumour",
        "description": "मतदान केंद्र बदलने की झूठी खबर",
        "state": UP,
        "district": SONBHADRA,
        "occurred_at": "2024-04-11T09:30:00+05:30",
        "rumour": {
            "platform": "whatsapp",
            "post_url": "https://chat.whatsapp.com/Xy1",
            "language": "hi",
            "first_seen_at": "2024-04-11T08:05:00+05:30",
            "estimated_reach": 1200,
        },
    }
    async with (
        TestClient(TestServer(intake)) as front,
        TestClient(TestServer(cases)) as desk,
    ):
        assert (await desk.get("/v1/cases", headers=bearer(SON_ROOM))).status == 200
        await asyncio.to_thread(own_postgres.stop)
        try:
            caplog.clear()
            with caplog.at_level(logging.ERROR, logger="prahari.web"):
                for _ in range(10):
                    answer = await desk.get("/v1/cases", headers=bearer(SON_ROOM))
                    assert answer.status == 503, await answer.text()
                    assert answer.headers["Retry-After"]
                    assert (await answer.json())["error"]["code"] == "unavailable"
                    filed = await front.post("/v1/reports", json=report, headers=filing(STATION))
                    assert filed.status == 503, await filed.text()
                    assert filed.headers["Retry-After"]
            failing = [r for r in caplog.records if r.getMessage() == "requests failing"]
            assert 1 <= len(failing) <= 2  # one line per kind per interval, not 20
        finally:
            await asyncio.to_thread(own_postgres.start)

        async def recovered() -> bool | None:
            answer = await desk.get("/v1/cases", headers=bearer(SON_ROOM))
            return True if answer.status == 200 else None

        await eventually(recovered, within=30, every=0.2)
        filed = await front.post("/v1/reports", json=report, headers=filing(STATION))
        assert filed.status == 202, await filed.text()

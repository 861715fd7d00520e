"""Fixtures shared by the integration tests of the services."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer

from prahari_cases.domain.case import case_id_for
from prahari_cases.domain.sla import SlaPolicy
from prahari_cases.entrypoints.http import create_app as create_cases_app
from prahari_cases.service_layer.handlers import CaseHandlers
from prahari_events.auth import Unit
from prahari_events.envelope import Envelope
from prahari_events.kafka import Topics
from prahari_events.registry import Registry
from prahari_events.store import EventStore
from prahari_events.telemetry import no_op_tracer
from prahari_intake.entrypoints.http import create_app
from tests.cases_support import Client, cases_settings
from tests.factories import STATION, report_envelope
from tests.own_infra import OwnBroker, free_port_pair
from tests.support import intake_settings, migrate_for


@pytest.fixture
async def client(
    topics: Topics, schema: str, pool: asyncpg.Pool
) -> AsyncIterator[TestClient[Any, Any]]:
    """An in-process intake on the test's own topics and schema."""
    await migrate_for(schema, "intake")
    app = create_app(intake_settings(topics, schema), no_op_tracer())
    async with TestClient(TestServer(app)) as client:
        yield client


@pytest.fixture
async def intake_schema(schema: str, pool: asyncpg.Pool) -> str:
    """The test's schema, migrated for intake, for tests that start intakes of their own."""
    await migrate_for(schema, "intake")
    return schema


@pytest.fixture
async def cases_schema(schema: str, pool: asyncpg.Pool) -> str:
    """The test's schema, migrated for cases, for tests that start cases of their own."""
    await migrate_for(schema, "cases")
    return schema


@pytest.fixture
async def cases(topics: Topics, schema: str, pool: asyncpg.Pool) -> AsyncIterator[Client]:
    await migrate_for(schema, "cases")
    app = create_cases_app(cases_settings(topics, schema), no_op_tracer())
    async with TestClient(TestServer(app)) as client:
        yield client


@pytest.fixture
def deliver(
    cases: Client, pool: asyncpg.Pool, store: EventStore, topics: Topics
) -> Callable[[Envelope], Awaitable[str]]:
    """Hands a report to cases as its consumer does, in a transaction of its own; gives the
    id of the case the report's own case would have (attached reports open none)."""
    handlers = CaseHandlers(store, topics.case_events, SlaPolicy())

    async def one(report: Envelope) -> str:
        async with pool.acquire() as conn, conn.transaction():
            await handlers.report_received(conn, report)
        return str(case_id_for(uuid.UUID(report.payload["report_id"])))

    return one


@pytest.fixture
def open_case(deliver: Callable[[Envelope], Awaitable[str]], registry: Registry) -> Any:
    """Opens a case from a report of `unit`'s (by default a Sonbhadra police station)."""

    async def open_one(unit: Unit = STATION, **overrides: Any) -> str:
        return await deliver(report_envelope(registry, unit, **overrides))

    return open_one


@pytest.fixture
def own_broker(topics: Topics, tmp_path: Path) -> Iterator[OwnBroker]:
    """A plaintext broker of the test's own, with the test's topics: for tests that pause or
    stop it, while the shared one goes on answering everyone else."""
    broker = OwnBroker(tmp_path / "kafka", free_port_pair(), prefix=topics.prefix)
    broker.start()
    try:
        broker.create_topics()
        yield broker
    finally:
        broker.stop()

"""Fixtures shared by the integration tests of the services."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer

from prahari_cases.domain.case import case_id_for
from prahari_cases.domain.sla import SlaPolicy
from prahari_cases.entrypoints.http import create_app as create_cases_app
from prahari_cases.service_layer.handlers import CaseHandlers
from prahari_events.auth import Unit
from prahari_events.kafka import Topics
from prahari_events.registry import Registry
from prahari_events.store import EventStore
from prahari_events.telemetry import no_op_tracer
from prahari_intake.entrypoints.http import create_app
from tests.cases_support import Client, cases_settings
from tests.factories import STATION, report_envelope
from tests.support import intake_settings


@pytest.fixture
async def client(
    topics: Topics, schema: str, pool: asyncpg.Pool
) -> AsyncIterator[TestClient[Any, Any]]:
    """An in-process intake on the test's own topics and schema."""
    app = create_app(intake_settings(topics, schema), no_op_tracer())
    async with TestClient(TestServer(app)) as client:
        yield client


@pytest.fixture
async def cases(topics: Topics, schema: str, pool: asyncpg.Pool) -> AsyncIterator[Client]:
    app = create_cases_app(cases_settings(topics, schema), no_op_tracer())
    async with TestClient(TestServer(app)) as client:
        yield client


@pytest.fixture
def open_case(
    cases: Client, pool: asyncpg.Pool, store: EventStore, registry: Registry, topics: Topics
) -> Any:
    """Opens a case as the consumer does when a report arrives, in its own transaction."""
    handlers = CaseHandlers(store, topics.case_events, SlaPolicy())

    async def open_one(unit: Unit = STATION, **overrides: Any) -> str:
        report = report_envelope(registry, unit, **overrides)
        async with pool.acquire() as conn, conn.transaction():
            await handlers.report_received(conn, report)
        return str(case_id_for(uuid.UUID(report.payload["report_id"])))

    return open_one

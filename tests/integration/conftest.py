"""Fixtures shared by the integration tests of the services."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer

from prahari_events.kafka import Topics
from prahari_events.telemetry import no_op_tracer
from prahari_intake.entrypoints.http import create_app
from tests.support import intake_settings


@pytest.fixture
async def client(
    topics: Topics, schema: str, pool: asyncpg.Pool
) -> AsyncIterator[TestClient[Any, Any]]:
    """An in-process intake on the test's own topics and schema."""
    app = create_app(intake_settings(topics, schema), no_op_tracer())
    async with TestClient(TestServer(app)) as client:
        yield client

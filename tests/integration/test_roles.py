"""The database cannot quietly rewrite history: the services run as roles that may add to
it and never change it, nor the schema; the audit tool's role only reads (and says who
used it); a service refuses to start on a schema prahari-migrate has not brought up to
date. Tampering, elsewhere, is done as the owner: that is the point of these roles."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from aiohttp.test_utils import TestServer

from prahari_cases.entrypoints.http import create_app
from prahari_events.db import create_pool
from prahari_events.errors import ConfigError
from prahari_events.kafka import Topics
from prahari_events.store import EventStore
from prahari_events.telemetry import no_op_tracer
from tests.cases_support import cases_settings
from tests.factories import report_draft
from tests.support import AUDIT_URL, CASES_URL

pytestmark = pytest.mark.integration


@pytest.fixture
async def as_cases(cases_schema: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(CASES_URL, cases_schema, application="tests", max_size=2)
    yield pool
    await pool.close()


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE events SET type = 'case.closed'",
        "DELETE FROM events",
        "TRUNCATE events",
        "ALTER TABLE events DISABLE TRIGGER events_append_only",
        "DROP TRIGGER events_append_only ON events",
        "UPDATE access_log SET unit_id = 'someone-else'",
        "DELETE FROM checkpoints",
        "DELETE FROM schema_migrations",
        "CREATE TABLE shadow (id int)",
        "DROP TABLE case_view",
    ],
)
async def test_a_service_role_adds_to_history_and_cannot_change_it(
    as_cases: asyncpg.Pool, store: EventStore, statement: str
) -> None:
    # It may append, as the service does...
    await store.append(as_cases, "case-a", 0, [report_draft(), report_draft()])
    # ...and nothing else with its history or the schema.
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await as_cases.execute(statement)
    assert await as_cases.fetchval("SELECT count(*) FROM events") == 2


async def test_the_audit_role_reads_and_only_logs_its_own_use(
    cases_schema: str, pool: asyncpg.Pool, store: EventStore
) -> None:
    await store.append(pool, "case-a", 0, [report_draft()])
    audit = await create_pool(AUDIT_URL, cases_schema, application="tests", max_size=1)
    try:
        assert await audit.fetchval("SELECT count(*) FROM events") == 1
        await audit.execute(
            "INSERT INTO access_log (unit_id, role, kind, what)"
            " VALUES ('ECI-OBSERVER-7', 'auditor', 'audit_tool', 'audit.verify')"
        )
        for statement in (
            "UPDATE access_log SET unit_id = 'x'",
            "UPDATE case_view SET status = 'closed'",
            "INSERT INTO outbox (event_id, topic, key, value, headers)"
            " VALUES (gen_random_uuid(), 't', 'k', '', '[]')",
            "DELETE FROM events",
        ):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await audit.execute(statement)
    finally:
        await audit.close()


async def test_a_service_does_not_start_on_a_schema_not_migrated(
    topics: Topics, test_id: str
) -> None:
    schema = f"t_unmigrated_{uuid.uuid4().hex[:6]}"
    app = create_app(cases_settings(topics, schema), no_op_tracer())
    server = TestServer(app)
    try:
        with pytest.raises(ConfigError, match=f"prahari-migrate --service cases --schema {schema}"):
            await server.start_server()
    finally:
        await server.close()

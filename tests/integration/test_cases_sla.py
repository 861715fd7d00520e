"""SLA clocks on the real PostgreSQL and Kafka: a missed deadline is recorded, escalates by
itself once, shows in lists and the timeline; and with two cases processes, one of them
killed mid-way, every deadline fires exactly once."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer

from prahari_cases.domain.case import case_id_for, stream_for
from prahari_cases.entrypoints.http import create_app
from prahari_cases.service_layer.handlers import CaseHandlers
from prahari_cases.service_layer.timers import SlaClock
from prahari_events.kafka import Topics
from prahari_events.registry import Registry
from prahari_events.store import EventStore
from prahari_events.telemetry import no_op_tracer
from tests.cases_support import SON_ROOM, Client, call, cases_env, cases_settings, do, sla_file
from tests.factories import report_envelope
from tests.support import eventually, free_port, publish

pytestmark = pytest.mark.integration


@pytest.mark.usefixtures("cases_schema")
async def test_a_missed_assignment_escalates_by_itself_once(
    topics: Topics, schema: str, pool: asyncpg.Pool, store: EventStore, registry: Registry,
    tmp_path: Path,
) -> None:  # fmt: skip
    settings = cases_settings(
        topics,
        schema,
        PRAHARI_CASES_SLA_FILE=sla_file(tmp_path, assign=0.5),
        PRAHARI_CASES_TIMER_POLL_S="0.1",
    )
    handlers = CaseHandlers(store, topics.case_events, settings.sla)
    async with TestClient(TestServer(create_app(settings, no_op_tracer()))) as cases:
        late, on_time = report_envelope(registry), report_envelope(registry)
        for report in (late, on_time):
            async with pool.acquire() as conn, conn.transaction():
                await handlers.report_received(conn, report)
        late_id = str(case_id_for(uuid.UUID(late.payload["report_id"])))
        on_time_id = str(case_id_for(uuid.UUID(on_time.payload["report_id"])))
        await do(cases, on_time_id, "/assignment", SON_ROOM, {"unit_id": "UP-SON-FS-1"})

        async def escalated() -> Any:
            status, case, _ = await call(cases, "GET", f"/v1/cases/{late_id}", SON_ROOM)
            assert status == 200
            return case if case["level"] == "state" else None

        case = await escalated_case(escalated)
        assert case["overdue"] == ["assign"]
        assert [b["level"] for b in case["breaches"]] == ["district"]
        status, listed, _ = await call(cases, "GET", "/v1/cases?overdue=true", SON_ROOM)
        assert (status, [c["case_id"] for c in listed["cases"]]) == (200, [late_id])
        status, timeline, _ = await call(cases, "GET", f"/v1/cases/{late_id}/timeline", SON_ROOM)
        assert status == 200
        lines = [t["line"] for t in timeline["timeline"]]
        assert "recorded a missed deadline: assign was due by" in lines[1]
        assert lines[1].split(" IST: ")[1].startswith("cases service")
        assert "escalated the case from district to state level" in lines[2]
        # At the state level the next miss is recorded too, and then the clock stops.
        await eventually(lambda: _breaches(store, pool, late_id, 2), within=10)
        # Assigning ends the overdue stage.
        case = await do(cases, late_id, "/assignment", SON_ROOM, {"unit_id": "UP-SON-FS-1"})
        assert case["overdue"] == []
    events = await store.read_stream(pool, stream_for(uuid.UUID(late_id)))
    types = [e.type for e in events]
    assert types.count("case.sla_breached") == 2
    assert types.count("case.escalated") == 1
    assert all(e.actor.unit_id == "service:cases" for e in events[1:4])
    on_time_events = await store.read_stream(pool, stream_for(uuid.UUID(on_time_id)))
    assert "case.sla_breached" not in [e.type for e in on_time_events]


async def _ready(http: aiohttp.ClientSession, port: int) -> bool | None:
    try:
        async with http.get(f"http://127.0.0.1:{port}/readyz") as response:
            return True if response.status == 200 else None
    except aiohttp.ClientError:
        return None


async def escalated_case(probe: Any) -> Any:
    return await eventually(probe, within=15)


async def _breaches(store: EventStore, pool: asyncpg.Pool, case_id: str, count: int) -> Any:
    events = await store.read_stream(pool, stream_for(uuid.UUID(case_id)))
    found = [e for e in events if e.type == "case.sla_breached"]
    return found if len(found) >= count else None


@pytest.mark.timeout(180)
@pytest.mark.usefixtures("cases_schema")
async def test_with_two_processes_and_one_killed_each_deadline_fires_once(
    topics: Topics, schema: str, pool: asyncpg.Pool, store: EventStore, registry: Registry,
    tmp_path: Path,
) -> None:  # fmt: skip
    env = {
        "PATH": os.environ.get("PATH", ""),
        **cases_env(
            topics,
            schema,
            PRAHARI_CASES_SLA_FILE=sla_file(tmp_path, assign=2, acknowledge=3),
            PRAHARI_CASES_TIMER_POLL_S="0.05",
            PRAHARI_LOG_LEVEL="WARNING",
        ),
    }
    processes = []
    ports = [free_port(), free_port()]
    for n, port in enumerate(ports):
        with (tmp_path / f"cases-{n}.log").open("wb") as log:
            processes.append(
                await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "prahari_cases",
                    env={**env, "PRAHARI_CASES_PORT": str(port)},
                    stdout=log,
                    stderr=log,
                )
            )
    try:
        async with aiohttp.ClientSession() as http:
            for port in ports:
                await eventually(lambda port=port: _ready(http, port), within=60)  # type: ignore[misc]
        reports = [report_envelope(registry) for _ in range(40)]
        await publish(topics.reports, registry, reports)
        case_ids = [str(case_id_for(uuid.UUID(r.payload["report_id"]))) for r in reports]

        async def first_breach() -> Any:
            return await pool.fetchval("SELECT 1 FROM case_view WHERE overdue LIMIT 1")

        await eventually(first_breach, within=60)
        processes[0].send_signal(signal.SIGKILL)  # mid-way: some timers fired, some not
        await processes[0].wait()

        async def all_breached_twice() -> Any:
            counts = []
            for case_id in case_ids:
                found = await _breaches(store, pool, case_id, 2)
                counts.append(found is not None)
            return True if all(counts) else None

        await eventually(all_breached_twice, within=90, every=0.5)

        async def no_assign_timers_left() -> Any:
            left = await pool.fetchval("SELECT count(*) FROM case_timers WHERE stage = 'assign'")
            return True if left == 0 else None

        await eventually(no_assign_timers_left, within=10)
    finally:
        for process in processes:
            if process.returncode is None:
                process.terminate()
                await process.wait()
    for case_id in case_ids:
        events = await store.read_stream(pool, stream_for(uuid.UUID(case_id)))
        breaches = [
            (e.payload["stage"], e.payload["level"])
            for e in events
            if e.type == "case.sla_breached"
        ]
        assert breaches == [("assign", "district"), ("assign", "state")], case_id
        assert [e.type for e in events].count("case.escalated") == 1


@pytest.mark.usefixtures("cases_schema")
async def test_a_case_that_cannot_be_decided_does_not_stop_the_other_clocks(
    cases: Client, open_case: Any, pool: asyncpg.Pool, store: EventStore, topics: Topics
) -> None:
    broken, fine = await open_case(), await open_case()
    # A read-model row this code cannot read (as if written by a faulty release).
    await pool.execute(
        "UPDATE case_view SET body = body - 'sla' WHERE case_id = $1", uuid.UUID(broken)
    )
    later = datetime.now(UTC) + timedelta(days=1)
    clock = SlaClock(pool, store, topics.case_events, clock=lambda: later)
    await clock.fire_due()  # does not raise
    assert clock.fired == 2  # the fine case's assign and close deadlines
    left = await pool.fetch("SELECT case_id FROM case_timers")
    assert {r["case_id"] for r in left} == {uuid.UUID(fine)}  # its next, state-level ones
    events = await store.read_stream(pool, stream_for(uuid.UUID(fine)))
    assert [e.type for e in events].count("case.sla_breached") == 2

"""A rumour case's response over HTTP, on the real PostgreSQL (issue 14): a takedown request
whose deadline passes without an outcome escalates once, by itself; the fact-check (Hindi
and English) and the action against the source go on the case and its timeline; a wrong
request is a 4xx that names its field and writes nothing."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer

from prahari_cases.domain.case import case_id_for, stream_for
from prahari_cases.entrypoints.http import create_app
from prahari_cases.service_layer.handlers import CaseHandlers
from prahari_events.kafka import Topics
from prahari_events.registry import Registry
from prahari_events.store import EventStore
from prahari_events.telemetry import no_op_tracer
from tests.cases_support import SON_ROOM, SQUAD, call, cases_settings, do, etag_of, sla_file
from tests.factories import report_envelope
from tests.support import eventually

pytestmark = pytest.mark.integration

TAKEDOWN = {
    "platform": "whatsapp",
    "url": "https://chat.whatsapp.com/AbCd",
    "legal_basis": "it_act_79_3_b",
    "nodal_officer": "SP Cyber Crime, Lucknow",
}
RUMOUR = {
    "platform": "whatsapp",
    "post_url": "https://chat.whatsapp.com/AbCd",
    "language": "hi",
    "excerpt": "सोनभद्र में मतदान 26 अप्रैल को होगा",
    "first_seen_at": "2024-04-11T08:05:00+05:30",
    "estimated_reach": 4000,
}


@pytest.mark.usefixtures("cases_schema")
async def test_a_takedown_without_an_outcome_escalates_once_and_the_trail_is_kept(
    topics: Topics, schema: str, pool: asyncpg.Pool, store: EventStore, registry: Registry,
    tmp_path: Path,
) -> None:  # fmt: skip
    settings = cases_settings(
        topics,
        schema,
        PRAHARI_CASES_SLA_FILE=sla_file(tmp_path, takedown=0.5),
        PRAHARI_CASES_TIMER_POLL_S="0.1",
    )
    handlers = CaseHandlers(store, topics.case_events, settings.sla)
    report = report_envelope(
        registry,
        report_type="rumour",
        description="व्हाट्सएप पर मतदान की तारीख बदलने की झूठी खबर",
        details=RUMOUR,
    )
    async with pool.acquire() as conn, conn.transaction():
        await handlers.report_received(conn, report)
    case_id = str(case_id_for(uuid.UUID(report.payload["report_id"])))
    async with TestClient(TestServer(create_app(settings, no_op_tracer()))) as cases:
        case = await do(cases, case_id, "/takedown-requests", SON_ROOM, TAKEDOWN)
        (request,) = case["takedowns"]
        assert request["outcome"] is None
        assert "takedown" in case["deadlines"]

        async def escalated() -> Any:
            _, body, _ = await call(cases, "GET", f"/v1/cases/{case_id}", SON_ROOM)
            return body if body["level"] == "state" else None

        case = await eventually(escalated, within=15)
        assert case["overdue"] == ["takedown"]
        assert [(b["stage"], b["level"]) for b in case["breaches"]] == [("takedown", "district")]
        # The state level's deadline passes too: recorded, and no second escalation.
        await eventually(lambda: _breaches(store, pool, case_id, 2), within=15)
        outcome = f"/takedown-requests/{request['request_id']}/outcome"
        confirmed = {"outcome": "confirmed", "platform_reference": "WA-4471"}
        case = await do(cases, case_id, outcome, SON_ROOM, confirmed)
        assert case["takedowns"][0]["outcome"] == "confirmed"
        assert "takedown" not in case["deadlines"]
        assert case["overdue"] == []
        # A second answer to the same request is refused, by its status.
        status, body, _ = await call(
            cases, "POST", f"/v1/cases/{case_id}{outcome}", SON_ROOM,
            {"outcome": "refused", "reason": "x"}, etag=await etag_of(cases, case_id),
        )  # fmt: skip
        assert status == 409, body
        fact_check = {
            "url": "https://uppolice.gov.in/factcheck/17",
            "text_en": "Polling in Sonbhadra is on 1 June, not 26 April.",
            "text_hi": "सोनभद्र में मतदान 1 जून को है, 26 अप्रैल को नहीं।",
        }
        case = await do(cases, case_id, "/fact-checks", SON_ROOM, fact_check)
        assert case["fact_checks"][0]["text_hi"] == fact_check["text_hi"]
        assert "fact_check" not in case["deadlines"]
        await do(cases, case_id, "/assignment", SON_ROOM, {"unit_id": "UP-SON-FS-1"})
        action = {"fir_number": "0142/2024", "sections": ["BNS 353", "IT Act 66"]}
        case = await do(cases, case_id, "/source-actions", SQUAD, action)
        assert case["source_actions"][0]["by"]["unit_id"] == "UP-SON-FS-1"
        status, timeline, _ = await call(cases, "GET", f"/v1/cases/{case_id}/timeline", SON_ROOM)
        assert status == 200
        lines = [t["what"] for t in timeline["timeline"]]
        assert any(line.startswith("asked whatsapp to take down") for line in lines)
        assert "published a fact-check at https://uppolice.gov.in/factcheck/17" in " ".join(lines)
        assert lines[-1] == "acted against the source: FIR 0142/2024 under BNS 353, IT Act 66"
    types = [e.type for e in await store.read_stream(pool, stream_for(uuid.UUID(case_id)))]
    assert types.count("case.escalated") == 1
    assert types.count("case.sla_breached") == 2
    assert types.count("case.takedown_requested") == 1


async def _breaches(store: EventStore, pool: asyncpg.Pool, case_id: str, count: int) -> Any:
    events = await store.read_stream(pool, stream_for(uuid.UUID(case_id)))
    found = [e for e in events if e.type == "case.sla_breached"]
    return found if len(found) >= count else None


@pytest.mark.usefixtures("cases_schema")
@pytest.mark.parametrize(
    ("path", "body", "status", "field"),
    [
        ("/takedown-requests", {**TAKEDOWN, "platform": "myspace"}, 400, "platform"),
        ("/takedown-requests", {**TAKEDOWN, "url": "javascript:alert(1)"}, 400, "url"),
        ("/takedown-requests", {**TAKEDOWN, "legal_basis": "s66a"}, 400, "legal_basis"),
        ("/takedown-requests", {**TAKEDOWN, "deadline": "2024-01-01T00:00:00+05:30"}, 422,
         "deadline"),
        ("/takedown-requests/not-a-uuid/outcome", {"outcome": "confirmed",
                                                   "platform_reference": "x"}, 400, "request_id"),
        (f"/takedown-requests/{uuid.uuid4()}/outcome", {"outcome": "confirmed",
                                                        "platform_reference": "x"}, 422,
         "request_id"),
        (f"/takedown-requests/{uuid.uuid4()}/outcome", {"outcome": "refused"}, 422, "reason"),
        ("/fact-checks", {"url": "https://a.in/f", "text_en": "only English"}, 400, "text_hi"),
        ("/source-actions", {"fir_number": "1/2024", "sections": []}, 400, "sections"),
    ],
)  # fmt: skip
async def test_a_wrong_request_names_its_field_and_writes_nothing(
    topics: Topics, schema: str, pool: asyncpg.Pool, store: EventStore, registry: Registry,
    path: str, body: dict[str, Any], status: int, field: str,
) -> None:  # fmt: skip
    settings = cases_settings(topics, schema)
    handlers = CaseHandlers(store, topics.case_events, settings.sla)
    report = report_envelope(registry, report_type="rumour", details=RUMOUR)
    async with pool.acquire() as conn, conn.transaction():
        await handlers.report_received(conn, report)
    case_id = str(case_id_for(uuid.UUID(report.payload["report_id"])))
    async with TestClient(TestServer(create_app(settings, no_op_tracer()))) as cases:
        etag = await etag_of(cases, case_id)
        got, answer, _ = await call(
            cases, "POST", f"/v1/cases/{case_id}{path}", SON_ROOM, body, etag=etag
        )
        assert (got, field in answer["error"]["fields"]) == (status, True), answer
        assert await etag_of(cases, case_id) == etag


@pytest.mark.usefixtures("cases_schema")
async def test_a_smuggling_case_has_no_rumour_response(
    topics: Topics, schema: str, pool: asyncpg.Pool, store: EventStore, registry: Registry
) -> None:
    settings = cases_settings(topics, schema)
    handlers = CaseHandlers(store, topics.case_events, settings.sla)
    report = report_envelope(registry)
    async with pool.acquire() as conn, conn.transaction():
        await handlers.report_received(conn, report)
    case_id = str(case_id_for(uuid.UUID(report.payload["report_id"])))
    async with TestClient(TestServer(create_app(settings, no_op_tracer()))) as cases:
        status, body, _ = await call(
            cases, "POST", f"/v1/cases/{case_id}/takedown-requests", SON_ROOM, TAKEDOWN,
            etag=await etag_of(cases, case_id),
        )  # fmt: skip
        assert status == 409, body
        assert "no rumour response" in body["error"]["message"]

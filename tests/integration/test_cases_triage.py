"""Triage on the real PostgreSQL: one case per real-world event, however many reports of it
arrive and however they race; linked cases across state borders."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
import pytest

from prahari_cases.domain.case import case_id_for, stream_for
from prahari_events.auth import Unit
from prahari_events.envelope import Envelope
from prahari_events.registry import Registry
from prahari_events.store import EventStore
from tests.cases_support import BR_ROOM, KAIMUR, SON_ROOM, Client, call, do
from tests.factories import BIHAR, SONBHADRA, STATION, UP, report_envelope
from tests.support import eventually

pytestmark = pytest.mark.integration

BR_STATION = Unit("BR-KAI-CP-KARMNASA", "check_post", "reporter", BIHAR, KAIMUR)
RUMOUR = {
    "platform": "whatsapp",
    "post_url": "https://chat.whatsapp.com/AbCd?utm_source=share",
    "language": "hi",
    "excerpt": "सोनभद्र में मतदान 26 अप्रैल को होगा",
    "first_seen_at": "2024-04-11T08:05:00+05:30",
}


def rumour(registry: Registry, reach: int, **details: Any) -> Envelope:
    return report_envelope(
        registry,
        report_type="rumour",
        description="व्हाट्सएप पर मतदान की तारीख बदलने की झूठी खबर",
        details={**RUMOUR, "estimated_reach": reach, **details},
    )


async def test_fifty_reports_of_one_rumour_at_once_are_one_case(
    deliver: Any, registry: Registry, cases: Client, pool: asyncpg.Pool
) -> None:
    # The same post, reported by many stations, with the link spelt in different ways.
    reports = [
        rumour(registry, 100 + n, post_url=f"HTTPS://chat.whatsapp.com/AbCd?s={n}#x")
        for n in range(50)
    ]
    await asyncio.gather(*(deliver(r) for r in reports))
    owners = await pool.fetch("SELECT DISTINCT case_id FROM case_reports")
    assert len(owners) == 1
    case_id = owners[0]["case_id"]
    status, case, _ = await call(cases, "GET", f"/v1/cases/{case_id}", SON_ROOM)
    assert status == 200
    assert case["reports"] == 50
    assert case["total_reach"] == sum(100 + n for n in range(50))
    assert len(case["linked_reports"]) == 49
    assert await pool.fetchval("SELECT count(*) FROM case_view") == 1


async def test_a_rumour_elsewhere_or_later_is_linked_not_attached(
    deliver: Any, registry: Registry, cases: Client, pool: asyncpg.Pool
) -> None:
    first = rumour(registry, 10)
    await deliver(first)
    first_case = case_id_for(uuid.UUID(first.payload["report_id"]))
    # A closed case takes no more reports: the next one opens its own case.
    await do(
        cases,
        str(first_case),
        "/closure",
        SON_ROOM,
        {"disposition": "dropped_false", "summary": "x"},
    )
    again = rumour(registry, 20)
    await deliver(again)
    again_case = case_id_for(uuid.UUID(again.payload["report_id"]))
    status, case, _ = await call(cases, "GET", f"/v1/cases/{again_case}", SON_ROOM)
    assert (status, case["reports"], case["links"]) == (200, 1, [])


async def test_a_truck_seen_in_bihar_then_in_up_gives_two_linked_cases(
    deliver: Any, registry: Registry, cases: Client, store: EventStore, pool: asyncpg.Pool
) -> None:
    bihar = report_envelope(
        registry,
        BR_STATION,
        state=BIHAR,
        district=KAIMUR,
        description="कर्मनासा चेकपोस्ट से ट्रक br 01-ab 1234 तेज़ी से निकला",
    )
    up = report_envelope(
        registry,
        STATION,
        state=UP,
        district=SONBHADRA,
        description="Truck BR01AB1234 with liquor seen near Robertsganj",
        details={"commodity": "liquor", "vehicles": ["BR 01 AB 1234"]},
    )
    await deliver(bihar)
    await deliver(up)
    bihar_case = case_id_for(uuid.UUID(bihar.payload["report_id"]))
    up_case = case_id_for(uuid.UUID(up.payload["report_id"]))
    identifier = {"kind": "vehicle", "value": "BR01AB1234"}
    status, mine, _ = await call(cases, "GET", f"/v1/cases/{up_case}", SON_ROOM)
    assert status == 200
    assert mine["links"] == [{"case_id": str(bihar_case), "state": BIHAR, "identifier": identifier}]
    status, theirs, _ = await call(cases, "GET", f"/v1/cases/{bihar_case}", BR_ROOM)
    assert theirs["links"] == [{"case_id": str(up_case), "state": UP, "identifier": identifier}]
    # Each owner sees the link, not the other case, unless it is shared.
    assert (await call(cases, "GET", f"/v1/cases/{up_case}", BR_ROOM))[0] == 404
    assert (await call(cases, "GET", f"/v1/cases/{bihar_case}", SON_ROOM))[0] == 404
    events = await store.read_stream(pool, stream_for(bihar_case))
    assert [e.type for e in events] == ["case.opened", "case.linked"]
    assert events[1].causation_id == up.event_id  # the UP report caused the link
    status, timeline, _ = await call(cases, "GET", f"/v1/cases/{up_case}/timeline", SON_ROOM)
    assert status == 200
    assert "the same vehicle (BR01AB1234)" in timeline["timeline"][-1]["line"]


async def test_a_wrong_attachment_is_undone_and_the_report_gets_its_own_case(
    deliver: Any, registry: Registry, cases: Client, pool: asyncpg.Pool
) -> None:
    first, second = rumour(registry, 10), rumour(registry, 20)
    await deliver(first)
    await deliver(second)
    case_id = str(case_id_for(uuid.UUID(first.payload["report_id"])))
    second_id = second.payload["report_id"]
    status, answer, _ = await call(
        cases, "POST", f"/v1/cases/{case_id}/unlinking", SON_ROOM,
        {"report_id": first.payload["report_id"], "reason": "x"}, etag='"2"',
    )  # fmt: skip
    assert status == 409  # the report that opened the case stays with it
    assert answer["error"]["message"] == "the report that opened the case stays with it"
    case = await do(
        cases, case_id, "/unlinking", SON_ROOM, {"report_id": second_id, "reason": "अलग अफवाह"}
    )
    assert (case["reports"], case["linked_reports"]) == (1, [])
    # cases itself reads the unlinking from its topic and opens the report's own case.
    own = str(case_id_for(uuid.UUID(second_id)))

    async def opened() -> Any:
        status, body, _ = await call(cases, "GET", f"/v1/cases/{own}", SON_ROOM)
        return body if status == 200 else None

    body = await eventually(opened)
    assert (body["report_id"], body["reports"], body["total_reach"]) == (second_id, 1, 20)
    owner = await pool.fetchval(
        "SELECT case_id FROM case_reports WHERE report_id = $1", uuid.UUID(second_id)
    )
    assert str(owner) == own
    # Its identifiers went with it.
    moved = await pool.fetchval(
        "SELECT count(*) FROM case_identifiers WHERE case_id = $1", uuid.UUID(own)
    )
    assert moved > 0

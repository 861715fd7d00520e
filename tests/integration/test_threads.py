"""Threads on the real PostgreSQL (issue 14): Chandauli (UP) and Kaimur (Bihar) talk in their
border pair's standing thread, in Hindi and English, on the record; a Jharkhand unit finds
no such thread; messages page by keyset and are found by the same Hindi search as cases; a
retried post is one message; a case's thread follows the case's owner and partners."""

from __future__ import annotations

import uuid
from functools import partial
from typing import Any

import asyncpg
import pytest

from prahari_cases.domain.case import case_id_for
from prahari_cases.domain.sla import SlaPolicy
from prahari_cases.domain.threads import stream_for
from prahari_cases.service_layer.handlers import CaseHandlers
from prahari_cases.service_layer.threads import Threads, may_link
from prahari_events import lgd
from prahari_events.auth import Unit
from prahari_events.borders import load_pairs
from prahari_events.envelope import Envelope
from prahari_events.kafka import Topics
from prahari_events.policy import Area
from prahari_events.registry import Registry
from prahari_events.store import EventStore
from tests.cases_support import (
    BR_ROOM,
    BR_STATION,
    JH_ROOM,
    KAI_ROOM,
    SON_ROOM,
    Client,
    call,
    do,
)
from tests.factories import AUDITOR, OTHER_STATION, STATION, report_envelope

pytestmark = pytest.mark.integration

CHANDAULI, KAIMUR = Area(9, 135), Area(10, 200)
PAIR = next(p for p in load_pairs(lgd.load()) if p.includes(CHANDAULI) and p.includes(KAIMUR))
MESSAGES = f"/v1/threads/{PAIR.pair_id}/messages"
CHA_ROOM = Unit("UP-CHA-DCR", "district_control_room", "control_room", 9, 135)
JH_STATION = Unit("JH-GAR-FS-1", "flying_squad", "reporter", 20, 328)


async def post(client: Client, unit: Unit, body: dict[str, Any], path: str = MESSAGES,
               key: str | None = None) -> tuple[int, Any]:  # fmt: skip
    status, answer, _ = await call(client, "POST", path, unit, body, key=key)
    return status, answer


async def test_two_border_districts_talk_and_a_third_state_finds_nothing(
    cases: Client, store: EventStore, pool: asyncpg.Pool
) -> None:
    status, first = await post(
        cases,
        OTHER_STATION,
        {"text": "मुगलसराय से ट्रक BR01AB1234 कर्मनासा की ओर निकला", "mentions": [
            {"state": 10, "unit_id": "BR-KAI-CP-KARMNASA"}]},
    )  # fmt: skip
    assert status == 201, first
    assert first["by"]["unit_id"] == OTHER_STATION.unit_id
    assert first["mentions"] == [{"state": 10, "unit_id": "BR-KAI-CP-KARMNASA"}]
    status, reply = await post(cases, BR_STATION, {"text": "Truck stopped at Karmnasa, 1200 L"})
    assert status == 201, reply
    # Both sides, and both states' control rooms, read the whole exchange in order.
    for unit in (CHA_ROOM, KAI_ROOM, BR_ROOM, OTHER_STATION, AUDITOR):
        status, page, _ = await call(cases, "GET", MESSAGES, unit)
        assert status == 200, (unit.unit_id, page)
        assert [m["message_id"] for m in page["messages"]] == [
            first["message_id"],
            reply["message_id"],
        ]
        assert page["thread"]["kind"] == "border"
        assert page["thread"]["messages"] == 2
    # Jharkhand is in the agreement, not in this pair: the thread does not exist for it.
    for unit in (JH_ROOM, JH_STATION):
        status, body, _ = await call(cases, "GET", MESSAGES, unit)
        assert status == 404, body
        status, body = await post(cases, unit, {"text": "hello"})
        assert status == 404, body
        status, listed, _ = await call(cases, "GET", "/v1/threads", unit)
        assert str(PAIR.pair_id) not in [t["thread_id"] for t in listed["threads"]]
    status, listed, _ = await call(cases, "GET", "/v1/threads", KAI_ROOM)
    assert status == 200
    mine = {t["thread_id"]: t for t in listed["threads"]}
    assert mine[str(PAIR.pair_id)]["messages"] == 2
    assert listed["threads"][0]["thread_id"] == str(PAIR.pair_id)  # the active one first
    # Every word is on the record, with who said it and from where.
    events = await store.read_stream(pool, stream_for(PAIR.pair_id))
    assert [(e.type, e.actor.unit_id, e.actor.state) for e in events] == [
        ("thread.message_posted", OTHER_STATION.unit_id, 9),
        ("thread.message_posted", BR_STATION.unit_id, 10),
    ]
    assert events[0].payload["audience"] == [
        {"state": 9, "district": 135},
        {"state": 10, "district": 200},
    ]


async def test_messages_page_by_keyset_and_are_found_in_hindi_and_english(
    cases: Client,
) -> None:
    texts = ["ट्रक कर्मनासा पर रोका", "Naka at Karmnasa", "तस्करी की सूचना", "liquor truck", "ok"]
    for text in texts:
        status, _ = await post(cases, CHA_ROOM, {"text": text})
        assert status == 201
    seen: list[str] = []
    after = 0
    while True:
        status, page, _ = await call(cases, "GET", f"{MESSAGES}?limit=2&after={after}", KAI_ROOM)
        assert status == 200
        seen += [m["text"] for m in page["messages"]]
        if "next" not in page:
            break
        after = page["next"]
    assert seen == texts
    found = {
        "तस्कर": ["तस्करी की सूचना"],
        "karmnasa": ["Naka at Karmnasa"],
        "कर्मनासा": ["ट्रक कर्मनासा पर रोका"],
        "truck liquor": ["liquor truck"],
    }
    for q, expected in found.items():
        status, page, _ = await call(cases, "GET", f"{MESSAGES}?q={q}", KAI_ROOM)
        assert (status, [m["text"] for m in page["messages"]]) == (200, expected), q


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"text": ""}, 400, "text"),
        ({"text": "x", "mentions": [{"state": 20, "unit_id": "JH-SCR"}]}, 422, "mentions"),
        ({"text": "x", "mentions": [{"state": 10, "unit_id": "BR-NOBODY"}]}, 422, "mentions"),
        ({"text": "x", "colour": "red"}, 400, "colour"),
        ({"text": "   "}, 422, "text"),
    ],
)
async def test_a_wrong_message_names_its_field_and_posts_nothing(
    cases: Client, body: dict[str, Any], status: int, field: str
) -> None:
    got, answer = await post(cases, CHA_ROOM, body)
    assert (got, field in answer["error"]["fields"]) == (status, True), answer
    _, page, _ = await call(cases, "GET", MESSAGES, CHA_ROOM)
    assert page["messages"] == []


async def test_a_retried_post_is_one_message_and_auditors_only_read(cases: Client) -> None:
    body = {"text": "नाका 22:00 बजे से"}
    first = await post(cases, CHA_ROOM, body, key="naka-1")
    again = await post(cases, CHA_ROOM, body, key="naka-1")
    assert (first[0], again[0]) == (201, 200)
    assert first[1]["message_id"] == again[1]["message_id"]
    reused = await post(cases, CHA_ROOM, {"text": "another"}, key="naka-1")
    assert reused[0] == 422
    _, page, _ = await call(cases, "GET", MESSAGES, KAI_ROOM)
    assert len(page["messages"]) == 1
    status, answer = await post(cases, AUDITOR, {"text": "audit"})
    assert status == 403, answer


async def test_a_case_thread_follows_the_cases_owner_and_partners(
    cases: Client, deliver: Any, registry: Registry
) -> None:
    case_id = await deliver(report_envelope(registry))
    path = f"/v1/threads/{case_id}/messages"
    status, message = await post(cases, SON_ROOM, {"text": "Bihar se baat karein"})
    assert status == 404  # the default path is the border thread: Sonbhadra is not in it
    status, message = await post(cases, SON_ROOM, {"text": "बिहार से बात करें"}, path=path)
    assert status == 201, message
    # Bihar reads the case thread only once the case is shared with it.
    assert (await call(cases, "GET", path, BR_ROOM))[0] == 404
    await do(cases, case_id, "/shares", SON_ROOM, {"state": 10, "reason": "truck from Bihar"})
    status, page, _ = await call(cases, "GET", path, BR_ROOM)
    assert (status, page["thread"]["kind"], page["thread"]["case_id"]) == (200, "case", case_id)
    status, listed, _ = await call(cases, "GET", "/v1/threads", BR_ROOM)
    assert case_id in [t["case_id"] for t in listed["threads"]]
    # The station that filed the report reads the case, but is not one of its thread's.
    assert (await call(cases, "GET", path, OTHER_STATION))[0] == 404


async def test_search_across_threads_finds_only_the_units_own(cases: Client) -> None:
    status, posted = await post(cases, CHA_ROOM, {"text": "कर्मनासा नाका पर सफेद ट्रक"})
    assert status == 201, posted
    for unit, found in [(KAI_ROOM, 1), (AUDITOR, 1), (JH_ROOM, 0), (JH_STATION, 0)]:
        status, body, _ = await call(cases, "GET", "/v1/threads/search?q=कर्मनासा ट्रक", unit)
        assert (status, len(body["messages"])) == (200, found), unit.unit_id
    status, body, _ = await call(cases, "GET", "/v1/threads/search", KAI_ROOM)
    assert (status, "q" in body["error"]["fields"]) == (400, True)


async def test_a_message_reported_again_links_the_case_that_holds_its_report(
    cases: Client, pool: asyncpg.Pool, store: EventStore, registry: Registry, topics: Topics
) -> None:
    """A rumour seen in a border thread and reported from it joins the case the rumour
    already has: the message lists that case. Undo the attachment, and the report's own
    case takes its place."""
    places = lgd.load()
    threads = Threads(store, places, load_pairs(places))
    handlers = CaseHandlers(
        store, topics.case_events, SlaPolicy(), may_link=partial(may_link, threads=threads)
    )

    async def deliver(report: Envelope) -> str:
        async with pool.acquire() as conn, conn.transaction():
            await handlers.report_received(conn, report)
        return str(case_id_for(uuid.UUID(report.payload["report_id"])))

    sonbhadra_kaimur = next(
        p for p in load_pairs(places) if p.includes(Area(9, 184)) and p.includes(KAIMUR)
    )
    path = f"/v1/threads/{sonbhadra_kaimur.pair_id}/messages"
    status, message = await post(cases, STATION, {"text": "यह अफवाह फिर फैल रही है"}, path=path)
    assert status == 201, message
    source = {"thread_id": str(sonbhadra_kaimur.pair_id), "message_id": message["message_id"]}
    rumour = {"platform": "x", "post_url": "https://x.com/afwaah/status/7"}
    first = await deliver(report_envelope(registry, report_type="rumour", details=rumour))
    again = report_envelope(registry, report_type="rumour", details=rumour, source=source)
    await deliver(again)

    async def cases_of_message() -> list[str]:
        _, page, _ = await call(cases, "GET", path, STATION)
        found: list[str] = page["messages"][0]["cases"]
        return found

    assert await cases_of_message() == [first]
    status, case, _ = await call(cases, "GET", f"/v1/cases/{first}", SON_ROOM)
    assert case["linked_reports"][0]["source"] == source
    await do(cases, first, "/unlinking", SON_ROOM,
             {"report_id": again.payload["report_id"], "reason": "another post"})  # fmt: skip
    (unlinked,) = [e for e in await store.read_stream(pool, f"case-{first}")
                   if e.type == "case.report_unlinked"]  # fmt: skip
    async with pool.acquire() as conn, conn.transaction():
        await handlers.report_unlinked(conn, unlinked)
    own = str(case_id_for(uuid.UUID(again.payload["report_id"])))
    assert await cases_of_message() == [own]
    status, case, _ = await call(cases, "GET", f"/v1/cases/{own}", SON_ROOM)
    assert (status, case["source"]) == (200, source)

"""The case lifecycle over HTTP, in-process, on the real PostgreSQL and Kafka: every command,
every error code, concurrent writers, and who sees what across state borders."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer

from prahari_cases.adapters import read_model
from prahari_cases.domain.case import case_id_for, stream_for
from prahari_cases.entrypoints.http import create_app
from prahari_events.auth import Unit
from prahari_events.kafka import Topics
from prahari_events.registry import Registry
from prahari_events.store import EventStore
from prahari_events.telemetry import no_op_tracer
from tests.cases_support import (
    BR_ROOM,
    BR_STATION,
    JH_ROOM,
    KAI_ROOM,
    KAIMUR,
    OTHER_STATION,
    SON_ROOM,
    SQUAD,
    Client,
    call,
    cases_settings,
    do,
    etag_of,
)
from tests.factories import AUDITOR, BIHAR, SONBHADRA, STATE_ROOM, STATION, UP, report_envelope
from tests.support import bearer, read_topic

pytestmark = pytest.mark.integration


async def test_a_case_from_open_to_closed(
    cases: Client, open_case: Any, topics: Topics, registry: Registry
) -> None:
    case_id = await open_case(description="बिहार सीमा पर शराब तस्करी का ट्रक")
    case = await do(cases, case_id, "/assignment", SON_ROOM, {"unit_id": "UP-SON-FS-1"})
    assert case["status"] == "assigned"
    assert case["assignee"] == {
        "state": UP,
        "unit_id": "UP-SON-FS-1",
        "kind": "flying_squad",
        "name": "Flying Squad 1, Sonbhadra",
    }
    assert (await do(cases, case_id, "/acknowledgement", SQUAD))["status"] == "acknowledged"
    case = await do(
        cases,
        case_id,
        "/field-report",
        SQUAD,
        {"findings": "ट्रक रोका गया, 1200 लीटर शराब", "action_taken": "जब्त, FIR दर्ज"},
    )
    assert case["status"] == "reported"
    assert case["field_report"]["findings"] == "ट्रक रोका गया, 1200 लीटर शराब"
    seizure = {
        "category": "liquor",
        "quantity": 1200,
        "unit": "litres",
        "value_inr": 480000,
        "agency": "excise",
        "fir_number": "0123/2024",
    }
    status, case, _ = await call(cases, "POST", f"/v1/cases/{case_id}/seizures", SQUAD, seizure)
    assert status == 200
    assert case["seizures"][0]["value_inr"] == 480000
    case = await do(cases, case_id, "/escalation", SON_ROOM, {"reason": "गिरोह का संदेह"})
    assert case["level"] == "state"
    case = await do(
        cases, case_id, "/closure", SON_ROOM, {"disposition": "seizure_made", "summary": "जब्ती"}
    )
    assert case["status"] == "closed"
    case = await do(cases, case_id, "/reopening", SON_ROOM, {"reason": "court asked"})
    assert (case["status"], case["assignee"]) == ("open", None)

    status, timeline, _ = await call(cases, "GET", f"/v1/cases/{case_id}/timeline", AUDITOR)
    assert status == 200
    lines = [t["line"] for t in timeline["timeline"]]
    assert len(lines) == case["version"]
    assert "IST" in lines[0]
    assert "assigned the case to UP-SON-FS-1 (Flying Squad 1, Sonbhadra" in lines[1]
    assert (
        lines[1]
        .split(" IST: ")[1]
        .startswith("UP-SON-DCR (District Control Room, Sonbhadra, Uttar Pradesh) assigned")
    )
    assert "Rs 4,80,000" in lines[4]
    # Every event is on the cases topic, through the outbox, in order.
    messages = await read_topic(topics.case_events, at_least=case["version"])
    events = sorted(
        (registry.decode(m.value or b"") for m in messages), key=lambda e: e.stream_version
    )
    assert [e.type for e in events] == [
        "case.opened",
        "case.assigned",
        "case.acknowledged",
        "case.field_report_filed",
        "case.seizure_recorded",
        "case.escalated",
        "case.closed",
        "case.reopened",
    ]
    assert events[1].actor == SON_ROOM.actor()  # who did it, from where


async def test_the_error_codes(cases: Client, open_case: Any) -> None:
    case_id = await open_case()
    path = f"/v1/cases/{case_id}/assignment"
    body = {"unit_id": "UP-SON-FS-1"}
    # 428: a state change without If-Match.
    status, answer, _ = await call(cases, "POST", path, SON_ROOM, body)
    assert status == 428
    assert "If-Match" in answer["error"]["fields"]
    # 412: a stale If-Match, with the current version in the body.
    status, answer, _ = await call(cases, "POST", path, SON_ROOM, body, etag='"7"')
    assert status == 412
    assert answer["error"]["fields"]["If-Match"] == ["the case is at version 1"]
    # 400: a malformed If-Match, a bad body, an unknown unit, each named.
    status, answer, _ = await call(cases, "POST", path, SON_ROOM, body, etag="1")
    assert (status, list(answer["error"]["fields"])) == (400, ["If-Match"])
    status, answer, _ = await call(
        cases, "POST", path, SON_ROOM, {"unit": "x", "note": ""}, etag='"1"'
    )
    assert status == 400
    assert set(answer["error"]["fields"]) == {"unit", "unit_id", "note"}
    status, answer, _ = await call(
        cases, "POST", path, SON_ROOM, {"unit_id": "BR-KAI-FS-1"}, etag='"1"'
    )
    assert (status, list(answer["error"]["fields"])) == (422, ["unit_id"])
    status, answer, _ = await call(
        cases,
        "POST",
        f"/v1/cases/{case_id}/seizures",
        SON_ROOM,
        {"category": "liquor", "quantity": -1, "unit": "kg", "value_inr": "10", "agency": "x"},
    )
    assert status == 400
    assert set(answer["error"]["fields"]) == {"quantity", "value_inr", "agency"}
    # 409: an invalid transition, naming the current status and what is allowed.
    status, answer, _ = await call(
        cases, "POST", f"/v1/cases/{case_id}/acknowledgement", SON_ROOM, etag='"1"'
    )
    assert status in (403, 409)  # the room is not the assignee: 403 comes first
    status, answer, _ = await call(
        cases, "POST", f"/v1/cases/{case_id}/reopening", SON_ROOM, {"reason": "x"}, etag='"1"'
    )
    assert status == 409
    assert answer["error"]["fields"]["status"] == "open"
    assert "assign" in answer["error"]["fields"]["allowed_now"]
    # 403: the reporting station reads its case but may not assign it; an auditor neither.
    for unit in (STATION, AUDITOR):
        status, answer, _ = await call(cases, "POST", path, unit, body, etag='"1"')
        assert status == 403, unit
    # 404: a station that has nothing to do with the case, a case id that is no uuid.
    assert (await call(cases, "POST", path, OTHER_STATION, body, etag='"1"'))[0] == 404
    assert (await call(cases, "GET", f"/v1/cases/{case_id}", OTHER_STATION))[0] == 404
    assert (await call(cases, "GET", "/v1/cases/not-a-uuid", SON_ROOM))[0] == 404
    # 401 and 415.
    async with cases.post(path, json=body) as response:
        assert response.status == 401
    headers = {**bearer(SON_ROOM), "If-Match": '"1"', "Content-Type": "text/plain"}
    async with cases.post(path, data="unit_id=UP-SON-FS-1", headers=headers) as response:
        assert response.status == 415
    # Nothing above changed the case.
    assert await etag_of(cases, case_id) == '"1"'


async def test_an_idempotency_key_gives_the_first_answer_before_if_match(
    cases: Client, open_case: Any, store: EventStore, pool: asyncpg.Pool
) -> None:
    case_id = await open_case()
    path = f"/v1/cases/{case_id}/assignment"
    body = {"unit_id": "UP-SON-FS-1", "note": "जल्दी"}
    first = await call(cases, "POST", path, SON_ROOM, body, etag='"1"', key="assign-1")
    assert first[0] == 200
    # The same key and body: the original answer, although If-Match "1" is stale by now.
    again = await call(cases, "POST", path, SON_ROOM, body, etag='"1"', key="assign-1")
    assert (again[0], again[1]) == (200, first[1])
    assert again[2]["Idempotent-Replayed"] == "true"
    # The same key, another body or another command: refused.
    other = await call(
        cases, "POST", path, SON_ROOM, {"unit_id": "UP-SON-FS-1"}, etag='"2"', key="assign-1"
    )
    assert other[0] == 422
    escalate = await call(
        cases, "POST", f"/v1/cases/{case_id}/escalation", SON_ROOM, {"reason": "x"},
        etag='"2"', key="assign-1",
    )  # fmt: skip
    assert escalate[0] == 422
    events = await store.read_stream(pool, stream_for(uuid.UUID(case_id)))
    assert [e.type for e in events] == ["case.opened", "case.assigned"]


async def test_two_rooms_assigning_with_the_same_etag_one_wins(
    cases: Client, open_case: Any, store: EventStore, pool: asyncpg.Pool
) -> None:
    case_id = await open_case()
    path = f"/v1/cases/{case_id}/assignment"
    for _ in range(5):  # several rounds, so the race is really run
        etag = await etag_of(cases, case_id)
        answers = await asyncio.gather(
            call(cases, "POST", path, SON_ROOM, {"unit_id": "UP-SON-FS-1"}, etag=etag),
            call(cases, "POST", path, STATE_ROOM, {"unit_id": "UP-SON-SST-1"}, etag=etag),
        )
        assert sorted(a[0] for a in answers) == [200, 412]
    events = await store.read_stream(pool, stream_for(uuid.UUID(case_id)))
    assert [e.type for e in events].count("case.assigned") == 5
    assert [e.stream_version for e in events] == list(range(1, 7))


async def test_notes_and_seizures_need_no_if_match_and_never_conflict(
    cases: Client, open_case: Any, store: EventStore, pool: asyncpg.Pool
) -> None:
    case_id = await open_case()
    notes = [
        call(cases, "POST", f"/v1/cases/{case_id}/notes", SON_ROOM, {"text": f"नोट {n}"})
        for n in range(8)
    ]
    answers = await asyncio.gather(*notes)
    assert [a[0] for a in answers] == [200] * 8
    events = await store.read_stream(pool, stream_for(uuid.UUID(case_id)))
    assert len(events) == 9
    texts = sorted(e.payload["text"] for e in events[1:])
    assert texts == sorted(f"नोट {n}" for n in range(8))
    # With If-Match a note is checked like any other command.
    status, _, _ = await call(
        cases, "POST", f"/v1/cases/{case_id}/notes", SON_ROOM, {"text": "x"}, etag='"1"'
    )
    assert status == 412


async def test_across_state_borders(cases: Client, open_case: Any) -> None:
    shared = await open_case()
    unshared = await open_case()
    await do(cases, shared, "/shares", SON_ROOM, {"state": BIHAR, "reason": "truck from Bihar"})
    for unit, expected in ((BR_ROOM, 200), (KAI_ROOM, 200), (BR_STATION, 404), (JH_ROOM, 404)):
        assert (await call(cases, "GET", f"/v1/cases/{shared}", unit))[0] == expected, unit
    for unit in (BR_ROOM, JH_ROOM):
        assert (await call(cases, "GET", f"/v1/cases/{unshared}", unit))[0] == 404
    # A partner adds notes and records seizures, and nothing more.
    status, _, _ = await call(cases, "POST", f"/v1/cases/{shared}/notes", BR_ROOM, {"text": "ok"})
    assert status == 200
    status, _, _ = await call(
        cases, "POST", f"/v1/cases/{shared}/escalation", BR_ROOM, {"reason": "x"},
        etag=await etag_of(cases, shared),
    )  # fmt: skip
    assert status == 403
    status, listed, _ = await call(cases, "GET", "/v1/cases?shared_with_me=true", BR_ROOM)
    assert [c["case_id"] for c in listed["cases"]] == [shared]

    # Transfer to Kaimur: Bihar accepts and closes; UP still reads, and changes nothing.
    await do(
        cases, shared, "/transfer", SON_ROOM, {"state": BIHAR, "district": KAIMUR, "reason": "y"}
    )
    status, _, _ = await call(
        cases, "POST", f"/v1/cases/{shared}/transfer/acceptance", SON_ROOM,
        etag=await etag_of(cases, shared),
    )  # fmt: skip
    assert status == 403  # only the receiving control room answers a transfer
    case = await do(cases, shared, "/transfer/acceptance", KAI_ROOM)
    assert (case["state"], case["district"]) == (BIHAR, KAIMUR)
    assert case["former_owners"] == [{"state": UP, "district": SONBHADRA}]
    case = await do(
        cases, shared, "/closure", BR_ROOM, {"disposition": "fir_registered", "summary": "FIR"}
    )
    assert case["status"] == "closed"
    assert (await call(cases, "GET", f"/v1/cases/{shared}", SON_ROOM))[0] == 200
    status, _, _ = await call(
        cases, "POST", f"/v1/cases/{shared}/reopening", SON_ROOM, {"reason": "x"},
        etag=await etag_of(cases, shared, BR_ROOM),
    )  # fmt: skip
    assert status == 403

    # Revoking a share takes the partner's access away.
    await do(cases, unshared, "/shares", SON_ROOM, {"state": BIHAR, "reason": "r"})
    assert (await call(cases, "GET", f"/v1/cases/{unshared}", BR_ROOM))[0] == 200
    await do(cases, unshared, f"/shares/{BIHAR}", SON_ROOM, method="DELETE")
    assert (await call(cases, "GET", f"/v1/cases/{unshared}", BR_ROOM))[0] == 404
    status, listed, _ = await call(cases, "GET", "/v1/cases", BR_ROOM)
    assert [c["case_id"] for c in listed["cases"]] == [shared]  # the one it now owns


async def test_a_transfer_can_be_refused_or_withdrawn(cases: Client, open_case: Any) -> None:
    case_id = await open_case()
    to_kaimur = {"state": BIHAR, "district": KAIMUR, "reason": "r"}
    await do(cases, case_id, "/transfer", SON_ROOM, to_kaimur)
    assert (await call(cases, "GET", f"/v1/cases/{case_id}", KAI_ROOM))[0] == 200  # to decide
    case = await do(cases, case_id, "/transfer/refusal", KAI_ROOM, {"reason": "not ours"})
    assert case["transfer"] is None
    assert (await call(cases, "GET", f"/v1/cases/{case_id}", KAI_ROOM))[0] == 404
    await do(cases, case_id, "/transfer", SON_ROOM, to_kaimur)
    case = await do(cases, case_id, "/transfer/withdrawal", SON_ROOM)
    assert (case["transfer"], case["state"]) == (None, UP)


async def test_lists_filter_search_and_page(cases: Client, open_case: Any) -> None:
    texts = [
        "अवैध शराब की तस्करी",
        "ट्रक में गांजा",
        "Truck carrying illicit liquor",
        "सोशल मीडिया पर अफवाह",
        "नकदी ले जाता ट्रक",
    ]
    ids = [await open_case(description=t) for t in texts]
    await do(cases, ids[1], "/assignment", SON_ROOM, {"unit_id": "UP-SON-FS-1"})

    async def listed(query: str, unit: Unit = SON_ROOM) -> list[str]:
        status, body, _ = await call(cases, "GET", f"/v1/cases?{query}", unit)
        assert status == 200, body
        return [c["case_id"] for c in body["cases"]]

    assert set(await listed("q=तस्करी")) == {ids[0]}
    assert set(await listed("q=ट्रक")) == {ids[1], ids[4]}
    assert set(await listed("q=शराब")) == {ids[0]}
    assert set(await listed("q=truck")) == {ids[2]}
    assert set(await listed("q=TRUCK%20liq")) == {ids[2]}  # case-folded; prefixes match
    assert set(await listed("status=assigned")) == {ids[1]}
    assert set(await listed("assigned_to=UP-SON-FS-1")) == {ids[1]}
    assert set(await listed("report_type=smuggling_tip")) == set(ids)
    assert await listed("report_type=rumour") == []
    assert await listed("opened_from=2000-01-01T00:00:00Z&opened_to=2000-01-02T00:00:00Z") == []
    assert set(await listed("", SQUAD)) == {ids[1]}  # assigned to it
    assert set(await listed("", STATION)) == set(ids)  # filed them
    assert await listed("", OTHER_STATION) == []
    # Keyset pages: newest first, a URL-safe cursor, every case once.
    seen: list[str] = []
    query = "limit=2"
    while True:
        status, body, _ = await call(cases, "GET", f"/v1/cases?{query}", SON_ROOM)
        assert status == 200
        seen += [c["case_id"] for c in body["cases"]]
        if "next" not in body:
            break
        assert all(ch.isalnum() or ch in "-_" for ch in body["next"])
        query = f"limit=2&cursor={body['next']}"
    assert seen == list(reversed(ids))
    status, body, _ = await call(cases, "GET", "/v1/cases?cursor=bm90LWEtY3Vyc29y", SON_ROOM)
    assert (status, list(body["error"]["fields"])) == (422, ["cursor"])
    status, body, _ = await call(cases, "GET", "/v1/cases?status=lost&limit=0", SON_ROOM)
    assert (status, set(body["error"]["fields"])) == (400, {"status", "limit"})


async def test_a_case_as_it_stood(cases: Client, open_case: Any) -> None:
    case_id = await open_case()
    opened = (await call(cases, "GET", f"/v1/cases/{case_id}", SON_ROOM))[1]
    await do(cases, case_id, "/assignment", SON_ROOM, {"unit_id": "UP-SON-FS-1"})
    then = opened["updated_at"]
    status, case, headers = await call(
        cases, "GET", f"/v1/cases/{case_id}?as_of={then.replace('+', '%2B')}", SON_ROOM
    )
    assert (status, case["status"], case["version"], headers["ETag"]) == (200, "open", 1, '"1"')
    status, _, _ = await call(
        cases, "GET", f"/v1/cases/{case_id}?as_of=2000-01-01T00:00:00Z", SON_ROOM
    )
    assert status == 404


async def test_twin_requests_with_one_key_have_one_effect(
    cases: Client, open_case: Any, store: EventStore, pool: asyncpg.Pool
) -> None:
    case_id = await open_case()
    path = f"/v1/cases/{case_id}/seizures"
    body = {
        "category": "cash",
        "quantity": 75000,
        "unit": "inr",
        "value_inr": 75000,
        "agency": "gst",
    }
    answers = await asyncio.gather(
        *(call(cases, "POST", path, SON_ROOM, body, key="seizure-77") for _ in range(6))
    )
    assert [a[0] for a in answers] == [200] * 6
    assert len({a[1]["version"] for a in answers}) == 1
    events = await store.read_stream(pool, stream_for(uuid.UUID(case_id)))
    assert [e.type for e in events] == ["case.opened", "case.seizure_recorded"]


async def test_rows_of_an_older_read_model_are_rebuilt_from_events(
    topics: Topics, schema: str, pool: asyncpg.Pool, open_case: Any
) -> None:
    case_id = await open_case()
    # What a row written before the lifecycle looked like: the old body, no access keys.
    await pool.execute(
        "UPDATE case_view SET model = 1, readers = '{}', body = body - 'level' - 'notes'"
        " WHERE case_id = $1",
        uuid.UUID(case_id),
    )
    app = create_app(cases_settings(topics, schema), no_op_tracer())
    async with TestClient(TestServer(app)) as restarted:
        status, case, _ = await call(restarted, "GET", f"/v1/cases/{case_id}", SON_ROOM)
        assert (status, case["level"], case["notes"]) == (200, "district", [])
        status, listed, _ = await call(restarted, "GET", "/v1/cases", SON_ROOM)
        assert [c["case_id"] for c in listed["cases"]] == [case_id]
    assert (
        await pool.fetchval("SELECT model FROM case_view WHERE case_id = $1", uuid.UUID(case_id))
        == read_model.MODEL
    )


async def test_a_report_delivered_twice_or_twice_at_once_opens_one_case(
    deliver: Any, pool: asyncpg.Pool, store: EventStore, registry: Registry
) -> None:
    once, at_once = report_envelope(registry), report_envelope(registry)
    await deliver(once)
    await deliver(once)
    await asyncio.gather(deliver(at_once), deliver(at_once), deliver(at_once))
    for report in (once, at_once):
        case_id = case_id_for(uuid.UUID(report.payload["report_id"]))
        events = await store.read_stream(pool, stream_for(case_id))
        assert [e.type for e in events] == ["case.opened"]

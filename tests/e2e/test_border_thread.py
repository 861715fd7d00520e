"""Issue 14, the whole system: Chandauli (UP) and Kaimur (Bihar) coordinate in their border
pair's thread instead of a WhatsApp group. The three services run as processes on the real
Kafka and PostgreSQL, with a real SMTP server and an HTTP SMS gateway in the test. A
mention reaches the mentioned unit as one SMS; a Jharkhand unit finds no such thread; a
message turned into a report at intake opens a case that links back to it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from prahari_events import lgd
from prahari_events.auth import Unit
from prahari_events.borders import load_pairs
from prahari_events.kafka import Topics
from prahari_events.policy import Area
from tests.factories import OTHER_STATION
from tests.support import eventually
from tests.system_support import System, call, running_system

pytestmark = [pytest.mark.integration, pytest.mark.e2e, pytest.mark.timeout(180)]

PAIR = next(
    p for p in load_pairs(lgd.load()) if p.includes(Area(9, 135)) and p.includes(Area(10, 200))
)
CHECK_POST = Unit("BR-KAI-CP-KARMNASA", "check_post", "reporter", 10, 200)
JH_ROOM = Unit("JH-SCR", "state_control_room", "control_room", 20, None)
CHECK_POST_PHONE, CHA_DCR_PHONE = "+919400000200", "+919000000135"


def unit(unit_id: str, kind: str, state: int, district: int | None, phone: str) -> dict[str, Any]:
    return {"unit_id": unit_id, "name": unit_id, "kind": kind, "state": state,
            "district": district, "phone": phone, "email": None, "language": "hi"}  # fmt: skip


UNITS = [
    unit("UP-CHA-DCR", "district_control_room", 9, 135, CHA_DCR_PHONE),
    unit("UP-CHA-PS-MUGHALSARAI", "police_station", 9, 135, "+919300000135"),
    unit("BR-KAI-DCR", "district_control_room", 10, 200, "+919000000200"),
    unit("BR-KAI-CP-KARMNASA", "check_post", 10, 200, CHECK_POST_PHONE),
    unit("JH-SCR", "state_control_room", 20, None, "+919001000020"),
]


@pytest.fixture
async def system(topics: Topics, test_id: str, tmp_path: Path) -> AsyncIterator[System]:
    async with running_system(topics, test_id, tmp_path, units=UNITS) as running:
        yield running


def sms_to(system: System, phone: str) -> list[str]:
    return [r["body"]["text"] for r in system.sms.delivered() if r["body"]["to"] == phone]


def sent_to(system: System, phone: str) -> Callable[[], Awaitable[list[str] | None]]:
    async def probe() -> list[str] | None:
        return sms_to(system, phone) or None

    return probe


async def test_two_border_districts_coordinate_in_their_thread(system: System) -> None:
    cases, intake = system.urls["cases"], system.urls["intake"]
    messages = f"{cases}/v1/threads/{PAIR.pair_id}/messages"
    async with aiohttp.ClientSession() as http:
        status, tip = await call(
            http, "POST", messages, OTHER_STATION,
            json={"text": "सफेद ट्रक BR01AB1234 में अवैध शराब, कर्मनासा की ओर",
                  "mentions": [{"state": 10, "unit_id": CHECK_POST.unit_id}]},
        )  # fmt: skip
        assert status == 201, tip
        # The mentioned check post is told at once, by one SMS.
        await eventually(sent_to(system, CHECK_POST_PHONE), within=30)
        status, reply = await call(
            http, "POST", messages, CHECK_POST, json={"text": "Naka laga diya, truck roka"}
        )
        assert status == 201, reply
        # Chandauli's control room hears of the reply (the first of its window): by then
        # notify has handled the first message too, on the thread's one partition.
        await eventually(sent_to(system, CHA_DCR_PHONE), within=30)
        assert len(sms_to(system, CHECK_POST_PHONE)) == 1
        # Jharkhand is not part of this pair: the thread does not exist for it.
        status, body = await call(http, "GET", messages, JH_ROOM)
        assert status == 404, body
        # The tip becomes a report at intake, naming the message it came from.
        report = {
            "type": "smuggling_tip",
            "description": "सफेद ट्रक BR01AB1234 में अवैध शराब (from the border thread)",
            "state": 9,
            "district": 135,
            "occurred_at": "2024-04-11T18:00:00+05:30",
            "smuggling_tip": {"commodity": "liquor", "vehicles": ["BR01AB1234"]},
            "source": {"thread_id": str(PAIR.pair_id), "message_id": tip["message_id"]},
        }
        status, accepted = await call(http, "POST", f"{intake}/v1/reports", OTHER_STATION,
                                      json=report)  # fmt: skip
        assert status == 202, accepted

        async def linked() -> Any:
            status, page = await call(http, "GET", messages, OTHER_STATION)
            assert status == 200
            return page["messages"][0]["cases"] or None

        (case_id,) = await eventually(linked, within=30)
        status, case = await call(http, "GET", f"{cases}/v1/cases/{case_id}", OTHER_STATION)
        assert status == 200, case
        assert case["report_id"] == accepted["report_id"]
        assert case["source"] == {"thread_id": str(PAIR.pair_id), "message_id": tip["message_id"]}

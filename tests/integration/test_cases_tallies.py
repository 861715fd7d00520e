"""Seizure tallies on the real PostgreSQL and Kafka: each seizure counted once, however many
agencies record it and whether it was reported, recorded on its case, or both; the totals
equal a hand count, as JSON and as CSV, and a rebuild from the topics gives the same."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import pytest

from prahari_cases.domain.case import case_id_for
from prahari_cases.service_layer import tallies
from prahari_events.envelope import Envelope
from prahari_events.kafka import Topics
from prahari_events.registry import Registry
from tests.cases_support import SON_ROOM, Client, call
from tests.factories import AUDITOR, CHANDAULI, SONBHADRA, STATE_ROOM, STATION, report_envelope
from tests.support import bearer, eventually, publish, read_topic

pytestmark = pytest.mark.integration

DAY = "2024-04-11"


def seizure_report(
    registry: Registry, details: dict[str, Any], district: int = SONBHADRA
) -> Envelope:
    return report_envelope(
        registry,
        STATE_ROOM,
        report_type="seizure",
        description="नाके पर जब्ती",
        district=district,
        occurred_at=f"{DAY}T20:10:00+05:30",
        details=details,
    )


LIQUOR = {
    "category": "liquor",
    "quantity": 1200,
    "unit": "litres",
    "value_inr": 480000,
    "agency": "excise",
    "fir_number": "0123/2024",
    "police_station": "Robertsganj",
}
CASH = {"category": "cash", "quantity": 75000, "unit": "inr", "value_inr": 75000, "agency": "gst"}
DRUGS = {"category": "drugs", "quantity": 2.5, "unit": "kg", "value_inr": 1500000, "agency": "ncb"}


async def test_each_seizure_is_counted_once_and_the_totals_match_a_hand_count(
    cases: Client, open_case: Any, pool: asyncpg.Pool, registry: Registry, topics: Topics
) -> None:
    reports = [
        seizure_report(registry, LIQUOR),
        seizure_report(registry, CASH),
        seizure_report(registry, DRUGS, CHANDAULI),
    ]
    # Reports arrive as intake publishes them (the cases consumer reads the topic).
    await publish(topics.reports, registry, reports)
    liquor_case, cash_case = (
        str(case_id_for(uuid.UUID(r.payload["report_id"]))) for r in reports[:2]
    )

    async def opened(case_id: str) -> Any:
        status, _, _ = await call(cases, "GET", f"/v1/cases/{case_id}", SON_ROOM)
        return True if status == 200 else None

    for case_id in (liquor_case, cash_case):
        await eventually(lambda case_id=case_id: opened(case_id))  # type: ignore[misc]

    async def record(case_id: str, seizure: dict[str, Any]) -> int:
        path = f"/v1/cases/{case_id}/seizures"
        status, _, _ = await call(cases, "POST", path, SON_ROOM, seizure)
        return status

    # The police record the liquor seizure on its case: same FIR, station and category.
    police = {**LIQUOR, "agency": "state_police", "police_station": " robertsganj "}
    assert await record(liquor_case, police) == 200
    # GST records the cash seizure, naming the report it is.
    gst = {**CASH, "same_as": reports[1].payload["report_id"]}
    assert await record(cash_case, gst) == 200
    # A second liquor seizure under another FIR is another seizure.
    other = {**LIQUOR, "fir_number": "0124/2024", "quantity": 300, "value_inr": 120000}
    assert await record(liquor_case, other) == 200

    async def counted() -> Any:
        found = await pool.fetchval("SELECT count(*) FROM seizure_items")
        return True if found == 6 else None

    await eventually(counted)
    status, body, _ = await call(cases, "GET", "/v1/stats/seizures?group_by=category", AUDITOR)
    assert status == 200
    by_category = {row["category"]: row for row in body["rows"]}
    # By hand: liquor 1200 + 300 litres in two seizures, cash once, drugs once.
    assert by_category["liquor"]["seizures"] == 2
    assert by_category["liquor"]["quantity"] == {"litres": 1500.0}
    assert by_category["liquor"]["value_inr"] == 600000
    assert by_category["liquor"]["agencies"] == ["excise", "state_police"]
    assert (by_category["cash"]["seizures"], by_category["cash"]["agencies"]) == (1, ["gst"])
    assert by_category["drugs"]["quantity"] == {"kg": 2.5}
    total = sum(row["value_inr"] for row in body["rows"])
    assert total == 480000 + 120000 + 75000 + 1500000

    # A district's control room sees its district; the state room its state; by district.
    status, mine, _ = await call(cases, "GET", "/v1/stats/seizures?group_by=district", SON_ROOM)
    assert [(r["district"], r["seizures"]) for r in mine["rows"]] == [(SONBHADRA, 3)]
    status, state, _ = await call(
        cases, "GET", f"/v1/stats/seizures?group_by=district,day&from={DAY}&to={DAY}", STATE_ROOM
    )
    # That day: the three reports (the case records were made today, another day).
    assert [(r["district"], r["day"], r["seizures"]) for r in state["rows"]] == [
        (CHANDAULI, DAY, 1),
        (SONBHADRA, DAY, 2),
    ]
    assert (await call(cases, "GET", "/v1/stats/seizures?state=10", STATION))[0] == 403
    assert (await call(cases, "GET", "/v1/stats/seizures?group_by=colour", SON_ROOM))[0] == 400

    # CSV, with a byte-order mark so spreadsheets read UTF-8.
    headers = {**bearer(AUDITOR), "Accept": "text/csv"}
    async with cases.get("/v1/stats/seizures?group_by=category", headers=headers) as response:
        assert response.status == 200
        assert response.content_type == "text/csv"
        raw = await response.read()
    assert raw.startswith("\ufeff".encode())
    lines = raw.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("category,seizures,value_inr")
    assert any(line.startswith("liquor,2,600000") for line in lines)

    # Rebuilt from the topics, read from the beginning: the same numbers.
    messages = [
        *await read_topic(topics.reports, at_least=3),
        *await read_topic(topics.case_events, at_least=1),
    ]
    await tallies.rebuild(pool, [registry.decode(m.value or b"") for m in messages])
    status, again, _ = await call(cases, "GET", "/v1/stats/seizures?group_by=category", AUDITOR)
    assert again["rows"] == body["rows"]

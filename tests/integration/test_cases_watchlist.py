"""Watchlists on the real PostgreSQL and Kafka: who reads an entry, every change an event,
and hits both ways: a new report naming a listed identifier, and an entry added for what an
open case already names."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import pytest

from prahari_cases.domain.case import stream_for
from prahari_events.registry import Registry
from prahari_events.store import EventStore
from tests.cases_support import BR_ROOM, SON_ROOM, Client, call
from tests.factories import AUDITOR, STATION, report_envelope
from tests.support import bearer, eventually

pytestmark = pytest.mark.integration

ENTRY = {
    "kind": "vehicle",
    "value": "br 01-ab 1234",
    "reason": "अंतरराज्यीय शराब तस्कर गिरोह का ट्रक",
    "expires_at": "2099-06-04T23:59:00+05:30",
}


async def test_an_entry_is_kept_by_its_state_and_every_change_is_an_event(
    cases: Client, store: EventStore, pool: asyncpg.Pool
) -> None:
    headers = {**bearer(SON_ROOM), "Idempotency-Key": "watch-1"}
    async with cases.post("/v1/watchlist", json=ENTRY, headers=headers) as response:
        assert response.status == 201
        entry = await response.json()
    assert (entry["kind"], entry["value"]) == ("vehicle", "BR01AB1234")
    assert entry["owner"] == {"state": 9, "unit_id": "UP-SON-DCR"}
    async with cases.post("/v1/watchlist", json=ENTRY, headers=headers) as again:
        assert (again.status, (await again.json())["entry_id"]) == (200, entry["entry_id"])
    other = {**ENTRY, "reason": "another"}
    async with cases.post("/v1/watchlist", json=other, headers=headers) as reused:
        assert reused.status == 422
    path = f"/v1/watchlist/{entry['entry_id']}"
    assert (await call(cases, "GET", path, BR_ROOM))[0] == 404  # another state's
    assert (await call(cases, "GET", path, AUDITOR))[0] == 200
    assert (await call(cases, "POST", "/v1/watchlist", STATION, ENTRY))[0] == 403
    status, listed, _ = await call(cases, "GET", "/v1/watchlist", SON_ROOM)
    assert [e["entry_id"] for e in listed["entries"]] == [entry["entry_id"]]
    assert (await call(cases, "GET", "/v1/watchlist", BR_ROOM))[1]["entries"] == []
    # Changes need the entry's ETag.
    assert (await call(cases, "PATCH", path, SON_ROOM, {"reason": "x"}))[0] == 428
    status, changed, _ = await call(
        cases, "PATCH", path, SON_ROOM, {"reason": "नया कारण"}, etag='"1"'
    )
    assert (status, changed["reason"], changed["version"]) == (200, "नया कारण", 2)
    status, removed, _ = await call(cases, "DELETE", path, SON_ROOM, etag='"2"')
    assert (status, removed["removed"]) == (200, True)
    assert (await call(cases, "GET", "/v1/watchlist", SON_ROOM))[1]["entries"] == []
    events = await store.read_stream(pool, f"watchlist-{entry['entry_id']}")
    assert [e.type for e in events] == [
        "watchlist.entry_added",
        "watchlist.entry_changed",
        "watchlist.entry_removed",
    ]
    assert events[0].actor == SON_ROOM.actor()


async def test_a_report_naming_a_listed_vehicle_hits_and_so_does_a_new_entry(
    cases: Client, deliver: Any, registry: Registry, store: EventStore, pool: asyncpg.Pool
) -> None:
    status, entry, _ = await call(cases, "POST", "/v1/watchlist", SON_ROOM, ENTRY)
    assert status == 201
    seen = await deliver(report_envelope(registry, description="कर्मनासा पुल पर ट्रक BR01AB1234 दिखा"))
    status, case, _ = await call(cases, "GET", f"/v1/cases/{seen}", SON_ROOM)
    assert case["watchlist_hits"] == [
        {
            "entry_id": entry["entry_id"],
            "owner": {"state": 9, "unit_id": "UP-SON-DCR"},
            "identifier": {"kind": "vehicle", "value": "BR01AB1234"},
        }
    ]
    assert ENTRY["reason"] not in str(case)  # the reason stays with the watchlist
    # An open case names a phone; the phone is listed afterwards: the case is flagged.
    earlier = await deliver(report_envelope(registry, description="संदिग्ध ने 98765 43210 से फोन किया"))
    phone = {**ENTRY, "kind": "phone", "value": "+91 98765 43210"}
    status, listed, _ = await call(cases, "POST", "/v1/watchlist", SON_ROOM, phone)
    assert status == 201

    async def flagged() -> Any:
        events = await store.read_stream(pool, stream_for(uuid.UUID(earlier)))
        hits = [e for e in events if e.type == "case.watchlist_hit"]
        return hits or None

    [hit] = await eventually(flagged)
    assert hit.payload["entry_id"] == listed["entry_id"]
    assert hit.actor.unit_id == "service:cases"

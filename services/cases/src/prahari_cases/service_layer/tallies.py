"""Feeds the seizure tallies from the events that record seizures: seizure reports (from
intake's topic) and case.seizure_recorded (from cases' own), each in the consumer's
transaction, so a redelivery counts nothing twice."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

import asyncpg

from prahari_cases.adapters import tallies
from prahari_cases.domain.tallies import SeizureItem, ist_day
from prahari_events.catalogue import CASE_SEIZURE_RECORDED, REPORT_RECEIVED
from prahari_events.db import Conn
from prahari_events.envelope import Envelope


async def record_report(conn: Conn, report: Envelope) -> None:
    p = report.payload
    if p["report_type"] != "seizure":
        return
    d = p["details"]
    when = datetime.fromisoformat(p["occurred_at"]) if p["occurred_at"] else report.recorded_at
    await tallies.record(
        conn,
        SeizureItem(
            item_id=uuid.UUID(p["report_id"]),
            same_as=None,
            state=p["state"],
            district=p["district"],
            police_station=d.get("police_station"),
            fir_number=d.get("fir_number"),
            category=d["category"],
            unit=d["unit"],
            quantity=float(d["quantity"]),
            value_inr=d["value_inr"],
            agency=d["agency"],
            day=ist_day(when),
            source="report",
        ),
    )


async def record_case_seizure(conn: Conn, event: Envelope) -> None:
    p = event.payload
    place = event.jurisdiction
    assert place.district is not None  # a case's events always name its district
    await tallies.record(
        conn,
        SeizureItem(
            item_id=uuid.UUID(p["seizure_id"]),
            same_as=uuid.UUID(p["same_as"]) if p["same_as"] else None,
            state=place.state,
            district=place.district,
            police_station=p["police_station"],
            fir_number=p["fir_number"],
            category=p["category"],
            unit=p["unit"],
            quantity=float(p["quantity"]),
            value_inr=p["value_inr"],
            agency=p["agency"],
            day=ist_day(event.recorded_at),
            source="case",
        ),
    )


async def rebuild(pool: asyncpg.Pool, events: Iterable[Envelope]) -> None:
    """Forget the tallies and count again from these events (the reports topic and cases'
    topic, read from the beginning): the same events give the same numbers."""
    async with pool.acquire() as conn, conn.transaction():
        await tallies.forget(conn)
        for event in events:
            if event.type == REPORT_RECEIVED:
                await record_report(conn, event)
            elif event.type == CASE_SEIZURE_RECORDED:
                await record_case_seizure(conn, event)

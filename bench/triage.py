"""Triage and tally benchmarks, on the same PostgreSQL, in the same run.

1. Triage cost per report: reports/s through cases' report handler (the work its consumer
   does for each report.received, each in its own transaction: the report-to-case row, the
   case and its outbox row, the read model, the tally) with triage, against the same handler
   with triage switched off (no identifiers: no locks, no candidate query, no identifier
   rows, no watchlist lookup). 16 concurrent writers; each report names a vehicle and a phone,
   a tenth of them a vehicle another report named (so some link). Goal: at least 80%.
2. The seizure tally for one state and one month, grouped by category, district and day,
   over 100,000 seizures in ten states and a year: median of 20 queries. Goal: under 50 ms.

    ./dev bench      (or: .venv/bin/python bench/triage.py)
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import time
import uuid
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

import asyncpg

from prahari_cases.adapters import tallies
from prahari_cases.domain.identifiers import Identifier
from prahari_cases.domain.sla import SlaPolicy
from prahari_cases.service_layer.handlers import CaseHandlers
from prahari_events.auth import Unit
from prahari_events.catalogue import REPORT_RECEIVED, build_registry
from prahari_events.db import (
    create_pool,
    drop_schema,
    event_store_migrations,
    migrate,
    package_migrations,
)
from prahari_events.envelope import Draft, Envelope, Jurisdiction
from prahari_events.store import EventStore

URL = os.environ.get("DATABASE_URL", "postgresql://prahari:prahari@127.0.0.1:54329/prahari")
WRITERS = 16
SECONDS = 6.0
ROUNDS = 3
SEIZURES = 100_000
REGISTRY = build_registry()
STATION = Unit("UP-SON-PS-ROBERTSGANJ", "police_station", "reporter", 9, 184)


class WithoutTriage(CaseHandlers):
    def identifiers_of(self, report: Mapping[str, Any]) -> list[Identifier]:
        return []


def report(n: int) -> Envelope:
    report_id = uuid.uuid4()
    plate = f"BR{n % 90 + 10}AB{random.randrange(10_000):04d}"
    if n % 10 == 0:
        plate = "UP64AB1234"  # seen again and again: these reports link
    return REGISTRY.stamp(
        Draft(
            type=REPORT_RECEIVED,
            payload={
                "report_id": str(report_id),
                "report_type": "smuggling_tip",
                "description": f"ट्रक {plate} में अवैध शराब, चालक का फोन 98{n % 10**8:08d}",
                "state": 9,
                "district": 184,
                "occurred_at": None,
                "details": {"commodity": "liquor", "vehicles": [plate]},
                "source": None,
            },
            actor=STATION.actor(),
            jurisdiction=Jurisdiction(9, 184),
            correlation_id=report_id,
        ),
        stream_id=f"report-{report_id}",
        stream_version=1,
        recorded_at=datetime.now(UTC),
        trace={},
    )


COUNTER = iter(range(10**9))  # one sequence for the whole run: phones never repeat


async def reports_per_s(pool: asyncpg.Pool, handlers: CaseHandlers) -> float:
    done = 0
    deadline = time.perf_counter() + SECONDS
    counter = COUNTER

    async def writer() -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            envelope = report(next(counter))
            async with pool.acquire() as conn, conn.transaction():
                await handlers(conn, envelope)
            done += 1

    started = time.perf_counter()
    await asyncio.gather(*(writer() for _ in range(WRITERS)))
    return done / (time.perf_counter() - started)


async def tally_query_ms(pool: asyncpg.Pool) -> float:
    # 100,000 seizures over ten states, their districts and a year, written as the
    # projection writes them (one row per seizure).
    await pool.execute(
        "INSERT INTO seizures (seizure_id, state, district, day, category, unit, quantity,"
        " value_inr, agencies)"
        " SELECT gen_random_uuid(), (ARRAY[9,10,20,22,6,23,2,5,8,7])[1 + n % 10],"
        " 100 + (n / 10) % 70, date '2024-01-01' + (n % 366),"
        " (ARRAY['cash','liquor','drugs','precious_metals','freebies','arms','other'])[1 + n % 7],"
        " 'count', 1 + n % 50, 1000 * (n % 500), ARRAY['state_police']"
        " FROM generate_series(1, $1) AS n",
        SEIZURES,
    )
    await pool.execute("ANALYZE seizures")
    query = tallies.TallyQuery(
        group_by=["category", "district", "day"],
        state=9,
        day_from=date(2024, 4, 1),
        day_to=date(2024, 4, 30),
    )
    timings = []
    for _ in range(20):
        started = time.perf_counter()
        rows = await tallies.totals(pool, query)
        timings.append((time.perf_counter() - started) * 1000)
    assert rows, "the month has seizures"
    return statistics.median(timings)


async def main() -> None:
    schema = f"bench_triage_{uuid.uuid4().hex[:8]}"
    pool = await create_pool(URL, schema, application="bench", max_size=WRITERS + 2)
    store = EventStore(REGISTRY)
    try:
        await migrate(
            pool, schema, event_store_migrations() + package_migrations("prahari_cases", "cases")
        )
        with_triage = CaseHandlers(store, "bench.cases", SlaPolicy())
        without = WithoutTriage(store, "bench.cases", SlaPolicy())
        await reports_per_s(pool, with_triage)  # warm up
        results: dict[str, list[float]] = {"with": [], "without": []}
        for _ in range(ROUNDS):  # alternate, so neither side always runs on a warmer box
            results["without"].append(await reports_per_s(pool, without))
            results["with"].append(await reports_per_s(pool, with_triage))
        linked = await pool.fetchval("SELECT count(*) FROM events WHERE type = 'case.linked'")
        tally_ms = await tally_query_ms(pool)
    finally:
        await drop_schema(pool, schema)
        await pool.close()
    with_rate = statistics.median(results["with"])
    without_rate = statistics.median(results["without"])
    rounds = {k: [round(v) for v in vs] for k, vs in results.items()}
    print(f"reports/s with triage {with_rate:.0f}, without {without_rate:.0f}: {rounds}")
    print(f"case.linked events written: {linked}; tally query (one state-month): {tally_ms:.1f} ms")
    print()
    figures = {
        "triage_reports_per_s": with_rate,
        "no_triage_reports_per_s": without_rate,
        "triage_ratio": with_rate / without_rate,
        "tally_state_month_ms_100k": tally_ms,
    }
    for key, value in figures.items():
        print(f"{key}={value:.2f}")


if __name__ == "__main__":
    asyncio.run(main())

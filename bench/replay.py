"""Rebuilding the case read model from 1,000,000 events, against reading them raw.

The history: real case streams (a report opens a case through cases' own handler, then
assignment, acknowledgement, notes, a field report, a seizure, an escalation and a closure
through the domain), cloned to BENCH_EVENTS events with fresh ids and their hash chains
recomputed, and loaded with COPY. Then, in the same run:

- raw: read every event in the global order (`EventStore.read_all_records`, pages of 5,000,
  bytes only): the ceiling for anything that reads the whole store;
- rebuild: read every event in stream order, decode (`Registry.decode_stored`: orjson and
  upcasters), fold each case with the domain's `replay`, and write the final rows in bulk
  (`read_model.save_many`: COPY, then two statements), into empty tables.

Goal (issue 10): rebuild at least 50% of raw. Prints name=value lines at the end.
BENCH_EVENTS (default 1,000,000) makes it smaller for a quick look.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import sys
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from prahari_cases.adapters import read_model
from prahari_cases.domain import commands as cmd
from prahari_cases.domain.case import Case, replay, stream_for
from prahari_cases.domain.events import Assignee
from prahari_cases.domain.sla import SlaPolicy
from prahari_cases.service_layer.handlers import (
    CaseHandlers,
    apply_system,
    load_case,
)
from prahari_events.catalogue import REPORT_RECEIVED, build_registry
from prahari_events.db import create_pool, drop_schema
from prahari_events.envelope import Actor, Draft, Envelope, Jurisdiction
from prahari_events.migrations import migrate_service
from prahari_events.policy import UnitRef
from prahari_events.store import GENESIS, EventStore, Position

URL = os.environ.get("DATABASE_URL", "postgresql://prahari:prahari@127.0.0.1:54329/prahari")
TOTAL = int(os.environ.get("BENCH_EVENTS", "1000000"))
TEMPLATES = 20  # distinct real cases, each cloned
REGISTRY = build_registry()
SQUAD = Assignee(UnitRef(9, "UP-SON-FS-1"), "flying_squad", "Flying Squad 1, Sonbhadra")


def report(n: int) -> Envelope:
    """A smuggling tip from a Sonbhadra police station, as intake publishes it."""
    report_id = uuid.uuid4()
    draft = Draft(
        type=REPORT_RECEIVED,
        payload={
            "report_id": str(report_id),
            "report_type": "smuggling_tip",
            "description": f"ट्रक संख्या {n} में अवैध शराब (truck {n} with illicit liquor)",
            "state": 9,
            "district": 184,
            "occurred_at": None,
            "details": {},
            "source": None,
        },
        actor=Actor("UP-SON-PS-ROBERTSGANJ", "reporter", "police_station", 9, 184),
        jurisdiction=Jurisdiction(9, 184),
        correlation_id=report_id,
    )
    return REGISTRY.stamp(
        draft,
        stream_id=f"report-{report_id}",
        stream_version=1,
        recorded_at=datetime.now(UTC),
        trace={},
    )


async def templates(
    pool: Any, store: EventStore
) -> list[list[tuple[tuple[str, str], str, int, bytes]]]:
    """Real case streams, as (type, recorded_at, version, body) per event."""
    handlers = CaseHandlers(store, "bench.cases", SlaPolicy())
    streams = []
    for n in range(TEMPLATES):
        tip = report(n)
        async with pool.acquire() as conn, conn.transaction():
            await handlers.report_received(conn, tip)
        case_id = await pool.fetchval(
            "SELECT case_id FROM case_reports WHERE report_id = $1",
            uuid.UUID(str(tip.payload["report_id"])),
        )
        commands: list[Any] = [
            cmd.Assign(SQUAD),
            cmd.Acknowledge(),
            *(cmd.AddNote(uuid.uuid4(), f"नोट {k}: चालक से पूछताछ जारी") for k in range(3)),
            cmd.FileFieldReport("ट्रक रोका गया, 1200 लीटर शराब", "जब्त, FIR दर्ज"),
            cmd.RecordSeizure(uuid.uuid4(), "liquor", 1200.0, "litres", 480000, "excise"),
            cmd.Escalate("गिरोह का संदेह"),
            cmd.Close("seizure_made", "जब्ती"),
        ]
        async with pool.acquire() as conn, conn.transaction():
            case = await load_case(conn, store, case_id)
            await apply_system(
                conn, store, "bench.cases", case, commands[: 4 + n % 6],
                now=datetime.now(UTC), correlation_id=case_id, causation_id=None,
            )  # fmt: skip
        rows = await pool.fetch(
            "SELECT type, version, body FROM events WHERE stream_id = $1 ORDER BY stream_version",
            stream_for(case_id),
        )
        ids = (str(case_id), str(tip.payload["report_id"]))
        streams.append([(ids, r["type"], r["version"], r["body"]) for r in rows])
    return streams


def clone(template: list[tuple[tuple[str, str], str, int, bytes]]) -> list[tuple[Any, ...]]:
    """The template's events for a new case: every id in them new, the chain recomputed."""
    case_id, report_id = template[0][0]
    new_case, new_report = str(uuid.uuid4()), str(uuid.uuid4())
    rows = []
    prev = GENESIS
    for version, (_, event_type, event_version, body) in enumerate(template, start=1):
        old_event = body.split(b'"event_id":"', 1)[1][:36]
        event_id = uuid.uuid4()
        fresh = (
            body.replace(case_id.encode(), new_case.encode())
            .replace(report_id.encode(), new_report.encode())
            .replace(old_event, str(event_id).encode())
        )
        digest = hashlib.sha256(prev + fresh).digest()
        recorded = body.split(b'"recorded_at":"', 1)[1].split(b'"', 1)[0].decode()
        rows.append(
            (
                f"case-{new_case}",
                version,
                event_id,
                event_type,
                event_version,
                datetime.fromisoformat(recorded),
                fresh,
                prev,
                digest,
            )
        )
        prev = digest
    return rows


async def load(pool: Any, streams: list[list[tuple[tuple[str, str], str, int, bytes]]]) -> int:
    loaded = 0
    n = 0
    while loaded < TOTAL:
        batch: list[tuple[Any, ...]] = []
        while len(batch) < 50_000 and loaded + len(batch) < TOTAL:
            batch += clone(streams[n % len(streams)])
            n += 1
        async with pool.acquire() as conn:
            await conn.copy_records_to_table(
                "events",
                records=batch,
                columns=[
                    "stream_id", "stream_version", "event_id", "type", "version",
                    "recorded_at", "body", "prev_hash", "hash",
                ],
            )  # fmt: skip
        loaded += len(batch)
        print(f"\rloaded {loaded:,} events", end="", file=sys.stderr)
    print(file=sys.stderr)
    await pool.execute("ANALYZE events")
    return loaded


async def raw_rate(pool: Any, store: EventStore) -> float:
    started, cursor, count = time.perf_counter(), Position.start(), 0
    while True:
        records = await store.read_all_records(pool, cursor, 5000)
        if not records:
            break
        cursor = records[-1].position
        count += len(records)
    return count / (time.perf_counter() - started)


async def rebuild_rate(pool: Any) -> tuple[float, int]:
    """What `prahari-audit replay` does for the case view, into empty tables."""
    await pool.execute("TRUNCATE case_view, case_timers")
    started = time.perf_counter()
    count = 0
    folded: list[Case] = []
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
        current: str | None = None
        events: list[Any] = []
        async for row in conn.cursor(
            "SELECT body FROM events ORDER BY stream_id, stream_version", prefetch=5000
        ):
            event = REGISTRY.decode_stored(row["body"])
            count += 1
            if event.stream_id != current:
                if events:
                    case = replay(events)
                    if case is not None:
                        folded.append(case)
                current, events = event.stream_id, []
            events.append(event)
        if events:
            case = replay(events)
            if case is not None:
                folded.append(case)
    async with pool.acquire() as conn, conn.transaction():
        await read_model.save_many(conn, folded)
    elapsed = time.perf_counter() - started
    rows = await pool.fetchval("SELECT count(*) FROM case_view")
    assert rows == len(folded), (rows, len(folded))
    return count / elapsed, len(folded)


async def main() -> None:
    schema = f"bench_replay_{uuid.uuid4().hex[:8]}"
    await migrate_service(URL, "cases", schema)
    pool = await create_pool(URL, schema, application="bench", max_size=4)
    store = EventStore(REGISTRY)
    try:
        streams = await templates(pool, store)
        await pool.execute("TRUNCATE events, case_view, case_timers, case_reports, outbox")
        total = await load(pool, streams)
        await raw_rate(pool, store)  # warm the cache: both sides read from memory
        raw = await raw_rate(pool, store)
        rebuild, cases = await rebuild_rate(pool)
        raw_again = await raw_rate(pool, store)
    finally:
        await drop_schema(pool, schema)
        await pool.close()
    raw = (raw + raw_again) / 2
    print(f"{total:,} events in {cases:,} cases: raw read-all {raw:,.0f}/s,"
          f" rebuild of the case view {rebuild:,.0f}/s ({rebuild / raw:.0%})")  # fmt: skip
    print(f"replay_events={total}")
    print(f"replay_cases={cases}")
    print(f"replay_raw_read_all_events_per_s={raw:.0f}")
    print(f"replay_rebuild_case_view_events_per_s={rebuild:.0f}")
    print(f"replay_rebuild_ratio={rebuild / raw:.3f}")


if __name__ == "__main__":
    asyncio.run(main())

"""Event store benchmark: Prahari's store against the eventsourcing library's PostgreSQL
store, on the same PostgreSQL, in the same run.

Appends: 1 and 16 concurrent writers, each on its own stream, appending 1 or 100 events per
call; each call is one transaction with its optimistic-concurrency check. Per event, ours
validates the payload against its schema, encodes the envelope and extends the hash chain;
eventsourcing's side JSON-encodes the same data (what its mapper does before its recorder).
Read-all: the whole global order in pages of 500, as stored records (no domain decoding on
either side), and ours also decoded and upcast as the store reads its own events back (orjson
and upcasters; validated when written, covered by the hash chain since).

    ./dev bench      (or: .venv/bin/python bench/eventstore.py)

Ends with one name=value line per figure; ratio = ours / eventsourcing.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import urlparse

import asyncpg
from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore

from prahari_events.catalogue import REPORT_RECEIVED, build_registry
from prahari_events.db import create_pool, drop_schema, event_store_migrations, migrate
from prahari_events.envelope import Actor, Draft, Jurisdiction
from prahari_events.registry import canonical_json
from prahari_events.store import EventStore, Position

URL = os.environ.get("DATABASE_URL", "postgresql://prahari:prahari@127.0.0.1:54329/prahari")
# (writers, events per append, appends per writer): sized so each scenario takes seconds.
SCENARIOS = [(1, 1, 600), (16, 1, 150), (1, 100, 30), (16, 100, 8)]
ROUNDS = 3
REGISTRY = build_registry()
ACTOR = Actor("UP-SON-PS-ROBERTSGANJ", "reporter", "police_station", 9, 184)


def draft() -> Draft:
    report_id = uuid.uuid4()
    return Draft(
        type=REPORT_RECEIVED,
        payload={
            "report_id": str(report_id),
            "report_type": "smuggling_tip",
            "description": "बिहार सीमा पर अवैध शराब से भरा ट्रक UP64 AB 1234, चंदौली की ओर",
            "state": 9,
            "district": 184,
            "occurred_at": None,
            "details": {"vehicles": ["UP64AB1234"], "route": {"from": 184, "to": 135}},
            "source": None,
        },
        actor=ACTOR,
        jurisdiction=Jurisdiction(9, 184),
        correlation_id=report_id,
    )


def es_body() -> bytes:
    """What eventsourcing's mapper does for each event before its recorder sees it: encode
    the event's state as JSON. The same draft, the same canonical JSON as ours."""
    d = draft()
    return canonical_json(
        {
            "payload": dict(d.payload),
            "actor": d.actor.to_json(),
            "jurisdiction": d.jurisdiction.to_json(),
            "correlation_id": str(d.correlation_id),
            "occurred_at": datetime.now(UTC).isoformat(),
        }
    )


# ---- ours ----------------------------------------------------------------------------------


async def ours_append(writers: int, batch: int, appends: int) -> float:
    schema = f"bench_ours_{uuid.uuid4().hex[:8]}"
    pool = await create_pool(URL, schema, application="bench", max_size=writers)
    store = EventStore(REGISTRY)
    try:
        await migrate(pool, schema, event_store_migrations())

        async def writer(n: int) -> None:
            stream = f"case-{n}-{uuid.uuid4()}"
            for i in range(appends):
                # The append is its own transaction, like eventsourcing's insert_events.
                await store.append(pool, stream, i * batch, [draft() for _ in range(batch)])

        started = time.perf_counter()
        await asyncio.gather(*(writer(n) for n in range(writers)))
        elapsed = time.perf_counter() - started
        stored: int = await pool.fetchval("SELECT count(*) FROM events")
        assert stored == writers * batch * appends, stored
        return stored / elapsed
    finally:
        await drop_schema(pool, schema)
        await pool.close()


async def ours_read_all(total: int) -> tuple[float, float]:
    schema = f"bench_ours_{uuid.uuid4().hex[:8]}"
    pool = await create_pool(URL, schema, application="bench", max_size=4)
    store = EventStore(REGISTRY)
    try:
        await migrate(pool, schema, event_store_migrations())
        for start in range(0, total, 100):
            await store.append(pool, f"case-{start}", 0, [draft() for _ in range(100)])

        async def read(decode: bool) -> float:
            started, cursor, count = time.perf_counter(), Position.start(), 0
            while True:
                if decode:
                    page = await store.read_all(pool, cursor, 500)
                    if not page:
                        break
                    cursor = page[-1][0]
                else:
                    records = await store.read_all_records(pool, cursor, 500)
                    if not records:
                        break
                    cursor = records[-1].position
                    page = records  # type: ignore[assignment]
                count += len(page)
            assert count == total, count
            return count / (time.perf_counter() - started)

        return await read(decode=False), await read(decode=True)
    finally:
        await drop_schema(pool, schema)
        await pool.close()


# ---- eventsourcing -------------------------------------------------------------------------


def es_recorder(
    schema: str, pool_size: int
) -> tuple[PostgresDatastore, PostgresApplicationRecorder]:
    url = urlparse(URL)
    datastore = PostgresDatastore(
        dbname=url.path.lstrip("/"),
        host=url.hostname or "127.0.0.1",
        port=url.port or 5432,
        user=url.username or "",
        password=url.password or "",
        pool_size=pool_size,
        max_overflow=0,
        schema=schema,
    )
    recorder = PostgresApplicationRecorder(datastore)
    recorder.create_table()
    return datastore, recorder


async def es_schema(action: str, schema: str) -> None:
    conn = await asyncpg.connect(URL)
    try:
        if action == "create":
            await conn.execute(f'CREATE SCHEMA "{schema}"')
        else:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


def threads(count: int, target: Callable[[int], None]) -> float:
    workers = [threading.Thread(target=target, args=(n,)) for n in range(count)]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return time.perf_counter() - started


async def es_append(writers: int, batch: int, appends: int) -> float:
    schema = f"bench_es_{uuid.uuid4().hex[:8]}"
    await es_schema("create", schema)
    datastore, recorder = es_recorder(schema, writers)
    try:

        def writer(_n: int) -> None:
            stream = uuid.uuid4()
            for i in range(appends):
                recorder.insert_events(
                    [
                        StoredEvent(stream, i * batch + k + 1, REPORT_RECEIVED, es_body())
                        for k in range(batch)
                    ]
                )

        elapsed = await asyncio.to_thread(threads, writers, writer)
        total = writers * batch * appends
        assert recorder.max_notification_id() == total
        return total / elapsed
    finally:
        datastore.close()
        await es_schema("drop", schema)


async def es_read_all(total: int) -> float:
    schema = f"bench_es_{uuid.uuid4().hex[:8]}"
    await es_schema("create", schema)
    datastore, recorder = es_recorder(schema, 2)
    try:
        for _ in range(0, total, 100):
            stream = uuid.uuid4()
            recorder.insert_events(
                [StoredEvent(stream, k + 1, REPORT_RECEIVED, es_body()) for k in range(100)]
            )

        def read() -> float:
            started, after, count = time.perf_counter(), 0, 0
            while True:
                page = recorder.select_notifications(start=after + 1, limit=500)
                if not page:
                    break
                after = page[-1].id
                count += len(page)
            assert count == total, count
            return count / (time.perf_counter() - started)

        return await asyncio.to_thread(read)
    finally:
        datastore.close()
        await es_schema("drop", schema)


# ---- run -----------------------------------------------------------------------------------


async def main() -> None:
    results: dict[str, float] = {}
    heading = f"figure (median of {ROUNDS})"
    print(f"{heading:<32}{'ours':>12}{'eventsourcing':>16}{'ratio':>8}")
    for writers, batch, appends in SCENARIOS:
        name = f"append_w{writers}_b{batch}"
        ours_runs, theirs_runs = [], []
        for round_ in range(ROUNDS):
            # Alternate who goes first, so neither always meets a warm or a cold cache.
            if round_ % 2 == 0:
                ours_runs.append(await ours_append(writers, batch, appends))
                theirs_runs.append(await es_append(writers, batch, appends))
            else:
                theirs_runs.append(await es_append(writers, batch, appends))
                ours_runs.append(await ours_append(writers, batch, appends))
        ours, theirs = statistics.median(ours_runs), statistics.median(theirs_runs)
        results[f"{name}_ours_events_per_s"] = ours
        results[f"{name}_eventsourcing_events_per_s"] = theirs
        results[f"{name}_ratio"] = ours / theirs
        print(f"{name + ' (events/s)':<32}{ours:>12.0f}{theirs:>16.0f}{ours / theirs:>8.2f}")
    total = 20_000
    reads = [await ours_read_all(total) for _ in range(ROUNDS)]
    raw = statistics.median(r[0] for r in reads)
    decoded = statistics.median(r[1] for r in reads)
    theirs = statistics.median([await es_read_all(total) for _ in range(ROUNDS)])
    results["read_all_ours_events_per_s"] = raw
    results["read_all_eventsourcing_events_per_s"] = theirs
    results["read_all_ratio"] = raw / theirs
    results["read_all_decoded_ours_events_per_s"] = decoded
    print(f"{'read_all (events/s)':<32}{raw:>12.0f}{theirs:>16.0f}{raw / theirs:>8.2f}")
    print(f"{'read_all decoded (no re-validation)':<32}{decoded:>12.0f}")
    print()
    for key, value in results.items():
        print(f"{key}={value:.2f}")


if __name__ == "__main__":
    asyncio.run(main())

"""Cases benchmark: commands per second through HTTP (an assign/note mix from 16 clients)
against the raw single-event `EventStore.append` rate, measured in the same run on the same
PostgreSQL, and the latency of commands at half of cases' maximum rate.

A command does what the raw append does, plus everything around it: the token, the body's
schema, the access policy, the If-Match check, loading the case (its read-model row), the
decision, the read model written back, and the answer. The raw append is one statement.

1. Raw: 16 writers, each on its own stream, one event per append (the store's own figure).
2. Maximum rate: 16 clients, each working through cases of its own, ten commands a case
   (as a case sees in its life: cVIGIL's workflow is about that many steps), alternating a
   note (no If-Match) and an assignment (with the ETag of its last answer), back to back.
3. Latency: an open loop at half of that rate over 256 other cases, each request timed from
   when it was due to start (a stalled server cannot hide its queue), p50 and p99.

    ./dev bench      (or: .venv/bin/python bench/cases.py)
"""

from __future__ import annotations

import asyncio
import itertools
import os
import statistics
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import asyncpg
from common import (  # bench/common.py: run as bench/cases.py
    TOKEN_TRUST,
    free_port,
    mint,
    wait_ready,
)

from prahari_cases.domain.case import case_id_for
from prahari_cases.domain.sla import SlaPolicy
from prahari_cases.service_layer.handlers import CaseHandlers
from prahari_events.auth import Unit
from prahari_events.catalogue import CASE_NOTE_ADDED, REPORT_RECEIVED, build_registry
from prahari_events.db import create_pool, drop_schema
from prahari_events.envelope import Draft, Jurisdiction
from prahari_events.kafka import KafkaAccess, Topics, create_topics, delete_topics
from prahari_events.migrations import migrate_service
from prahari_events.store import EventStore

ROOT = Path(__file__).resolve().parents[1]

KAFKA = KafkaAccess("127.0.0.1:9092")
URL = os.environ.get("DATABASE_URL", "postgresql://prahari:prahari@127.0.0.1:54329/prahari")
CLIENTS = 16
SECONDS = 8.0
ROUNDS = 3
CASES = 2048  # for the closed loop: enough that no case gets much past COMMANDS_PER_CASE
SPREAD = 256  # for the open loop: each case gets a request every SPREAD / rate seconds
COMMANDS_PER_CASE = 10
ROOM = Unit("UP-SON-DCR", "district_control_room", "control_room", 9, 184)
STATION = Unit("UP-SON-PS-ROBERTSGANJ", "police_station", "reporter", 9, 184)
SQUADS = ["UP-SON-FS-1", "UP-SON-SST-1"]
REGISTRY = build_registry()
NOTE = {"text": "टोल प्लाज़ा पर ट्रक BR01AB1234 दिखा, बिहार की ओर जा रहा है"}


def note_draft(case_id: uuid.UUID) -> Draft:
    return Draft(
        type=CASE_NOTE_ADDED,
        payload={
            "case_id": str(case_id),
            "note_id": str(uuid.uuid4()),
            "text": NOTE["text"],
            "attachments": [],
        },
        actor=ROOM.actor(),
        jurisdiction=Jurisdiction(9, 184),
        correlation_id=case_id,
    )


async def raw_appends(pool: asyncpg.Pool, store: EventStore, topic: str) -> float:
    """Events per second: CLIENTS writers appending one event at a time to their streams,
    through the outbox, as a command's append does."""
    count = 0
    deadline = time.perf_counter() + SECONDS

    async def writer() -> None:
        nonlocal count
        stream_case = uuid.uuid4()
        version = 0
        while time.perf_counter() < deadline:
            await store.append(
                pool, f"raw-{stream_case}", version, [note_draft(stream_case)], publish_to=topic
            )
            version += 1
            count += 1

    started = time.perf_counter()
    await asyncio.gather(*(writer() for _ in range(CLIENTS)))
    return count / (time.perf_counter() - started)


async def open_cases(pool: asyncpg.Pool, store: EventStore, topic: str, count: int) -> list[str]:
    handlers = CaseHandlers(store, topic, SlaPolicy())
    ids = []
    for _ in range(count):
        report_id = uuid.uuid4()
        report = REGISTRY.stamp(
            Draft(
                type=REPORT_RECEIVED,
                payload={
                    "report_id": str(report_id),
                    "report_type": "smuggling_tip",
                    "description": "बिहार सीमा पर अवैध शराब से भरा ट्रक UP64 AB 1234",
                    "state": 9,
                    "district": 184,
                    "occurred_at": None,
                    "details": {},
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
        async with pool.acquire() as conn, conn.transaction():
            await handlers.report_received(conn, report)
        ids.append(str(case_id_for(report_id)))
    return ids


class Commander:
    """Sends the assign/note mix and keeps each case's ETag from its last answer."""

    def __init__(self, http: aiohttp.ClientSession, base: str, token: str) -> None:
        self.http = http
        self.base = base
        self.auth = {"Authorization": f"Bearer {token}"}
        self.etags: dict[str, str] = {}
        self.squad = itertools.cycle(SQUADS)

    async def send(self, case_id: str, assign: bool) -> bool:
        if assign:
            path, body = "assignment", {"unit_id": next(self.squad)}
            headers = {**self.auth, "If-Match": self.etags.get(case_id, '"1"')}
        else:
            path, body, headers = "notes", NOTE, self.auth
        async with self.http.post(
            f"{self.base}/v1/cases/{case_id}/{path}", json=body, headers=headers
        ) as response:
            await response.read()
            if response.status == 200:
                self.etags[case_id] = response.headers["ETag"]
                return True
            return False


async def closed_loop(commander: Commander, cases: Iterator[str]) -> float:
    done = 0
    deadline = time.perf_counter() + SECONDS

    async def client() -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            case_id = next(cases)  # no two clients work on one case at once
            for n in range(COMMANDS_PER_CASE):
                if await commander.send(case_id, assign=n % 2 == 1):
                    done += 1

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(CLIENTS)))
    return done / (time.perf_counter() - started)


async def open_loop(
    commander: Commander, ids: list[str], rate: float
) -> tuple[float, float, float]:
    latencies: list[float] = []
    ok = 0
    total = int(rate * SECONDS)
    start = time.perf_counter() + 0.2

    async def one(n: int) -> None:
        nonlocal ok
        due = start + n / rate
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        # Notes go anywhere; an assignment goes to a case no other request is working on.
        if await commander.send(ids[n % len(ids)], assign=(n // len(ids)) % 2 == 1):
            ok += 1
        latencies.append((time.perf_counter() - due) * 1000)

    await asyncio.gather(*(one(n) for n in range(total)))
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    return statistics.median(latencies), p99, ok / total


async def main() -> None:
    test_id = uuid.uuid4().hex[:8]
    topics = Topics(f"bench{test_id}.")
    await create_topics(KAFKA, topics.specs())
    schema = f"bench_cases_{test_id}"
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PRAHARI_TOKEN_TRUST": TOKEN_TRUST,
        "DATABASE_URL": URL,
        "PRAHARI_DB_SCHEMA": schema,
        "PRAHARI_TOPIC_PREFIX": topics.prefix,
        "PRAHARI_CASES_PORT": str(port),
        "PRAHARI_UNIT_DIRECTORY": str(ROOT / "infra" / "dev" / "units.json"),
        "PRAHARI_LOG_LEVEL": "WARNING",
    }
    profile = (
        ["-m", "cProfile", "-o", os.environ["BENCH_PROFILE"]]
        if "BENCH_PROFILE" in os.environ
        else []
    )
    await migrate_service(URL, "cases", schema)  # as ./dev does before services start
    cases = await asyncio.create_subprocess_exec(
        sys.executable, *profile, "-m", "prahari_cases", env=env, cwd=ROOT
    )
    token = mint(ROOM)
    store = EventStore(REGISTRY)
    pool = await create_pool(URL, schema, application="bench", max_size=CLIENTS + 4)
    base = f"http://127.0.0.1:{port}"
    results: dict[str, list[float]] = {}
    try:
        await wait_ready(f"{base}/readyz")  # cases has migrated its schema by now
        ids = await open_cases(pool, store, topics.case_events, CASES + SPREAD)
        closed, spread = itertools.cycle(ids[:CASES]), ids[CASES:]
        connector = aiohttp.TCPConnector(limit=512)
        async with aiohttp.ClientSession(connector=connector) as http:
            commander = Commander(http, base, token)
            await closed_loop(commander, closed)  # warm up: connections, prepared statements
            await raw_appends(pool, store, topics.case_events)
            for _ in range(ROUNDS):  # alternate, so neither side always runs on a warmer box
                results.setdefault("raw", []).append(
                    await raw_appends(pool, store, topics.case_events)
                )
                results.setdefault("http", []).append(await closed_loop(commander, closed))
            half = statistics.median(results["http"]) / 2
            p50, p99, ok = await open_loop(commander, spread, half)
    finally:
        cases.terminate()
        await asyncio.wait_for(cases.wait(), 30)
        await drop_schema(pool, schema)
        await pool.close()
        await delete_topics(KAFKA, [s.name for s in topics.specs()])
    raw, http_rate = statistics.median(results["raw"]), statistics.median(results["http"])
    figures = {
        "cases_raw_append_events_per_s": raw,
        "cases_http_commands_per_s": http_rate,
        "cases_command_to_append_ratio": http_rate / raw,
        "cases_half_rate_commands_per_s": half,
        "cases_p50_ms_at_half_rate": p50,
        "cases_p99_ms_at_half_rate": p99,
        "cases_ok_share_at_half_rate": ok,
    }
    print(f"raw appends {raw:.0f}/s, commands {http_rate:.0f}/s ({http_rate / raw:.0%});")
    print(f"at {half:.0f}/s: p50 {p50:.1f} ms, p99 {p99:.1f} ms, {ok:.1%} answered 200")
    rounds = {name: [round(r) for r in rates] for name, rates in results.items()}
    print(f"rounds: {rounds}")
    print()
    for key, value in figures.items():
        print(f"{key}={value:.2f}")


if __name__ == "__main__":
    asyncio.run(main())

"""Intake benchmark: accepted reports/s and latency at the HTTP boundary, with durable Kafka
acks, for one intake process, against a bare aiohttp + aiokafka handler (baseline_server.py)
measured in the same run on the same Kafka.

1. Maximum rate: a closed loop of CONCURRENCY clients posting as fast as answers come.
2. Latency: an open loop at half of intake's maximum rate, each request timed from when it
   was due to start (so a stalled server cannot hide its queue), p50 and p99.
Intake is measured without and with an Idempotency-Key (the key costs PostgreSQL writes).

    ./dev bench      (or: .venv/bin/python bench/intake.py)
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
from common import (  # bench/common.py: run as bench/intake.py
    TOKEN_TRUST,
    free_port,
    mint,
    wait_ready,
)

from prahari_events.auth import Unit
from prahari_events.db import drop_schema
from prahari_events.kafka import KafkaAccess, Topics, create_topics, delete_topics
from prahari_events.migrations import migrate_service
from prahari_intake.entrypoints.examples import EXAMPLES

ROOT = Path(__file__).resolve().parents[1]
KAFKA = KafkaAccess("127.0.0.1:9092")
URL = os.environ.get("DATABASE_URL", "postgresql://prahari:prahari@127.0.0.1:54329/prahari")
CONCURRENCY = 32
SECONDS = 8.0
REPORT = EXAMPLES["seizure"]
UNIT = Unit("UP-CHA-EXCISE-1", "excise_unit", "reporter", 9, 135)  # the seizure's district


Headers = Callable[[], dict[str, str]]


async def closed_loop(url: str, headers: Headers) -> float:
    """Accepted requests per second with CONCURRENCY clients back to back."""
    accepted = 0
    deadline = time.perf_counter() + SECONDS
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector) as http:

        async def client() -> None:
            nonlocal accepted
            while time.perf_counter() < deadline:
                async with http.post(url, json=REPORT, headers=headers()) as response:
                    await response.read()
                    if response.status == 202:
                        accepted += 1

        started = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(CONCURRENCY)))
        return accepted / (time.perf_counter() - started)


async def open_loop(url: str, headers: Headers, rate: float) -> tuple[float, float, float]:
    """(p50 ms, p99 ms, share accepted) at a fixed arrival rate, timed from each due time."""
    latencies: list[float] = []
    accepted = 0
    total = int(rate * SECONDS)
    connector = aiohttp.TCPConnector(limit=512)
    async with aiohttp.ClientSession(connector=connector) as http:
        start = time.perf_counter() + 0.2

        async def one(due: float) -> None:
            nonlocal accepted
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            async with http.post(url, json=REPORT, headers=headers()) as response:
                await response.read()
                if response.status == 202:
                    accepted += 1
            latencies.append((time.perf_counter() - due) * 1000)

        await asyncio.gather(*(one(start + i / rate) for i in range(total)))
    latencies.sort()
    return (
        statistics.median(latencies),
        latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        accepted / total,
    )


async def main() -> None:
    test_id = uuid.uuid4().hex[:8]
    topics = Topics(f"bench{test_id}.")
    await create_topics(KAFKA, topics.specs())
    schema = f"bench_intake_{test_id}"
    token = mint(UNIT)
    intake_port, baseline_port = free_port(), free_port()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PRAHARI_TOKEN_TRUST": TOKEN_TRUST,
        "DATABASE_URL": URL,
        "PRAHARI_DB_SCHEMA": schema,
        "PRAHARI_TOPIC_PREFIX": topics.prefix,
        "PRAHARI_INTAKE_PORT": str(intake_port),
        "PRAHARI_LOG_LEVEL": "WARNING",
    }
    python = sys.executable
    # BENCH_PROFILE=path writes a cProfile of the intake process there.
    profile = (
        ["-m", "cProfile", "-o", os.environ["BENCH_PROFILE"]]
        if "BENCH_PROFILE" in os.environ
        else []
    )
    await migrate_service(URL, "intake", schema)  # as ./dev does before services start
    intake = await asyncio.create_subprocess_exec(
        python, *profile, "-m", "prahari_intake", env=env, cwd=ROOT
    )
    baseline = await asyncio.create_subprocess_exec(
        python,
        str(ROOT / "bench" / "baseline_server.py"),
        str(baseline_port),
        f"{topics.prefix}baseline",
        cwd=ROOT,
    )
    await create_topics(KAFKA, [type(topics.specs()[0])(f"{topics.prefix}baseline", 3, {})])
    results: dict[str, float] = {}
    try:
        intake_url = f"http://127.0.0.1:{intake_port}/v1/reports"
        baseline_url = f"http://127.0.0.1:{baseline_port}/v1/reports"
        await wait_ready(f"http://127.0.0.1:{intake_port}/readyz")
        await wait_ready(f"http://127.0.0.1:{baseline_port}/healthz")

        # Every report needs an Idempotency-Key (issue 11), so intake is measured with one.
        def keyed() -> dict[str, str]:
            return {"Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid.uuid4())}

        def bare() -> dict[str, str]:
            return {}

        await closed_loop(intake_url, keyed)  # warm up: connections, prepared statements
        await closed_loop(baseline_url, bare)
        runs: dict[str, Any] = {
            "baseline": (baseline_url, bare),
            "intake": (intake_url, keyed),
        }
        for name, (url, headers) in runs.items():
            results[f"{name}_max_reports_per_s"] = await closed_loop(url, headers)
        half = results["intake_max_reports_per_s"] / 2
        results["half_rate_reports_per_s"] = half
        for name, (url, headers) in runs.items():
            p50, p99, ok = await open_loop(url, headers, half)
            results[f"{name}_p50_ms_at_half_rate"] = p50
            results[f"{name}_p99_ms_at_half_rate"] = p99
            results[f"{name}_accepted_share_at_half_rate"] = ok
        results["throughput_ratio"] = (
            results["intake_max_reports_per_s"] / results["baseline_max_reports_per_s"]
        )
    finally:
        for process in (intake, baseline):
            process.terminate()
            await asyncio.wait_for(process.wait(), 30)
        pool = await asyncpg.create_pool(URL, min_size=1, max_size=1)
        assert pool is not None
        await drop_schema(pool, schema)
        await pool.close()
        await delete_topics(KAFKA, [s.name for s in topics.specs()] + [f"{topics.prefix}baseline"])
    print(f"{'':<22}{'max/s':>9}{'p50 ms':>9}{'p99 ms':>9}   (latency at {half:.0f}/s)")
    for name in ("baseline", "intake", "intake_with_key"):
        print(
            f"{name:<22}{results[f'{name}_max_reports_per_s']:>9.0f}"
            f"{results[f'{name}_p50_ms_at_half_rate']:>9.1f}"
            f"{results[f'{name}_p99_ms_at_half_rate']:>9.1f}"
        )
    print()
    for key, value in results.items():
        print(f"{key}={value:.2f}")


if __name__ == "__main__":
    asyncio.run(main())

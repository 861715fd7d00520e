"""Notify benchmarks, against the development SMS gateway (its own process) answering every
message in 50 ms, as a real gateway's API might.

1. Dispatch rate: SMS handed to the gateway per second by one notify process working off a
   queue of QUEUED messages, against a bare aiohttp client loop with the same concurrency
   (32) posting the same requests to the same gateway, in the same run; rounds alternate.
   Both are timed by the gateway, from the first message it took to the last. notify does,
   per message, what the bare loop does not: claim under a lease, choose the provider,
   render nothing (already rendered), and record the outcome as an event with its row.
2. End to end: intake, cases and notify as their own processes; reports at a steady 50 and
   150 per second for SECONDS each; for every report, from intake's 202 to the moment the
   gateway took its case's SMS, p50 and p99. Every case's SMS must arrive exactly once.

    ./dev bench      (or: .venv/bin/python bench/notify.py)
"""

from __future__ import annotations

import asyncio
import collections
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from common import (  # bench/common.py: run as bench/notify.py
    KAFKA,
    ROOT,
    TOKEN_TRUST,
    URL,
    free_port,
    mint,
    services,
)

from prahari_cases.domain.case import case_id_for
from prahari_events import lgd
from prahari_events.auth import Unit
from prahari_events.catalogue import build_registry
from prahari_events.db import (
    create_pool,
    drop_schema,
    event_store_migrations,
    migrate,
    package_migrations,
)
from prahari_events.envelope import Actor, Draft, Jurisdiction, utcnow
from prahari_events.kafka import Topics, create_topics, delete_topics
from prahari_events.store import EventStore
from prahari_events.units import load_units
from prahari_intake.entrypoints.examples import EXAMPLES
from prahari_notify.domain.routing import DEFAULT_ROUTES, load_routes
from prahari_notify.service_layer.handlers import NotifyHandlers, Outbox

CONCURRENCY = 32
QUEUED = 3000
ROUNDS = int(os.environ.get("BENCH_NOTIFY_ROUNDS", "3"))
SECONDS = float(os.environ.get("BENCH_NOTIFY_SECONDS", "20"))
GATEWAY_DELAY_S = 0.05
REGISTRY = build_registry()
UNIT = Unit("UP-CHA-EXCISE-1", "excise_unit", "reporter", 9, 135)


class Gateway:
    """The development sinks as their own process: SMS gateway and SMTP, 50 ms answers."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.sms_port, self.smtp_port = free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.sms_port}"
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "prahari_devsinks", "--dir", str(self.folder),
            "--sms-port", str(self.sms_port), "--sms-fallback-port", str(free_port()),
            "--smtp-port", str(self.smtp_port), "--smtp-fallback-port", str(free_port()),
        )  # fmt: skip
        async with aiohttp.ClientSession() as http:
            for _ in range(100):
                try:
                    async with http.post(
                        f"{self.url}/control", json={"delay_s": GATEWAY_DELAY_S}
                    ) as r:
                        if r.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
        raise RuntimeError("the gateway did not start")

    async def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            await self.process.wait()

    def taken(self) -> list[dict[str, Any]]:
        path = self.folder / "sms.jsonl"
        if not path.exists():
            return []
        lines = path.read_text(encoding="utf-8").splitlines()
        return [dict(json.loads(line)) for line in lines]


def span(records: list[dict[str, Any]]) -> float:
    """Messages per second as the gateway saw them, first to last."""
    times: list[float] = sorted(r["at"] for r in records)
    return (len(times) - 1) / (times[-1] - times[0])


async def bare_loop(gateway: Gateway, count: int) -> float:
    prefix = f"bare-{uuid.uuid4()}"
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(count):
        queue.put_nowait(n)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:

        async def worker() -> None:
            while not queue.empty():
                n = queue.get_nowait()
                body = {"to": "+919000000135", "sender": "PRHARI", "entity_id": "1",
                        "template_id": "1007000000000000002", "text": "प्रहरी सूचना" * 3,
                        "unicode": True, "parts": 1, "reference": f"{prefix}-{n}"}  # fmt: skip
                async with http.post(f"{gateway.url}/sms", json=body) as r:
                    await r.read()

        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return span([r for r in gateway.taken() if r["reference"].startswith(prefix)])


def opened(n: int) -> Any:
    case_id = uuid.uuid4()
    now = utcnow()
    draft = Draft(
        type="case.opened",
        payload={
            "case_id": str(case_id),
            "report_id": str(uuid.uuid4()),
            "report_type": "seizure",
            "description": f"नौबतपुर चेकपोस्ट पर जब्ती {n}",
            "state": 9,
            "district": 135,
            "reported_by": {
                "unit_id": UNIT.unit_id,
                "role": "reporter",
                "kind": UNIT.kind,
                "state": 9,
                "district": 135,
            },
            "reported_at": now.isoformat(),
            "assign_by": (now + timedelta(minutes=5)).isoformat(),
            "decide_by": (now + timedelta(minutes=100)).isoformat(),
            "identifiers": [],
            "estimated_reach": None,
            "sla": {
                "assign": 300,
                "acknowledge": 600,
                "field_report": 3600,
                "close": 6000,
                "takedown": 129600,
                "fact_check": 21600,
                "source_action": 259200,
            },
            "source": None,
        },
        actor=Actor("service:cases", "system", "service"),
        jurisdiction=Jurisdiction(9, 135),
        correlation_id=case_id,
    )
    return REGISTRY.stamp(
        draft, stream_id=f"case-{case_id}", stream_version=1, recorded_at=now, trace={}
    )


def sms_only(dev_units: Path, folder: Path) -> Path:
    """The same units without their email addresses: the dispatch figure is SMS alone."""
    units = json.loads(dev_units.read_text(encoding="utf-8"))
    for unit in units["units"]:
        unit["email"] = None
    path = folder / "units-sms-only.json"
    path.write_text(json.dumps(units, ensure_ascii=False), encoding="utf-8")
    return path


async def dispatch_rounds(gateway: Gateway, dev_units: Path) -> tuple[list[float], list[float]]:
    """Alternating rounds of the bare loop and of notify working off QUEUED messages."""
    units_path = sms_only(dev_units, gateway.folder)
    test_id = uuid.uuid4().hex[:8]
    topics = Topics(f"bench{test_id}.")
    await create_topics(KAFKA, topics.specs())
    schema = f"bench_notify_{test_id}"
    pool = await create_pool(URL, schema, application="bench", max_size=4)
    migrations = event_store_migrations() + package_migrations("prahari_notify", "notify")
    await migrate(pool, schema, migrations)
    places = lgd.load()
    store = EventStore(REGISTRY)
    handlers = NotifyHandlers(
        Outbox(store, topics.notify_events, utcnow),
        load_routes(DEFAULT_ROUTES),
        load_units(str(units_path), places),
        places,
        digest_window_s=300,
        clock=utcnow,
    )
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", ""), "PRAHARI_TOKEN_TRUST": TOKEN_TRUST,
        "DATABASE_URL": URL, "PRAHARI_DB_SCHEMA": schema, "PRAHARI_TOPIC_PREFIX": topics.prefix,
        "PRAHARI_NOTIFY_PORT": str(port), "PRAHARI_UNIT_DIRECTORY": str(units_path),
        "PRAHARI_SMS_GATEWAY_URL": f"{gateway.url}/sms", "PRAHARI_LOG_LEVEL": "WARNING",
        "PRAHARI_NOTIFY_SMS_CONCURRENCY": str(CONCURRENCY),
        "PRAHARI_SMTP_PORT": str(gateway.smtp_port),
    }  # fmt: skip
    bare: list[float] = []
    ours: list[float] = []
    try:
        await bare_loop(gateway, 500)  # warm up the gateway
        for _ in range(ROUNDS):
            bare.append(await bare_loop(gateway, QUEUED))
            events = [opened(n) for n in range(QUEUED)]
            for chunk in range(0, QUEUED, 100):
                async with pool.acquire() as conn, conn.transaction():
                    for event in events[chunk : chunk + 100]:
                        await handlers(conn, event)
            refs = {
                str(r["notification_id"])
                for r in await pool.fetch(
                    "SELECT notification_id FROM deliveries WHERE status = 'queued'"
                    " AND channel = 'sms'"
                )
            }
            # BENCH_PROFILE=path writes a cProfile of the notify process there.
            profile = (
                ["-m", "cProfile", "-o", os.environ["BENCH_PROFILE"]]
                if "BENCH_PROFILE" in os.environ
                else []
            )
            notify = await asyncio.create_subprocess_exec(
                sys.executable, *profile, "-m", "prahari_notify", env=env, cwd=ROOT
            )
            try:
                deadline = time.monotonic() + 120
                while time.monotonic() < deadline:
                    left = await pool.fetchval(
                        "SELECT count(*) FROM deliveries"
                        " WHERE status = 'queued' AND channel = 'sms'"
                    )
                    if left == 0:
                        break
                    await asyncio.sleep(0.2)
            finally:
                notify.terminate()
                await notify.wait()
            ours.append(span([r for r in gateway.taken() if r["reference"] in refs]))
    finally:
        await drop_schema(pool, schema)
        await pool.close()
        await delete_topics(KAFKA, [s.name for s in topics.specs()])
    return bare, ours


def seizure(n: int) -> dict[str, Any]:
    report: dict[str, Any] = json.loads(json.dumps(EXAMPLES["seizure"]))
    report["description"] = f"{report['description']} ({n})"
    report["occurred_at"] = datetime.now(UTC).isoformat()
    # Distinct vehicles and no persons, so that triage opens a case for every report.
    report["seizure"]["vehicles"] = [f"UP{n % 90 + 10:02d}AB{n:04d}"]
    report["seizure"]["persons"] = []
    report["seizure"]["fir_number"] = None
    return report


async def end_to_end(gateway: Gateway, units_path: Path, rate: float) -> dict[str, float]:
    env = {
        "PRAHARI_UNIT_DIRECTORY": str(units_path),
        "PRAHARI_SMS_GATEWAY_URL": f"{gateway.url}/sms",
        "PRAHARI_SMTP_PORT": str(gateway.smtp_port),
    }

    def profile(name: str) -> list[str]:
        # BENCH_PROFILE_E2E=dir writes a cProfile of each service there.
        folder = os.environ.get("BENCH_PROFILE_E2E")
        return ["-m", "cProfile", "-o", f"{folder}/{name}.prof"] if folder else []

    token = mint(UNIT)
    accepted: dict[str, float] = {}  # case ref -> when intake answered 202
    refused = 0
    names = ("intake", "cases", "notify")
    async with services(names, env, python_args=profile) as ports:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
            url = f"http://127.0.0.1:{ports['intake']}/v1/reports"
            headers = {"Authorization": f"Bearer {token}"}

            async def one(n: int, due: float) -> None:
                nonlocal refused
                await asyncio.sleep(max(0.0, due - time.monotonic()))
                keyed = {**headers, "Idempotency-Key": str(uuid.uuid4())}
                async with http.post(url, json=seizure(n), headers=keyed) as r:
                    answer = await r.json()
                    if r.status != 202:
                        refused += 1
                        return
                    case_id = case_id_for(uuid.UUID(answer["report_id"]))
                    accepted[str(case_id).replace("-", "")[:8].upper()] = time.time()

            start = time.monotonic() + 0.5
            total = int(rate * SECONDS)
            await asyncio.gather(*(one(n, start + n / rate) for n in range(total)))
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if len(_arrived(gateway, accepted)) >= len(accepted):
                break
            await asyncio.sleep(0.5)
    arrived = _arrived(gateway, accepted)
    latencies = sorted(arrived[ref] - accepted[ref] for ref in arrived)
    per_case = collections.Counter(
        ref for r in gateway.taken() for ref in accepted if ref in r.get("text", "")
    )
    return {
        "reports": len(accepted),
        "refused": refused,
        "sms_arrived": len(arrived),
        "sms_doubled": sum(1 for n in per_case.values() if n > 1),
        "p50_s": statistics.median(latencies) if latencies else float("nan"),
        "p99_s": latencies[int(0.99 * (len(latencies) - 1))] if latencies else float("nan"),
    }


def _arrived(gateway: Gateway, accepted: dict[str, float]) -> dict[str, float]:
    found: dict[str, float] = {}
    for record in gateway.taken():
        text = record.get("text", "")
        for ref in accepted:
            if ref in text:
                found.setdefault(ref, record["at"])
    return found


async def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="bench-notify-"))
    units = ROOT / "infra" / "dev" / "units.json"
    gateway = Gateway(folder)
    await gateway.start()
    try:
        bare, ours = await dispatch_rounds(gateway, units)
        rates = () if os.environ.get("BENCH_NOTIFY_DISPATCH_ONLY") else (50.0, 150.0)
        e2e = {rate: await end_to_end(gateway, units, rate) for rate in rates}
    finally:
        await gateway.stop()
    b, o = statistics.median(bare), statistics.median(ours)
    print(
        f"SMS dispatch: bare loop {b:.0f}/s, notify {o:.0f}/s ({o / b:.0%}); rounds {bare} {ours}"
    )
    figures: dict[str, float] = {
        "notify_bare_loop_sms_per_s": b,
        "notify_dispatch_sms_per_s": o,
        "notify_dispatch_ratio": o / b,
    }
    for rate, result in e2e.items():
        print(f"end to end at {rate:.0f}/s: {result}")
        for key, value in result.items():
            figures[f"notify_e2e_{int(rate)}_per_s_{key}"] = value
    for name, value in figures.items():
        print(f"{name}={value:.4g}")


if __name__ == "__main__":
    asyncio.run(main())

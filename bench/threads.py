"""Thread benchmark (issue 14): how long a mention takes to reach the mentioned unit's phone.

cases and notify as their own processes, with the development SMS gateway (its own process,
answering every message in 50 ms). A Chandauli police station posts in the Chandauli-Kaimur
border thread at a steady RATE messages per second for SECONDS, each mentioning Kaimur's
Karmnasa check post; for every message, from cases' 201 to the moment the gateway took the
check post's SMS, p50 and p99. Every mention must arrive exactly once.

The baseline, in the same run and at the same rate: the same SMS posted straight to the
gateway, timed the same way (from the request to the gateway taking it): the floor that the
event log, Kafka and notify's queue add to.

    ./dev bench      (or: .venv/bin/python bench/threads.py)
"""

from __future__ import annotations

import asyncio
import collections
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp
from common import ROOT, mint, services  # bench/common.py
from notify import Gateway  # bench/notify.py: the gateway process

from prahari_events import lgd
from prahari_events.auth import Unit
from prahari_events.borders import load_pairs
from prahari_events.policy import Area

RATE = float(os.environ.get("BENCH_THREADS_RATE", "20"))
SECONDS = float(os.environ.get("BENCH_THREADS_SECONDS", "20"))
POSTER = Unit("UP-CHA-PS-MUGHALSARAI", "police_station", "reporter", 9, 135)
MENTIONED = {"state": 10, "unit_id": "BR-KAI-CP-KARMNASA"}
MENTIONED_PHONE = "+919400000200"  # as infra/dev/units.json lists it
PAIR = next(
    p for p in load_pairs(lgd.load()) if p.includes(Area(9, 135)) and p.includes(Area(10, 200))
)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[int(q * (len(ordered) - 1))] if ordered else float("nan")


def taken_at(gateway: Gateway, phone: str) -> dict[str, list[float]]:
    """When the gateway took each marked SMS to `phone`: marker -> times (one if once)."""
    found: dict[str, list[float]] = collections.defaultdict(list)
    for record in gateway.taken():
        if record.get("to") != phone:
            continue
        for word in record.get("text", "").split():
            if word.startswith("M") and word[1:].isdigit():
                found[word].append(record["at"])
    return found


async def baseline(gateway: Gateway) -> list[float]:
    """The same rate of SMS straight to the gateway: request to the gateway's record."""
    sent: dict[str, float] = {}
    phone = f"+9198{uuid.uuid4().int % 10**8:08d}"
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:

        async def one(n: int, due: float) -> None:
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            marker = f"M{n:05d}"
            text = f"प्रहरी: UP-CHA-PS-MUGHALSARAI ने उल्लेख किया: {marker}"
            body = {"to": phone, "sender": "PRHARI", "entity_id": "1", "reference": marker,
                    "template_id": "1007000000000000131", "text": text}  # fmt: skip
            sent[marker] = time.time()
            async with http.post(f"{gateway.url}/sms", json=body) as r:
                await r.read()

        start = time.monotonic() + 0.2
        await asyncio.gather(*(one(n, start + n / RATE) for n in range(int(RATE * SECONDS))))
    arrived = taken_at(gateway, phone)
    return [arrived[m][0] - sent[m] for m in sent if m in arrived]


async def mentions(gateway: Gateway, units_path: Path) -> dict[str, float]:
    env = {
        "PRAHARI_UNIT_DIRECTORY": str(units_path),
        "PRAHARI_SMS_GATEWAY_URL": f"{gateway.url}/sms",
        "PRAHARI_SMTP_PORT": str(gateway.smtp_port),
    }
    posted: dict[str, float] = {}  # marker -> when cases answered 201
    refused = 0
    async with services(("cases", "notify"), env) as ports:
        url = f"http://127.0.0.1:{ports['cases']}/v1/threads/{PAIR.pair_id}/messages"
        headers = {"Authorization": f"Bearer {mint(POSTER)}"}
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:

            async def one(n: int, due: float) -> None:
                nonlocal refused
                await asyncio.sleep(max(0.0, due - time.monotonic()))
                marker = f"M{n:05d}"
                body = {"text": f"{marker} ट्रक कर्मनासा की ओर", "mentions": [MENTIONED]}
                async with http.post(url, json=body, headers=headers) as r:
                    await r.read()
                    if r.status != 201:
                        refused += 1
                        return
                    posted[marker] = time.time()

            start = time.monotonic() + 0.5
            total = int(RATE * SECONDS)
            await asyncio.gather(*(one(n, start + n / RATE) for n in range(total)))
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if len(taken_at(gateway, MENTIONED_PHONE).keys() & posted.keys()) >= len(posted):
                break
            await asyncio.sleep(0.5)
    arrived = taken_at(gateway, MENTIONED_PHONE)
    latencies = [arrived[m][0] - posted[m] for m in posted if m in arrived]
    return {
        "messages": len(posted),
        "refused": refused,
        "sms_arrived": sum(1 for m in posted if m in arrived),
        "sms_doubled": sum(1 for m in posted if len(arrived.get(m, [])) > 1),
        "p50_s": statistics.median(latencies) if latencies else float("nan"),
        "p99_s": percentile(latencies, 0.99),
    }


async def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="bench-threads-"))
    gateway = Gateway(folder)
    await gateway.start()
    try:
        floor = await baseline(gateway)
        result = await mentions(gateway, ROOT / "infra" / "dev" / "units.json")
    finally:
        await gateway.stop()
    print(f"mentions at {RATE:.0f}/s for {SECONDS:.0f} s: {result}")
    figures = {f"threads_mention_{int(RATE)}_per_s_{k}": v for k, v in result.items()}
    figures["threads_gateway_floor_p50_s"] = statistics.median(floor)
    figures["threads_gateway_floor_p99_s"] = percentile(floor, 0.99)
    figures["threads_mention_p99_over_floor_p99"] = (
        result["p99_s"] / figures["threads_gateway_floor_p99_s"]
    )
    for name, value in figures.items():
        print(f"{name}={value:.4g}")


if __name__ == "__main__":
    asyncio.run(main())

"""Fault drills: the whole system under a steady load of realistic reports while, one at a
time, each service is killed with SIGKILL and started again, the broker is paused, and
PostgreSQL is restarted (with --cluster: on three brokers, one of which is also killed).

Everything runs on infrastructure of the drill's own (a PostgreSQL cluster and a broker or
three, started by infra/), never the shared ones. The load is what units send: all five
report types, Hindi and English, each with its Idempotency-Key, retried on 503, 409 or a
refused connection exactly as a client should. After the last drill the load stops, the
system settles, and every figure is counted from what the parts themselves hold: the
reports accepted (a 2xx), the cases (cases' own tables), the SMS and emails the gateways
and the SMTP server received, the dead letters on the topic.

    python -m tests.drill [--cluster] [--short]       (./dev drill)

prints `name=value` lines; exit 1 unless nothing was lost, no case or SMS was doubled, no
email went out under two Message-IDs, and nothing was dead-lettered.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import copy
import os
import random
import signal
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

from prahari_audit.topics import read_whole
from prahari_cases.domain.case import case_id_for
from prahari_events.kafka import KafkaAccess, Topics, create_topics
from prahari_intake.entrypoints.examples import EXAMPLES
from tests.factories import SONBHADRA, STATION, UP
from tests.own_infra import OwnBroker, OwnCluster, OwnPostgres, free_port_block, free_port_pair
from tests.support import bearer, free_port
from tests.system_support import System, running_system

HINDI = ["सीमा पर संदिग्ध वाहन", "अवैध शराब की खेप", "झूठी अफवाह फैलाई जा रही है", "नकदी से भरी गाड़ी"]
ENGLISH = ["suspicious vehicle at the border", "illegal liquor consignment", "rumour spreading",
           "car full of cash"]  # fmt: skip


@dataclass
class Filed:
    key: str
    started: float
    accepted_at: float | None = None
    report_id: str | None = None
    retries: int = 0


@dataclass
class Window:
    name: str
    start: float
    fault_start: float = 0.0
    fault_end: float = 0.0
    end: float = 0.0
    recovered_s: float | None = None


@dataclass
class Load:
    """Reports at a steady rate, each retried until accepted."""

    url: str
    rate_per_s: float
    filed: list[Filed] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    async def run(self) -> None:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as http:
            n = 0
            while not self._stop.is_set():
                task = asyncio.create_task(self._file(http, n))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
                n += 1
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), 1 / self.rate_per_s)
            # Everything started is seen through: a client does not give up on a report.
            await asyncio.gather(*self._tasks)

    def stop(self) -> None:
        self._stop.set()

    async def _file(self, http: aiohttp.ClientSession, n: int) -> None:
        filed = Filed(str(uuid.uuid4()), time.monotonic())
        self.filed.append(filed)
        body = report(n)
        headers = {**bearer(STATION), "Idempotency-Key": filed.key}
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                async with http.post(self.url, json=body, headers=headers) as answer:
                    if answer.status in (200, 202):
                        filed.report_id = (await answer.json())["report_id"]
                        filed.accepted_at = time.monotonic()
                        return
                    if answer.status not in (409, 503):
                        self.refused.append(f"{answer.status}: {await answer.text()}")
                        return
                    wait = float(answer.headers.get("Retry-After", "1"))
            except (aiohttp.ClientError, TimeoutError):
                wait = 1.0  # the service is down or did not answer: the same key again
            filed.retries += 1
            await asyncio.sleep(min(wait, 2.0) * random.uniform(0.5, 1.0))
        self.refused.append(f"gave up on {filed.key}")


def report(n: int) -> dict[str, Any]:
    """The n-th report: the five types in turn, Hindi and English, all from the Robertsganj
    station in Sonbhadra, each distinct so that each opens a case of its own."""
    kind = list(EXAMPLES)[n % len(EXAMPLES)]
    body = copy.deepcopy(EXAMPLES[kind])
    words = HINDI if n % 2 == 0 else ENGLISH
    body["description"] = f"{words[n % len(words)]} #{n} {uuid.uuid4().hex[:6]}"
    body["state"], body["district"] = UP, SONBHADRA
    details = body.get(kind)
    if isinstance(details, dict):
        if "post_url" in details:
            details["post_url"] = f"https://chat.whatsapp.com/drill-{uuid.uuid4().hex}"
        if "vehicles" in details:
            details["vehicles"] = [f"UP64{chr(65 + n % 26)}{chr(65 + n // 26 % 26)}{n % 10000:04d}"]
        place = details.get("place")
        if isinstance(place, dict) and "district" in place:
            place["district"] = SONBHADRA
    return body


@dataclass
class Infra:
    postgres: OwnPostgres
    broker: OwnBroker | None
    cluster: OwnCluster | None

    @property
    def kafka(self) -> KafkaAccess:
        return self.cluster.access() if self.cluster else KafkaAccess(self.broker_bootstrap)

    @property
    def broker_bootstrap(self) -> str:
        assert self.broker is not None
        return self.broker.bootstrap


@contextlib.asynccontextmanager
async def own_infra(home: Path, *, cluster: bool) -> AsyncIterator[Infra]:
    postgres = OwnPostgres(free_port())
    broker = None if cluster else OwnBroker(home / "kafka", free_port_pair())
    brokers = OwnCluster(home / "kafka-cluster", free_port_block(3)) if cluster else None
    await asyncio.to_thread(postgres.start)
    try:
        await asyncio.to_thread(brokers.start if brokers else broker.start)  # type: ignore[union-attr]
        try:
            yield Infra(postgres, broker, brokers)
        finally:
            await asyncio.to_thread(brokers.stop if brokers else broker.stop)  # type: ignore[union-attr]
    finally:
        await asyncio.to_thread(postgres.remove)


Fault = Callable[[System, Infra, float], Awaitable[None]]


def kill_service(name: str) -> Fault:
    async def fault(system: System, _infra: Infra, hold_s: float) -> None:
        await system.kill(name)
        await asyncio.sleep(hold_s)
        await system.spawn(name)

    return fault


async def pause_broker(_system: System, infra: Infra, hold_s: float) -> None:
    pid = infra.cluster.pid(2) if infra.cluster else infra.broker.pid  # type: ignore[union-attr]
    os.kill(pid, signal.SIGSTOP)
    try:
        await asyncio.sleep(hold_s)
    finally:
        os.kill(pid, signal.SIGCONT)


async def restart_postgres(_system: System, infra: Infra, hold_s: float) -> None:
    await asyncio.to_thread(infra.postgres.stop)
    await asyncio.sleep(hold_s)
    await asyncio.to_thread(infra.postgres.start)


async def kill_broker(_system: System, infra: Infra, _hold_s: float) -> None:
    assert infra.cluster is not None
    os.kill(infra.cluster.pid(3), signal.SIGKILL)  # it stays down: two of three remain


def drills(cluster: bool) -> dict[str, Fault]:
    found: dict[str, Fault] = {f"kill-{s}": kill_service(s) for s in ("intake", "cases", "notify")}
    found["pause-broker"] = pause_broker
    found["restart-postgres"] = restart_postgres
    if cluster:
        found["kill-broker"] = kill_broker
    return found


async def run(*, cluster: bool, rate: float, phase_s: float, hold_s: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="prahari-drill-") as tmp:
        home = Path(tmp)
        async with own_infra(home, cluster=cluster) as infra:
            topics = Topics("")
            replication = 3 if cluster else 1
            await create_topics(infra.kafka, topics.specs(), replication=replication,
                                min_insync=2 if cluster else 1)  # fmt: skip
            kafka_env = {"PRAHARI_KAFKA_BOOTSTRAP": infra.kafka.bootstrap}
            async with running_system(
                topics,
                "drill",
                home,
                lambda _name: kafka_env,
                owner_url=infra.postgres.url(),
                url_of=infra.postgres.url,
                extra_env={
                    "PRAHARI_KAFKA_REPLICATION": str(replication),
                    "PRAHARI_INTAKE_KAFKA_ACK_TIMEOUT_S": "3",
                    "PRAHARI_LOG_LEVEL": "WARNING",
                },
            ) as system:
                return await _drive(system, infra, cluster=cluster, rate=rate,
                                    phase_s=phase_s, hold_s=hold_s)  # fmt: skip
    raise AssertionError("unreachable")


async def _drive(
    system: System, infra: Infra, *, cluster: bool, rate: float, phase_s: float, hold_s: float
) -> dict[str, Any]:
    load = Load(f"{system.urls['intake']}/v1/reports", rate)
    loader = asyncio.create_task(load.run())
    windows: list[Window] = []
    await asyncio.sleep(phase_s)  # warm up
    for name, fault in drills(cluster).items():
        window = Window(name, time.monotonic())
        await asyncio.sleep(phase_s)
        window.fault_start = time.monotonic()
        await fault(system, infra, hold_s)
        window.fault_end = time.monotonic()
        await asyncio.sleep(phase_s)
        window.end = time.monotonic()
        windows.append(window)
        print(f"drill {name}: done", file=sys.stderr)
    load.stop()
    await loader
    settled = await _settle(system, infra, load)
    figures = _figures(system, infra, load, windows, settled)
    # What the kept-forever topics hold per report (one broker's copy; a cluster keeps
    # three): reports, case events, notifications, the access log, checkpoints.
    data = infra.cluster.home / "node-1" if infra.cluster else infra.broker.home  # type: ignore[union-attr]
    stored = sum(
        f.stat().st_size for d in (data / "kafka").glob("prahari.*") for f in d.iterdir()
        if f.suffix == ".log"
    )  # fmt: skip
    figures["kafka_log_bytes"] = stored
    figures["kafka_bytes_per_report"] = round(stored / max(1, figures["accepted"]))
    return figures


@dataclass
class Settled:
    case_of: dict[str, str]  # report id -> case id
    cases_opened: int
    sms_of_case: dict[str, list[str]]  # case id -> SMS notification ids
    dead_letters: int
    seconds: float


async def _settle(system: System, infra: Infra, load: Load, within: float = 180) -> Settled:
    """Wait until every accepted report is in a case and every case's SMS has reached the
    gateway (or the deadline passes: whatever is missing then is lost)."""
    accepted = {f.report_id for f in load.filed if f.report_id}
    started = time.monotonic()
    pool = await asyncpg.create_pool(infra.postgres.url(), min_size=1, max_size=2)
    assert pool is not None
    try:
        while True:
            case_of = {str(r["report_id"]): str(r["case_id"]) for r in await pool.fetch(
                "SELECT report_id, case_id FROM cases_drill.case_reports")}  # fmt: skip
            sms_rows = await pool.fetch(
                "SELECT case_id, notification_id FROM notify_drill.deliveries WHERE channel = 'sms'"
            )
            sms_of_case: dict[str, list[str]] = {}
            for r in sms_rows:
                sms_of_case.setdefault(str(r["case_id"]), []).append(str(r["notification_id"]))
            references = {str(r["body"].get("reference")) for r in system.sms.requests}
            cases = set(case_of.values())
            done = accepted <= set(case_of) and all(
                c in sms_of_case and set(sms_of_case[c]) <= references for c in cases
            )
            if done or time.monotonic() - started > within:
                break
            await asyncio.sleep(1)
        opened = await pool.fetchval(
            "SELECT count(*) FROM cases_drill.events WHERE type = 'case.opened'"
        )
    finally:
        await pool.close()
    dead = await read_whole(infra.kafka, Topics("").deadletter)
    return Settled(case_of, int(opened), sms_of_case, len(dead), time.monotonic() - started)


def _figures(
    system: System, infra: Infra, load: Load, windows: list[Window], settled: Settled
) -> dict[str, Any]:
    accepted = [f for f in load.filed if f.report_id]
    lost = [f for f in accepted if f.report_id not in settled.case_of]
    posts = Counter(str(r["body"].get("reference")) for r in system.sms.requests)
    first_sms: dict[str, float] = {}
    for r in system.sms.requests:
        first_sms.setdefault(str(r["body"].get("reference")), r["at"])
    # An email whose send was cut by a crash may go once more with the same Message-ID
    # (SMTP cannot be asked what it took; a mail client shows it once): counted apart. Two
    # Message-IDs for one notification would be a real double.
    received = system.mail.received()
    mails = Counter(str(m["X-Prahari-Notification"]) for m in received)
    message_ids: dict[str, set[str]] = {}
    for m in received:
        message_ids.setdefault(str(m["X-Prahari-Notification"]), set()).add(str(m["Message-ID"]))
    # time.monotonic() for the load, time.time() at the gateway: one offset joins them.
    offset = time.time() - time.monotonic()

    def latency(f: Filed) -> float | None:
        """202 to SMS, for a report that opened its case (one triage linked to an open case
        was told about when that case opened)."""
        case = settled.case_of.get(f.report_id or "")
        if f.report_id is None or case != str(case_id_for(uuid.UUID(f.report_id))):
            return None
        sent = [first_sms[n] for n in settled.sms_of_case.get(case or "", []) if n in first_sms]
        if f.accepted_at is None or not sent:
            return None
        return float(min(sent)) - (f.accepted_at + offset)

    def p(values: list[float], q: int) -> float:
        return round(statistics.quantiles(values, n=100)[q - 1], 3) if len(values) > 1 else (
            round(values[0], 3) if values else float("nan"))  # fmt: skip

    out: dict[str, Any] = {
        "accepted": len(accepted),
        "refused": len(load.refused),
        "retried": sum(1 for f in load.filed if f.retries),
        "cases": len(set(settled.case_of.values())),
        "cases_doubled": settled.cases_opened - len(set(settled.case_of.values())),
        "sms": len(posts),
        "sms_doubled": sum(n - 1 for n in posts.values()),
        "emails": len(mails),
        "emails_doubled": sum(len(ids) - 1 for ids in message_ids.values()),
        "emails_resent_same_message_id": sum(n - 1 for n in mails.values()),
        "lost": len(lost),
        "dead_lettered": settled.dead_letters,
        "settle_s": round(settled.seconds, 1),
    }
    for w in windows:

        def within(a: float, b: float) -> list[float]:
            return [x for f in accepted if f.accepted_at and a <= f.accepted_at < b
                    and (x := latency(f)) is not None]  # fmt: skip

        out[f"{w.name}.sms_p50_before_s"] = p(within(w.start, w.fault_start), 50)
        out[f"{w.name}.sms_p50_during_s"] = p(within(w.fault_start, w.fault_end + 5), 50)
        out[f"{w.name}.sms_p50_after_s"] = p(within(w.fault_end + 5, w.end), 50)
        # Recovery: from the fault's start until a report accepted after it has its SMS.
        after = sorted(
            f.accepted_at + offset + lat for f in accepted
            if f.accepted_at and f.accepted_at >= w.fault_end and (lat := latency(f)) is not None
        )  # fmt: skip
        out[f"{w.name}.recovered_s"] = (
            round(after[0] - (w.fault_start + offset), 1) if after else float("nan")
        )
        out[f"{w.name}.accepted_during"] = sum(
            1 for f in accepted if f.accepted_at and w.fault_start <= f.accepted_at < w.fault_end
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="drill", description=__doc__.split("\n\n")[0])
    parser.add_argument("--cluster", action="store_true", help="three brokers, one killed too")
    parser.add_argument("--short", action="store_true", help="the test suite's length")
    parser.add_argument("--rate", type=float, default=4.0, help="reports per second")
    args = parser.parse_args(argv)
    phase, hold = (6.0, 4.0) if args.short else (15.0, 10.0)
    figures = asyncio.run(run(cluster=args.cluster, rate=args.rate, phase_s=phase, hold_s=hold))
    for name, value in figures.items():
        print(f"{name}={value}")
    ok = figures["lost"] == 0 and figures["sms_doubled"] == 0 and figures["emails_doubled"] == 0
    ok = ok and figures["dead_lettered"] == 0 and figures["cases_doubled"] == 0
    return 0 if ok and figures["refused"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

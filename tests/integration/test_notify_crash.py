"""A notify process killed (SIGKILL) at each step of sending loses no message and sends no
SMS twice: killed as the gateway receives a message (before it takes it), killed just after
the gateway took one (before notify recorded it), and killed at random in between, with a
new process started each time. notify runs as its own process fed through Kafka, on the
real PostgreSQL, a real SMTP server and the development gateway."""

from __future__ import annotations

import asyncio
import collections
import os
import random
import signal
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from prahari_devsinks.sms import SmsGateway
from prahari_events.catalogue import build_registry
from prahari_events.db import create_pool, drop_schema
from prahari_events.envelope import Actor, Draft, Jurisdiction
from prahari_events.kafka import Topics
from tests.factories import SONBHADRA, UP
from tests.notify_support import Sms, Smtp, notify_env, opened_payload, until, write_units
from tests.support import DATABASE_URL, free_port, migrate_for, publish

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

CASES = 30
PHONE, MAIL = "+919000000184", "dcr-184@control-room.prahari.test"


def _opened(case_id: uuid.UUID) -> Any:
    now = datetime.now(UTC)
    draft = Draft(
        type="case.opened",
        payload={"case_id": str(case_id), **opened_payload(report_type="seizure")},
        actor=Actor("service:cases", "system", "service"),
        jurisdiction=Jurisdiction(UP, SONBHADRA),
        correlation_id=case_id,
    )
    return build_registry().stamp(
        draft, stream_id=f"case-{case_id}", stream_version=1, recorded_at=now, trace={}
    )


class Notify:
    """notify as a process that the drill kills and starts again."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = {"PATH": os.environ.get("PATH", ""), **env}
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None
        self.kills = 0

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "prahari_notify"], env=self.env, stdout=log, stderr=log
            )

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()
            self.kills += 1

    def restart_if_dead(self) -> None:
        if self.process is None or self.process.poll() is not None:
            self.start()


async def test_notify_killed_at_each_step_loses_nothing_and_doubles_no_sms(
    topics: Topics, test_id: str, tmp_path: Path
) -> None:
    schema = f"notify_{test_id}"
    sms, fallback, smtp, smtp_fallback = Sms(SmsGateway()), Sms(SmsGateway()), Smtp(), Smtp()
    await sms.start()
    await fallback.start()
    smtp.start()
    smtp_fallback.start()
    env = notify_env(
        topics, schema, write_units(tmp_path / "units.json"), (sms.port, fallback.port),
        (smtp.port, smtp_fallback.port),
        PRAHARI_NOTIFY_PORT=str(free_port()), PRAHARI_NOTIFY_LEASE_S="2",
        PRAHARI_NOTIFY_SMS_CONCURRENCY="4", PRAHARI_LOG_LEVEL="WARNING",
    )  # fmt: skip
    await migrate_for(schema, "notify")
    notify = Notify(env, tmp_path / "notify.log")
    g = sms.gateway
    g.delay_s = 0.05
    received: collections.Counter[str] = collections.Counter()
    posts_after_accept: collections.Counter[str] = collections.Counter()
    # Which arrivals at the gateway kill notify, and how: before the gateway takes the
    # message, or right after it took it (before notify can record that it did).
    plan = {3: "receive", 9: "accept", 15: "receive", 22: "accept"}
    arrivals = 0
    pending_accept_kill = False

    def on_receive(reference: str) -> bool:
        nonlocal arrivals, pending_accept_kill
        arrivals += 1
        received[reference] += 1
        if reference in g.ids_by_reference:
            posts_after_accept[reference] += 1
        step = plan.get(arrivals)
        if step == "receive":
            notify.kill()
            return False
        pending_accept_kill = step == "accept"
        return True

    def on_accept(_reference: str) -> None:
        nonlocal pending_accept_kill
        if pending_accept_kill:
            pending_accept_kill = False
            notify.kill()

    g.on_receive, g.on_accept = on_receive, on_accept
    await publish(
        topics.case_events, build_registry(), [_opened(uuid.uuid4()) for _ in range(CASES)]
    )
    notify.start()

    async def supervise() -> None:
        rng = random.Random(7)
        random_kills = 2
        while True:
            await asyncio.sleep(0.3)
            if random_kills and rng.random() < 0.15 and notify.kills >= 1:
                notify.kill()  # somewhere else: consuming, claiming, recording, relaying
                random_kills -= 1
            notify.restart_if_dead()

    supervisor = asyncio.create_task(supervise())
    pool = await create_pool(DATABASE_URL, schema, application="tests", max_size=2)
    try:

        async def all_sent() -> bool:
            try:
                sent = await pool.fetchval("SELECT count(*) FROM deliveries WHERE status = 'sent'")
            except asyncpg.UndefinedTableError:
                return False
            return bool(sent == 2 * CASES)

        await until(all_sent, within=120)
        assert notify.kills >= 4, "the drill should have killed notify at every planned step"
        # Every SMS reached the gateway and was taken once; none was posted again after the
        # gateway had it (the status query answered instead).
        assert len(g.ids_by_reference) == CASES
        assert sum(posts_after_accept.values()) == 0, posts_after_accept
        assert fallback.gateway.requests == []
        # Every email arrived. Mail has no status query: one the relay took just before a
        # kill, and that notify had not recorded, goes once more with the same Message-ID,
        # so each kill can repeat at most the emails then in flight (8), each once.
        ids = collections.Counter(str(m["Message-ID"]) for m in smtp.sink.received())
        assert len(ids) == CASES
        assert all(n <= 1 + notify.kills for n in ids.values())
        assert sum(n - 1 for n in ids.values()) <= 8 * notify.kills
        # Each notification was recorded as sent once.
        sent = await pool.fetch(
            "SELECT stream_id, count(*) AS n FROM events WHERE type = 'notification.sent'"
            " GROUP BY stream_id"
        )
        assert len(sent) == 2 * CASES
        assert {r["n"] for r in sent} == {1}
    finally:
        supervisor.cancel()
        notify.kill()
        await sms.stop()
        await fallback.stop()
        smtp.stop()
        smtp_fallback.stop()
        await drop_schema(pool, schema)
        await pool.close()

"""A notify under test: the real app (its own schema and topics) with two development SMS
gateways and two real SMTP servers in this process, every window in fractions of a second.
Case events are handed to notify's handler in a transaction, as its consumer would; the
walking skeleton and the crash drill feed it through Kafka instead."""

from __future__ import annotations

import asyncio
import inspect
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from aiosmtpd.controller import Controller

from prahari_devsinks.sms import SmsGateway
from prahari_devsinks.smtp import MailSink, start_smtp
from prahari_events.catalogue import build_registry
from prahari_events.db import create_pool, drop_schema
from prahari_events.envelope import Actor, Draft, Envelope, Jurisdiction
from prahari_events.kafka import Topics
from prahari_events.runtime import POOL
from prahari_events.store import EventStore
from prahari_events.telemetry import no_op_tracer
from prahari_events.webhooks import signature
from prahari_notify.config import Settings
from prahari_notify.entrypoints.http import DISPATCHERS, HANDLERS, SWEEPER, create_app
from tests.factories import BIHAR, SONBHADRA, UP
from tests.support import DATABASE_URL, KAFKA, NOTIFY_URL, TOKEN_TRUST, free_port, migrate_for

KAIMUR = 200
RECEIPT_SECRET = "receipt-secret-for-tests"

UNITS: list[dict[str, Any]] = [
    {"unit_id": "UP-SON-DCR", "name": "District Control Room, Sonbhadra",
     "kind": "district_control_room", "state": UP, "district": SONBHADRA,
     "phone": "+919000000184", "email": "dcr-184@control-room.prahari.test", "language": "hi"},
    {"unit_id": "UP-SCR", "name": "State Control Room, Uttar Pradesh",
     "kind": "state_control_room", "state": UP, "district": None,
     "phone": "+919001000009", "email": "scr-9@control-room.prahari.test", "language": "en"},
    {"unit_id": "UP-SON-FS-1", "name": "Flying Squad 1, Sonbhadra", "kind": "flying_squad",
     "state": UP, "district": SONBHADRA, "phone": "+919100000184", "email": None,
     "language": "hi"},
    {"unit_id": "UP-SON-PS-ROBERTSGANJ", "name": "Police Station Robertsganj",
     "kind": "police_station", "state": UP, "district": SONBHADRA, "phone": "+919200000184",
     "email": "ps-robertsganj@units.prahari.test", "language": "hi"},
    {"unit_id": "BR-SCR", "name": "State Control Room, Bihar", "kind": "state_control_room",
     "state": BIHAR, "district": None, "phone": "+919001000010",
     "email": "scr-10@control-room.prahari.test", "language": "hi"},
    {"unit_id": "BR-KAI-DCR", "name": "District Control Room, Kaimur",
     "kind": "district_control_room", "state": BIHAR, "district": KAIMUR,
     "phone": "+919000000200", "email": "dcr-200@control-room.prahari.test", "language": "hi"},
    {"unit_id": "UP-SON-EXCISE-1", "name": "Excise Unit 1, Sonbhadra", "kind": "excise_unit",
     "state": UP, "district": SONBHADRA, "phone": None, "email": None, "language": "hi"},
]  # fmt: skip
STATION_REF = {"state": UP, "unit_id": "UP-SON-PS-ROBERTSGANJ"}


def write_units(path: Path) -> Path:
    path.write_text(json.dumps({"units": UNITS}, ensure_ascii=False), encoding="utf-8")
    return path


def notify_env(
    topics: Topics, schema: str, units: Path, sms_ports: tuple[int, int], smtp: tuple[int, int],
    **extra: str,
) -> dict[str, str]:  # fmt: skip
    return {
        "PRAHARI_TOKEN_TRUST": TOKEN_TRUST,
        "PRAHARI_KAFKA_BOOTSTRAP": KAFKA.bootstrap,
        "DATABASE_URL": NOTIFY_URL,
        "PRAHARI_DB_SCHEMA": schema,
        "PRAHARI_TOPIC_PREFIX": topics.prefix,
        "PRAHARI_UNIT_DIRECTORY": str(units),
        "PRAHARI_SMS_GATEWAY_URL": f"http://127.0.0.1:{sms_ports[0]}/sms",
        "PRAHARI_SMS_FALLBACK_URL": f"http://127.0.0.1:{sms_ports[1]}/sms",
        "PRAHARI_SMTP_PORT": str(smtp[0]),
        "PRAHARI_SMTP_FALLBACK": f"127.0.0.1:{smtp[1]}",
        "PRAHARI_SMS_RECEIPT_SECRET": RECEIPT_SECRET,
        "PRAHARI_NOTIFY_PROVIDER_TIMEOUT_S": "1",
        "PRAHARI_NOTIFY_LEASE_S": "3",
        "PRAHARI_NOTIFY_RETRY_BASE_S": "0.1",
        "PRAHARI_NOTIFY_RETRY_CAP_S": "0.4",
        "PRAHARI_NOTIFY_MAX_ATTEMPTS": "8",
        "PRAHARI_NOTIFY_BREAKER_FAILURES": "2",
        "PRAHARI_NOTIFY_BREAKER_COOLDOWN_S": "1.5",
        "PRAHARI_NOTIFY_POLL_S": "0.05",
        "PRAHARI_NOTIFY_SWEEP_S": "0.2",
        "PRAHARI_NOTIFY_DIGEST_WINDOW_S": "1.5",
        **extra,
    }


class Sms:
    """A development gateway listening on its own port."""

    def __init__(self, gateway: SmsGateway) -> None:
        self.gateway = gateway
        self.port = free_port()
        self._runner = web.AppRunner(gateway.app())

    async def start(self) -> None:
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        await self._runner.cleanup()


class Smtp:
    """A real SMTP server (aiosmtpd) that can be stopped and started again on its port."""

    def __init__(self) -> None:
        self.sink = MailSink()
        self.port = free_port()
        self._server: Controller | None = None

    def start(self) -> None:
        self._server = start_smtp("127.0.0.1", self.port, self.sink)

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None


def opened_payload(**overrides: Any) -> dict[str, Any]:
    """A case.opened payload (less its case id) for a tip filed by the Robertsganj station."""
    now = datetime.now(UTC)
    return {
        "report_id": str(uuid.uuid4()),
        "report_type": "smuggling_tip",
        "description": "बिहार सीमा पर अवैध शराब से भरा ट्रक",
        "state": UP,
        "district": SONBHADRA,
        "reported_by": {"unit_id": STATION_REF["unit_id"], "role": "reporter",
                        "kind": "police_station", "state": UP, "district": SONBHADRA},
        "reported_at": now.isoformat(),
        "assign_by": (now + timedelta(minutes=5)).isoformat(),
        "decide_by": (now + timedelta(minutes=100)).isoformat(),
        "identifiers": [],
        "estimated_reach": None,
        "sla": {"assign": 300, "acknowledge": 600, "field_report": 3600, "close": 6000,
                "takedown": 129600, "fact_check": 21600, "source_action": 259200},
        "source": None,
        **overrides,
    }  # fmt: skip


async def until(cond: Callable[[], Any], *, within: float = 10.0) -> Any:
    """Wait for `cond` (plain or async) to be truthy; fail after `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        value = cond()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {within} s waiting for {cond}")
        await asyncio.sleep(0.05)


class OffsetClock:
    """The real time plus an offset a test moves forward: notify's clock, so that a test of
    a cool-down or an expiry advances it instead of sleeping."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


@dataclass
class Rig:
    client: TestClient[Any, Any]
    app: web.Application
    sms: SmsGateway
    sms_fallback: SmsGateway
    smtp: Smtp
    smtp_fallback: Smtp
    clock: OffsetClock = field(default_factory=OffsetClock)
    case_id: uuid.UUID = field(default_factory=uuid.uuid4)
    _version: int = 0

    @property
    def pool(self) -> Any:
        return self.app[POOL]

    def event(
        self, type_: str, payload: Mapping[str, Any], *, at: datetime | None = None
    ) -> Envelope:
        """The next event of this rig's case, as cases would publish it."""
        self._version += 1
        now = at or datetime.now(UTC)
        draft = Draft(
            type=type_,
            payload={"case_id": str(self.case_id), **payload},
            actor=Actor("service:cases", "system", "service"),
            jurisdiction=Jurisdiction(UP, SONBHADRA),
            correlation_id=self.case_id,
            occurred_at=now,
        )
        return build_registry().stamp(
            draft, stream_id=f"case-{self.case_id}", stream_version=self._version,
            recorded_at=now, trace={},
        )  # fmt: skip

    async def deliver(self, *events: Envelope) -> None:
        """Hand events to notify's handler, each in its own transaction, as its consumer
        does: an event it has processed before is skipped."""
        for event in events:
            async with self.pool.acquire() as conn, conn.transaction():
                fresh = await conn.fetchval(
                    "INSERT INTO processed_messages (consumer, event_id, topic, partition,"
                    ' "offset") VALUES ($1, $2, $3, 0, 0) ON CONFLICT DO NOTHING RETURNING true',
                    "tests",
                    event.event_id,
                    "tests",
                )
                if fresh:
                    await self.app[HANDLERS](conn, event)
        for dispatcher in self.app[DISPATCHERS]:
            dispatcher.wake()

    async def open_case(self, **overrides: Any) -> Envelope:
        payload = opened_payload(**overrides)
        event = self.event("case.opened", payload)
        await self.deliver(event)
        return event

    async def sweep(self) -> int:
        done: int = await self.app[SWEEPER].sweep_once()
        for dispatcher in self.app[DISPATCHERS]:
            dispatcher.wake()
        return done

    async def rows(self) -> list[dict[str, Any]]:
        found = await self.pool.fetch(
            "SELECT * FROM deliveries WHERE case_id = $1 ORDER BY created_at", self.case_id
        )
        return [dict(r) for r in found]

    async def events_of(self, notification_id: uuid.UUID) -> list[Envelope]:
        return await EventStore(build_registry()).read_stream(
            self.pool, f"notification-{notification_id}"
        )

    async def receipt(self, body: Mapping[str, Any], *, timestamp: str | None = None) -> Any:
        raw = json.dumps(body, default=str).encode()
        stamp = timestamp or str(int(datetime.now(UTC).timestamp()))
        return await self.client.post(
            "/v1/receipts/sms",
            data=raw,
            headers={
                "Content-Type": "application/json",
                "X-Prahari-Timestamp": stamp,
                "X-Prahari-Signature": signature(RECEIPT_SECRET.encode(), stamp, raw),
            },
        )


@asynccontextmanager
async def notify_rig(
    topics: Topics,
    schema: str,
    tmp: Path,
    *,
    routes: Mapping[str, Any] | None = None,
    **extra: str,
) -> AsyncIterator[Rig]:
    sms, fallback = Sms(SmsGateway()), Sms(SmsGateway())
    smtp, smtp_fallback = Smtp(), Smtp()
    for gateway in (sms.gateway, fallback.gateway):
        gateway.receipt_secret = RECEIPT_SECRET
        gateway.drop_receipts = True  # tests that want receipts turn them on
    await sms.start()
    await fallback.start()
    smtp.start()
    smtp_fallback.start()
    if routes is not None:
        path = tmp / "routes.json"
        path.write_text(json.dumps(routes), encoding="utf-8")
        extra = {"PRAHARI_NOTIFY_ROUTES": str(path), **extra}
    env = notify_env(
        topics, schema, write_units(tmp / "units.json"), (sms.port, fallback.port),
        (smtp.port, smtp_fallback.port), **extra,
    )  # fmt: skip
    await migrate_for(schema, "notify")
    clock = OffsetClock()
    app = create_app(Settings.from_env(env), no_op_tracer(), clock=clock)
    try:
        async with TestClient(TestServer(app)) as client:
            url = f"http://127.0.0.1:{client.port}/v1/receipts/sms"
            sms.gateway.receipt_url = fallback.gateway.receipt_url = url
            yield Rig(client, app, sms.gateway, fallback.gateway, smtp, smtp_fallback, clock)
    finally:
        await sms.stop()
        await fallback.stop()
        smtp.stop()
        smtp_fallback.stop()
        cleanup = await create_pool(DATABASE_URL, schema, application="tests", max_size=1)
        await drop_schema(cleanup, schema)
        await cleanup.close()

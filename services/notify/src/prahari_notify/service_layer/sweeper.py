"""The clock's work: alerts not delivered within their time to live expire and the next
level's control room is told; digest windows that ended send their digest. Each item is one
short transaction, so two notify processes share the work (SKIP LOCKED) and a crash redoes
at most the item it was on (derived ids make the redo queue nothing twice)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

import asyncpg

from prahari_events.catalogue import THREAD_MESSAGE_POSTED
from prahari_events.db import Conn
from prahari_events.envelope import Jurisdiction
from prahari_events.policy import UnitRef
from prahari_events.units import UnitDirectory
from prahari_notify.adapters import store
from prahari_notify.domain import digest
from prahari_notify.domain.messages import case_ref, compose
from prahari_notify.domain.notification import is_overdue, on_expiry
from prahari_notify.domain.routing import RoutingTable, next_level
from prahari_notify.domain.templates import TEMPLATES
from prahari_notify.service_layer.dispatcher import Notifications
from prahari_notify.service_layer.handlers import (
    Cause,
    Outbox,
    digest_cause,
    digest_values,
)

log = logging.getLogger("prahari.notify.sweeper")


class Sweeper:
    def __init__(
        self,
        pool: asyncpg.Pool,
        notifications: Notifications,
        outbox: Outbox,
        routes: RoutingTable,
        units: UnitDirectory,
        *,
        digest_window_s: float,
        every_s: float,
        clock: Callable[[], datetime],
        sms_receipts: bool,
    ) -> None:
        self._pool = pool
        self._notifications = notifications
        self._outbox = outbox
        self._routes = routes
        self._units = units
        self._digest_s = digest_window_s
        self._every_s = every_s
        self._clock = clock
        self._sms_receipts = sms_receipts
        self._stopping = asyncio.Event()
        self.on_queued: Callable[[], None] = lambda: None

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                done = await self.sweep_once()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("sweep interrupted", extra={"fields": {"error": repr(exc)}})
                done = 0
            if done:
                self.on_queued()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._every_s)

    async def sweep_once(self) -> int:
        return await self.expire() + await self.flush_digests()

    async def expire(self, batch: int = 100) -> int:
        async with self._pool.acquire() as conn, conn.transaction():
            rows = await store.overdue(conn, batch, sms_receipts=self._sms_receipts)
            for row in rows:
                await self._expire(conn, row)
        return len(rows)

    async def _expire(self, conn: Conn, row: dict[str, Any]) -> None:
        n = store.notification_of(row)
        if not is_overdue(n, self._clock(), sms_receipts=self._sms_receipts):
            return
        escalated: list[uuid.UUID] = []
        unit = (
            self._units.get(UnitRef(row["recipient_state"], row["recipient_unit"]))
            if row["escalate"] and row["recipient_unit"]
            else None
        )
        if unit is not None:
            above = next_level(unit, self._units)
            case_id = str(row["case_id"]) if row["case_id"] else None
            cause = Cause(
                # One escalation per recipient and cause, whichever channel expired first.
                f"expired:{row['cause_event_id'] or row['notification_id']}:{unit.unit_id}",
                "notification.expired",
                row["notification_id"],
                case_id,
                Jurisdiction(row["state"], row["district"]),
                row["correlation_id"] or uuid.uuid4(),
                row["queued_event_id"],
            )
            values = {"ref": case_ref(case_id) if case_id else "", "detail": unit.name}
            details = [("Case / मामला", case_id or "-"), ("Not delivered to", unit.name)]
            messages = compose(cause.key, TEMPLATES["alert_expired"], above, values, details)
            escalated = await self._outbox.queue(conn, messages, cause, self._routes.expiry)
        plan = self._notifications.plan(row, lambda n, _row: (on_expiry(n, escalated), {}))
        await store.record(conn, n.id, plan.append, plan.changes, release=False)
        log.warning(
            "alert expired undelivered",
            extra={"fields": {"notification_id": str(n.id), "escalated_to": len(escalated)}},
        )

    async def flush_digests(self, batch: int = 100) -> int:
        done = 0
        async with self._pool.acquire() as conn, conn.transaction():
            now = self._clock()
            for window in await store.ended_windows(conn, now, batch):
                held = digest.Window(window["ends_at"], window["held"])
                count, after = digest.at_window_end(held, now, self._digest_s)
                if count:
                    unit = self._units.get(
                        UnitRef(window["recipient_state"], window["recipient_unit"])
                    )
                    route = self._routes.route(window["cause"])
                    if unit is not None and route is not None:
                        thread = window["cause"] == THREAD_MESSAGE_POSTED
                        about = "Thread / थ्रेड" if thread else "Case / मामला"
                        messages = compose(
                            digest_cause(window).key,
                            TEMPLATES[f"{route.template}_digest"],
                            [unit],
                            digest_values(window, count),
                            [(about, str(window["case_id"]))],
                        )
                        await self._outbox.queue(
                            conn, messages, digest_cause(window), route, digest_of=count
                        )
                        done += len(messages)
                await store.save_window(conn, window, after)
        return done

"""The SLA clock: fires the deadlines that came. Each due timer is claimed in a transaction
(FOR UPDATE SKIP LOCKED) and fired in a savepoint of it: the case decides whether the stage
was missed (case.sla_breached, and at the district level case.escalated by the system,
which sets the stage's next deadline), and the events, the read model and the case's timers
commit together. A process that dies mid-way rolls back and another fires the timer; two
processes never fire one timer twice."""

from __future__ import annotations

import asyncio
import logging

import asyncpg

from prahari_cases.adapters import timers
from prahari_cases.domain import commands as cmd
from prahari_cases.service_layer.handlers import Clock, apply_system, load_case
from prahari_events.db import Conn
from prahari_events.envelope import utcnow
from prahari_events.errors import ConcurrencyError
from prahari_events.store import EventStore
from prahari_events.transient import is_transient, poll

log = logging.getLogger("prahari.cases.timers")


class SlaClock:
    def __init__(
        self,
        pool: asyncpg.Pool,
        store: EventStore,
        topic: str,
        *,
        clock: Clock = utcnow,
        poll_s: float = 1.0,
        batch: int = 50,
    ) -> None:
        self._pool = pool
        self._store = store
        self._topic = topic
        self._clock = clock
        self._poll_s = poll_s
        self._batch = batch
        self._stopping = asyncio.Event()
        self.fired = 0

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        await poll(
            self.fire_due,
            stopping=self._stopping,
            poll_s=self._poll_s,
            batch=self._batch,
            what="timers",
            log=log,
        )

    async def fire_due(self) -> int:
        """Fire what is due now; returns how many timers were claimed."""
        now = self._clock()
        async with self._pool.acquire() as conn, conn.transaction():
            due = await timers.claim_due(conn, now, self._batch)
            for timer in due:
                try:
                    async with conn.transaction():  # a savepoint: one case, one attempt
                        await self._fire(conn, timer)
                except ConcurrencyError:
                    # A command changed the case meanwhile; the timer stays, and the next
                    # round decides again on the case as it is then.
                    continue
                except Exception as exc:
                    if is_transient(exc):
                        raise
                    # One case that cannot be decided must not stop every other clock: say
                    # so loudly, and set this timer aside.
                    log.error(
                        "a timer could not fire; it is dropped",
                        exc_info=exc,
                        extra={"fields": {"case_id": str(timer.case_id), "stage": timer.stage}},
                    )
                    await timers.drop(conn, timer)
        return len(due)

    async def _fire(self, conn: Conn, timer: timers.Timer) -> None:
        case = await load_case(conn, self._store, timer.case_id)
        if case is None:
            await timers.drop(conn, timer)
            return
        after = await apply_system(
            conn,
            self._store,
            self._topic,
            case,
            [cmd.FireTimer(timer.stage, timer.due_at)],
            now=self._clock(),
            correlation_id=case.correlation_id,
            causation_id=None,
        )
        if after.version == case.version:
            await timers.drop(conn, timer)  # the clock had moved: a stale timer
        else:
            self.fired += 1

"""Sending: one dispatcher per channel, so a stopped SMTP relay never holds up an SMS.

A dispatcher claims due messages in a short transaction (the provider chosen for each is
written down with a lease before anything is sent), sends them concurrently up to its bound
with no transaction open, and records each outcome as the notification's events with its
row, in one statement. What an outcome means is the domain's (domain/notification.py):
a definite failure backs off and may move to the fallback provider; a timeout after sending
pins the message to that provider, which is first asked what it has (SMS) or given the same
Message-ID again (email); a crash mid-attempt is found from the lease and treated the same.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import random
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import asyncpg
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer

from prahari_events import catalogue as c
from prahari_events.envelope import Draft, Jurisdiction, iso
from prahari_events.errors import ConcurrencyError, DeliveryError
from prahari_events.store import EventStore, PreparedAppend
from prahari_events.telemetry import current_carrier, span_from
from prahari_notify.adapters import store
from prahari_notify.adapters.providers import OutcomeUnknown, Outgoing, Provider
from prahari_notify.domain.breaker import Breaker, choose
from prahari_notify.domain.notification import (
    Event,
    Notification,
    Outcome,
    RetryPolicy,
    after_attempt,
    evolve,
    scrub,
)
from prahari_notify.service_layer.handlers import ACTOR, stream_for

log = logging.getLogger("prahari.notify.dispatcher")

Decide = Callable[[Notification, Mapping[str, Any]], tuple[list[Event], dict[str, Any]]]


@dataclass(frozen=True, slots=True)
class Plan:
    """A decision made on one notification, ready to write: its events and its row's new
    values, against the version it was decided on."""

    notification_id: uuid.UUID
    events: list[Event]
    append: PreparedAppend | None
    changes: dict[str, Any]


class Notifications:
    """Applies decisions to one notification: its new events and its row move together, or
    not at all; if the stream moved meanwhile (a receipt raced a send), decide again."""

    def __init__(self, pool: asyncpg.Pool, store_: EventStore, topic: str) -> None:
        self._pool = pool
        self._store = store_
        self._topic = topic

    def plan(self, row: Mapping[str, Any], decide: Decide) -> Plan:
        n = store.notification_of(row)
        events, changes = decide(n, row)
        after = n
        for event_type, payload in events:
            after = evolve(after, event_type, payload)
        changes = {
            **changes,
            "status": after.state.value,
            "attempts": after.attempts,
            "pinned_provider": after.pinned,
        }
        append = None
        if events:
            drafts = [
                Draft(
                    type=event_type,
                    payload=payload,
                    actor=ACTOR,
                    jurisdiction=Jurisdiction(row["state"], row["district"]),
                    correlation_id=row["correlation_id"] or uuid.uuid4(),
                    causation_id=row["queued_event_id"],
                )
                for event_type, payload in events
            ]
            append = self._store.prepare(
                stream_for(n.id), n.version, drafts, publish_to=self._topic
            )
        return Plan(n.id, events, append, changes)

    async def apply(
        self,
        notification_id: uuid.UUID,
        decide: Decide,
        *,
        release: bool = False,
        row: Mapping[str, Any] | None = None,
    ) -> list[Event] | None:
        """The events appended; None when there is no such notification. Given the row as
        last read (a dispatcher's claim), the first try saves reading it again."""
        for _ in range(10):
            if row is None:
                row = await store.load(self._pool, notification_id)
            if row is None:
                return None
            plan = self.plan(row, decide)
            if not plan.events and not release:
                return []
            try:
                await store.record(
                    self._pool, notification_id, plan.append, plan.changes, release=release
                )
            except ConcurrencyError:
                row = None  # it moved: read it again and decide again
                continue
            return plan.events
        raise ConcurrencyError(f"notification {notification_id} kept moving")

    async def apply_many(self, batch: Sequence[tuple[Mapping[str, Any], Decide]]) -> None:
        """Record many attempts' outcomes in one transaction: one commit for the batch, the
        costly part of recording. If any stream moved, each is redone on its own."""
        plans = [self.plan(row, decide) for row, decide in batch]
        if all(p.append is not None for p in plans):
            try:
                async with self._pool.acquire() as conn, conn.transaction():
                    await store.record_attempts(
                        conn, [(p.notification_id, p.append, p.changes) for p in plans]
                    )
                return
            except ConcurrencyError:
                pass
        for (_, decide), plan in zip(batch, plans, strict=True):
            await self.apply(plan.notification_id, decide, release=True)


class Recorder:
    """Gathers the outcomes of a dispatcher's attempts and records them in batches: while
    one batch commits, the next gathers, so a busy dispatcher commits many outcomes at once
    and an idle one records each at once."""

    def __init__(self, notifications: Notifications, max_batch: int = 64) -> None:
        self._notifications = notifications
        self._max_batch = max_batch
        self._queue: asyncio.Queue[
            tuple[Mapping[str, Any], Decide, asyncio.Future[None]] | None
        ] = asyncio.Queue()

    async def record(self, row: Mapping[str, Any], decide: Decide) -> None:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((row, decide, done))
        await done

    def stop(self) -> None:
        self._queue.put_nowait(None)

    async def run(self) -> None:
        stopping = False
        while not stopping:
            item = await self._queue.get()
            batch = []
            while item is not None:
                batch.append(item)
                if len(batch) >= self._max_batch or self._queue.empty():
                    break
                item = self._queue.get_nowait()
            stopping = item is None
            if not batch:
                continue
            try:
                await self._notifications.apply_many([(row, decide) for row, decide, _ in batch])
            except Exception as exc:  # each waiter learns, and its attempt's lease recovers it
                for _, _, done in batch:
                    done.set_exception(exc)
                continue
            for _, _, done in batch:
                done.set_result(None)


class ChannelDispatcher:
    def __init__(
        self,
        pool: asyncpg.Pool,
        notifications: Notifications,
        channel: str,
        providers: Sequence[Provider],
        *,
        retry: RetryPolicy,
        breakers: Mapping[str, Breaker],
        concurrency: int,
        lease_s: float,
        poll_s: float,
        tracer: Tracer,
        clock: Callable[[], datetime],
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self._pool = pool
        self._notifications = notifications
        self.channel = channel
        self._providers = {p.name: p for p in providers}
        self._order = [p.name for p in providers]
        self._retry = retry
        self._breakers = breakers
        self._concurrency = concurrency
        self._lease_s = lease_s
        self._poll_s = poll_s
        self._tracer = tracer
        self._clock = clock
        self._jitter = jitter
        self._stopping = asyncio.Event()
        self._wake = asyncio.Event()
        self._inflight: set[asyncio.Task[None]] = set()
        # The bound is on provider calls: an attempt frees its slot as soon as the provider
        # answered, and its outcome is recorded while the next message is already out (its
        # lease keeps it from being claimed again meanwhile).
        self._sending = 0
        self._claim_batch = max(1, concurrency // 4)
        self._recorder = Recorder(notifications)
        # Attempts by (provider, outcome kind), for /metrics: a dead gateway shows here.
        self.outcomes: collections.Counter[tuple[str, str]] = collections.Counter()

    @property
    def provider_names(self) -> list[str]:
        return list(self._order)

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        recorder = asyncio.create_task(self._recorder.run())
        try:
            while not self._stopping.is_set():
                free = self._concurrency - self._sending
                claimed: list[dict[str, Any]] = []
                # Claim a few slots' worth at a time, not one per finished send: each claim
                # is a transaction, and its commit the costly part.
                if free >= self._claim_batch or (free > 0 and not self._sending):
                    try:
                        claimed = await self._claim(free)
                    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                        log.warning("claim failed", extra={"fields": {"error": repr(exc)}})
                for row in claimed:
                    self._sending += 1
                    task = asyncio.create_task(self._attempt(row))
                    self._inflight.add(task)
                    task.add_done_callback(self._done)
                if len(claimed) < free or free < self._claim_batch:
                    # Nothing more due, or full: wait for a slot, new work, or the poll.
                    self._wake.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), self._poll_s)
        finally:
            # In-flight attempts finish and record their outcome: stopping never abandons a
            # message the provider may already have.
            if self._inflight:
                await asyncio.gather(*self._inflight, return_exceptions=True)
            self._recorder.stop()
            await recorder

    def _done(self, task: asyncio.Task[None]) -> None:
        self._inflight.discard(task)
        self._wake.set()
        if not task.cancelled() and task.exception() is not None:
            log.error("an attempt failed to record", exc_info=task.exception())

    async def _claim(self, limit: int) -> list[dict[str, Any]]:
        now = self._clock()

        def pick(row: Mapping[str, Any]) -> str | None:
            return choose(
                self._order,
                # A crashed attempt (its lease ran out) may have reached its provider.
                pinned=row["pinned_provider"] or row["sending_provider"],
                last_failed=row["last_failed_provider"],
                allows=lambda name: self._breakers[name].allows(now),
            )

        return await store.claim(
            self._pool,
            self.channel,
            limit,
            lease_s=self._lease_s,
            choose=pick,
            defer_s=min(b.cooldown_s for b in self._breakers.values()),
        )

    async def _attempt(self, row: dict[str, Any]) -> None:
        provider = self._providers[row["provider"]]
        attempt: int = row["attempts"]
        crashed = row["sending_provider"]  # an attempt that never reported back
        ask_first = crashed is not None or row["pinned_provider"] is not None
        outgoing = Outgoing(
            notification_id=str(row["notification_id"]),
            address=row["address"],
            recipient_name=row["recipient_name"],
            subject=row["subject"],
            body=row["body"],
            template_id=row["template_id"],
            case_id=str(row["case_id"]) if row["case_id"] else None,
            trace=dict(row["trace"]),
        )
        with span_from(
            self._tracer,
            f"notify send {self.channel}",
            outgoing.trace,
            SpanKind.CLIENT,
            **{
                "prahari.notification.id": outgoing.notification_id,
                "prahari.attempt": attempt,
                "prahari.provider": provider.name,
            },
        ) as span:
            # The provider sees this span as the parent of its work.
            outgoing = _traced(outgoing)
            try:
                outcome = await self._try(provider, outgoing, ask_first)
            finally:
                self._sending -= 1
                self._wake.set()
            self.outcomes[(provider.name, outcome.kind)] += 1
            if outcome.kind != "accepted":
                span.set_status(Status(StatusCode.ERROR, outcome.reason))
        now = self._clock()
        # A refusal on its merits (4xx) means the provider works; only the rest count.
        healthy = outcome.kind == "accepted" or not outcome.retriable
        self._breakers[provider.name].record(healthy, now)
        jitter = self._jitter()

        def decide(n: Notification, _row: Mapping[str, Any]) -> tuple[list[Event], dict[str, Any]]:
            events: list[Event] = []
            if crashed is not None and attempt > 1:
                events.append(
                    (
                        c.NOTIFICATION_ATTEMPT_FAILED,
                        {
                            "notification_id": str(n.id),
                            "channel": n.channel,
                            "attempt": attempt - 1,
                            "provider": crashed,
                            "outcome": "unknown",
                            "reason": "no outcome recorded: notify stopped during the attempt",
                            "retry_at": iso(now),
                        },
                    )
                )
            more, retry_at = after_attempt(
                n, attempt, outcome, now, retry=self._retry, jitter=jitter
            )
            changes: dict[str, Any] = {}
            if retry_at is not None:
                changes["next_attempt_at"] = retry_at
            if outcome.kind == "failed":
                changes["last_failed_provider"] = provider.name
            if outcome.kind != "accepted":
                changes["last_error"] = scrub(outcome.reason)
            else:
                changes["provider_reference"] = outcome.reference
            return events + more, changes

        claimed = {**row, "attempts": attempt, "sending_provider": provider.name}
        await self._recorder.record(claimed, decide)

    async def _try(self, provider: Provider, outgoing: Outgoing, ask_first: bool) -> Outcome:
        name = provider.name
        if ask_first and provider.answers_status:
            # It may be there already: ask before sending, so a lost answer never becomes
            # a second SMS. SMTP cannot be asked; mail goes again with its Message-ID.
            try:
                known = await provider.status(outgoing.notification_id)
            except DeliveryError as exc:
                return Outcome("unknown", name, reason=exc.message)
            if known is not None:
                status, reference = known
                if status == "failed":
                    return Outcome("failed", name, reference, "provider reports failed", False)
                return Outcome("accepted", name, reference, delivered=status == "delivered")
        try:
            reference = await provider.send(outgoing)
        except OutcomeUnknown as exc:
            return Outcome("unknown", name, reason=exc.message)
        except DeliveryError as exc:
            return Outcome("failed", name, reason=exc.message, retriable=exc.retriable)
        except Exception as exc:  # a provider bug: it may have sent, so treat as unknown
            log.exception("provider raised unexpectedly")
            return Outcome("unknown", name, reason=f"provider error: {exc!r}")
        return Outcome("accepted", name, reference)


def _traced(outgoing: Outgoing) -> Outgoing:
    carrier = current_carrier()
    return replace(outgoing, trace=carrier) if carrier else outgoing

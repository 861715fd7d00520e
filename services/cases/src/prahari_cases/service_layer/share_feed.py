"""The partner states' feeds: follows this store's events in their global order and queues,
for each state the case is shared with or transferred to (domain.feeds), the event on that
state's topic, or the whole case when the state starts seeing it.

Everything one round reads is queued in the outbox in one transaction with the position it
reached, so a crash anywhere queues nothing twice and skips nothing; the relay publishes
at least once, and a consumer de-duplicates by ce_id as on every topic. The global order
(EventStore.read_all) never lets an event commit behind the position.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import uuid
from collections.abc import Collection

import asyncpg

from prahari_cases.adapters import share_feed
from prahari_cases.domain.case import Case, evolve, replay
from prahari_cases.domain.feeds import Delivery, deliveries
from prahari_events import catalogue
from prahari_events.envelope import Draft, Envelope
from prahari_events.kafka import Topics, envelope_headers
from prahari_events.lgd import AGREEMENT_STATES
from prahari_events.outbox import OutboxMessage, enqueue
from prahari_events.store import EventStore
from prahari_events.transient import poll

log = logging.getLogger("prahari.cases.share_feed")
_CASE_STREAM = "case-"


class ShareFeed:
    def __init__(
        self,
        pool: asyncpg.Pool,
        store: EventStore,
        topics: Topics,
        *,
        poll_s: float = 1.0,
        batch: int = 500,
        states: Collection[int] = AGREEMENT_STATES,
    ) -> None:
        self._pool = pool
        self._store = store
        self._topics = topics
        self._poll_s = poll_s
        self._batch = batch
        self._states = frozenset(states)
        self._stopping = asyncio.Event()
        self.queued = 0
        self.no_feed = 0  # deliveries to a state outside the agreement: it has no topic

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        await poll(
            self.feed_once,
            stopping=self._stopping,
            poll_s=self._poll_s,
            batch=self._batch,
            what="share feed",
            log=log,
        )

    async def feed_once(self) -> int:
        """Queue the feeds' messages for one batch of events; returns how many were read."""
        async with self._pool.acquire() as conn, conn.transaction():
            after = await share_feed.claim(conn)
            batch = await self._store.read_all(conn, after, self._batch)
            if not batch:
                return 0
            cases: dict[str, Case | None] = {}
            messages: list[OutboxMessage] = []
            for _, event in batch:
                if not event.stream_id.startswith(_CASE_STREAM):
                    continue
                if event.stream_id not in cases:
                    # The case as it stood before this batch's first event of it.
                    cases[event.stream_id] = replay(
                        await self._store.read_stream(
                            conn, event.stream_id, up_to_version=event.stream_version - 1
                        )
                    )
                before = cases[event.stream_id]
                case = cases[event.stream_id] = evolve(before, event)
                plain: OutboxMessage | None = None  # the event's bytes, made once
                for delivery in deliveries(before, case):
                    if delivery.state not in self._states:
                        self.no_feed += 1
                        continue
                    topic = self._topics.share(delivery.state)
                    if delivery.snapshot:
                        snapshot = self._snapshot(event, case, delivery)
                        messages.append(self._message(snapshot, topic))
                    else:
                        plain = plain or self._message(event, topic)
                        messages.append(dataclasses.replace(plain, topic=topic))
            await enqueue(conn, messages)
            await share_feed.advance(conn, batch[-1][0])
        self.queued += len(messages)
        return len(batch)

    def _message(self, envelope: Envelope, topic: str) -> OutboxMessage:
        return OutboxMessage(
            envelope.event_id,
            topic,
            envelope.stream_id,
            self._store.registry.encode(envelope),
            envelope_headers(envelope),
        )

    def _snapshot(self, event: Envelope, case: Case, delivery: Delivery) -> Envelope:
        draft = Draft(
            type=catalogue.CASE_SNAPSHOT,
            payload={
                "case_id": str(case.case_id),
                "for_state": delivery.state,
                "reason": delivery.reason,
                "case": case.to_json(),
            },
            # Who let the state in, and why: the event's own actor, place and story.
            actor=event.actor,
            jurisdiction=event.jurisdiction,
            correlation_id=event.correlation_id,
            causation_id=event.event_id,
            occurred_at=event.occurred_at,
            # The same id however often it is queued: derived from the event and the state.
            event_id=uuid.uuid5(
                uuid.NAMESPACE_URL, f"prahari:snapshot:{event.event_id}:{delivery.state}"
            ),
        )
        return self._store.registry.stamp(
            draft,
            stream_id=event.stream_id,
            stream_version=event.stream_version,
            recorded_at=event.recorded_at,
            trace=event.trace,
        )

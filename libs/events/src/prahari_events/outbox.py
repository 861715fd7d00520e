"""The outbox relay: publishes committed outbox rows to Kafka, then marks them published.

A crash after publishing and before marking publishes those rows again on restart; the
consumers' processed-message records make that duplicate harmless. Only one relay per
schema is active at a time (an advisory lock), so events of one stream are published in
the order they were appended even when several processes of a service run.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import asyncpg
from aiokafka import AIOKafkaProducer

from prahari_events.db import Conn
from prahari_events.kafka import headers_json
from prahari_events.store import OUTBOX_CHANNEL
from prahari_events.transient import Throttle, is_transient

log = logging.getLogger("prahari.outbox")


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """A message for the relay to publish, other than an appended event's (those are
    written by append_events): a checkpoint, a partner state's feed message."""

    event_id: uuid.UUID
    topic: str
    key: str
    value: bytes
    headers: Sequence[tuple[str, bytes]]


async def enqueue(conn: Conn, messages: Sequence[OutboxMessage]) -> None:
    """Write messages to the outbox inside the caller's transaction, and wake the relay at
    commit (NOTIFY is transactional)."""
    if not messages:
        return
    await conn.execute(
        "INSERT INTO outbox (event_id, topic, key, value, headers)"
        " SELECT e, t, k, v, h::jsonb FROM unnest($1::uuid[], $2::text[], $3::text[],"
        " $4::bytea[], $5::text[]) AS u(e, t, k, v, h)",
        [m.event_id for m in messages],
        [m.topic for m in messages],
        [m.key for m in messages],
        [m.value for m in messages],
        [headers_json(m.headers) for m in messages],
    )
    await conn.execute("SELECT pg_notify($1, current_schema())", OUTBOX_CHANNEL)


class OutboxRelay:
    def __init__(
        self,
        pool: asyncpg.Pool,
        producer: AIOKafkaProducer,
        *,
        schema: str,
        connect: Callable[[], Awaitable[asyncpg.Connection]],
        batch_size: int = 200,
        idle_poll_s: float = 1.0,
    ) -> None:
        self._pool = pool
        self._producer = producer
        self._schema = schema
        self._connect = connect
        self._batch_size = batch_size
        self._idle_poll_s = idle_poll_s
        self._stopping = asyncio.Event()
        self._wake = asyncio.Event()
        self._throttle = Throttle(interval_s=10.0)
        self.published = 0

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    async def run(self) -> None:
        backoff = 0.2
        while not self._stopping.is_set():
            try:
                await self._lead()
                backoff = 0.2
            except Exception as exc:
                # A database restart or a broker away: lead again when it is back. Anything
                # else is a bug, for the supervising loop (runtime.background) to report.
                if not is_transient(exc):
                    raise
                held = self._throttle.ready("interrupted")
                if held is not None:
                    log.warning(
                        "outbox relay interrupted, retrying",
                        extra={"fields": {"error": repr(exc), "since_last_line": held}},
                    )
                await self._sleep(backoff)
                backoff = min(backoff * 2, 5.0)

    async def _lead(self) -> None:
        # Leadership lives on a connection of our own: if this process dies, PostgreSQL
        # drops the connection and with it the lock, and another relay takes over.
        listener = await self._connect()
        try:
            leader = await listener.fetchval(
                "SELECT pg_try_advisory_lock(hashtext($1))", f"outbox:{self._schema}"
            )
            if not leader:
                await self._sleep(self._idle_poll_s)
                return

            def on_notify(_conn: object, _pid: int, _channel: str, payload: object) -> None:
                if payload == self._schema:
                    self._wake.set()

            # The lock lives exactly as long as this connection: once it is gone another
            # relay may lead, and this one must not publish another message (two relays at
            # once would publish a stream's events out of order).
            def leading() -> bool:
                return not listener.is_closed()

            listener.add_termination_listener(lambda _conn: self._wake.set())
            await listener.add_listener(OUTBOX_CHANNEL, on_notify)
            while not self._stopping.is_set():
                self._wake.clear()
                if await self.relay_once(leading) == self._batch_size:
                    continue
                try:
                    await asyncio.wait_for(self._wake.wait(), self._idle_poll_s)
                except TimeoutError:
                    # Idle: make sure the session (and with it the lock) is still there; a
                    # connection cut without a word is found here, not at the next batch.
                    await listener.fetchval("SELECT 1")
                if not leading():
                    raise ConnectionError("the outbox relay lost its leadership lock")
            # Graceful stop: publish what was committed before we were asked to stop.
            await self.relay_once(leading)
        finally:
            try:
                await asyncio.wait_for(listener.close(), 5)
            except Exception:
                listener.terminate()  # a connection already broken cannot close politely

    async def relay_once(self, leading: Callable[[], bool] = lambda: True) -> int:
        """Publish one batch of pending rows in append order; returns how many. Stops before
        the next message as soon as `leading()` says the leadership is gone."""
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT id, topic, key, value, headers FROM outbox"
                " WHERE published_at IS NULL ORDER BY id LIMIT $1",
                self._batch_size,
            )
            if not rows:
                return 0
            futures = []
            for row in rows:
                if not leading():
                    raise ConnectionError("the outbox relay lost its leadership lock")
                futures.append(
                    await self._producer.send(
                        row["topic"],
                        row["value"],
                        key=row["key"].encode(),
                        headers=[(k, v.encode()) for k, v in row["headers"]],
                    )
                )
            await asyncio.gather(*futures)
            await self._mark_published(conn, [row["id"] for row in rows])
        self.published += len(rows)
        return len(rows)

    async def _mark_published(self, conn: Conn, ids: list[int]) -> None:
        await conn.execute(
            "UPDATE outbox SET published_at = now() WHERE id = ANY($1::bigint[])", ids
        )

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

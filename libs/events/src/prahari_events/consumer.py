"""Idempotent Kafka consumers.

For each message: decode it through the registry, then, in one PostgreSQL transaction,
record (consumer, event id) as processed and run the handler's effect. A redelivered message
finds its record and has no second effect. Offsets are committed only after the effect is
durable. A message that can never be processed (bad contract, or a handler that keeps
failing for a reason retrying cannot fix) goes to the dead-letter topic with the reason, and
the consumer moves on; a retriable failure (database or network down) is retried, so a
partition waits rather than losing anything.

In batch mode (for handlers whose effects on different messages do not lock against each
other) the messages of one fetch from one partition share a transaction: one commit for
many. If anything in the batch fails, it rolls back whole and each message is processed on
its own, as above, so one poison message costs its batch a retry, never an effect.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer

from prahari_events.db import Conn
from prahari_events.envelope import Envelope
from prahari_events.errors import InvalidEvent
from prahari_events.kafka import KafkaAccess
from prahari_events.privacy import scrub
from prahari_events.registry import Registry
from prahari_events.telemetry import kafka_headers_to_carrier, span_from
from prahari_events.transient import is_transient

log = logging.getLogger("prahari.consumer")

Handler = Callable[[Conn, Envelope], Awaitable[None]]


class _Stopped(Exception):
    pass


class IdempotentConsumer:
    def __init__(
        self,
        *,
        name: str,
        topics: Sequence[str],
        kafka: KafkaAccess,
        pool: asyncpg.Pool,
        registry: Registry,
        handler: Handler,
        producer: AIOKafkaProducer,
        deadletter_topic: str,
        tracer: Tracer,
        group_id: str | None = None,
        max_attempts: int = 3,
        wants: frozenset[str] | None = None,
        batch: bool = False,
    ) -> None:
        # `name` is the consumer's identity in processed-message records: every instance of
        # one consumer, in every process, must share it (the services use the group name).
        self.name = name
        self._topics = list(topics)
        self._kafka = kafka
        self._group_id = group_id or name
        self._pool = pool
        self._registry = registry
        self._handler = handler
        self._producer = producer
        self._deadletter_topic = deadletter_topic
        self._tracer = tracer
        self._max_attempts = max_attempts
        # The event types the handler acts on; others are passed over without a database
        # write (None: every type). A service that follows a busy topic for one event type
        # then pays nothing for the rest.
        self._wants = wants
        self._batch = batch
        self._stopping = asyncio.Event()
        self.processed = 0
        self.dead_lettered = 0
        # (topic, partition) -> messages behind the partition's end, at the last fetch.
        self.lag: dict[tuple[str, int], int] = {}

    def stop(self) -> None:
        """Finish the message in hand, commit, and return from run()."""
        self._stopping.set()

    async def run(self) -> None:
        consumer = AIOKafkaConsumer(
            *self._topics,
            **self._kafka.options(),
            group_id=self._group_id,
            client_id=self.name,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
        )
        await consumer.start()
        try:
            while not self._stopping.is_set():
                batch = await consumer.getmany(timeout_ms=300, max_records=100)
                await self._measure_lag(consumer)
                for tp, messages in batch.items():
                    done: ConsumerRecord[bytes, bytes] | None = None
                    one_by_one = messages
                    if self._batch and len(messages) > 1 and await self._process_batch(messages):
                        done, one_by_one = messages[-1], []
                    try:
                        for message in one_by_one:
                            await self._process(message)
                            done = message
                    except _Stopped:
                        pass
                    if done is not None:
                        await self._commit(consumer, tp, done.offset + 1)
                    if self._stopping.is_set():
                        break
        finally:
            await consumer.stop()

    async def _measure_lag(self, consumer: AIOKafkaConsumer) -> None:
        assigned = consumer.assignment()
        for tp in assigned:
            end = consumer.highwater(tp)  # known once the partition has been fetched
            if end is not None:
                self.lag[(tp.topic, tp.partition)] = max(0, end - await consumer.position(tp))
        for gone in [k for k in self.lag if TopicPartition(*k) not in assigned]:
            del self.lag[gone]  # a partition another instance now owns

    async def _commit(self, consumer: AIOKafkaConsumer, tp: TopicPartition, offset: int) -> None:
        try:
            await consumer.commit({tp: offset})
        except (CommitFailedError, KafkaError) as exc:
            # Lost the partition in a rebalance: its next owner re-reads these messages and
            # finds them processed. Nothing is lost, nothing is doubled.
            log.warning("offset commit failed", extra={"fields": {"error": repr(exc)}})

    def _passed_over(self, message: ConsumerRecord[bytes, bytes]) -> bool:
        """A type the handler does not act on: the type is in a header, so such a message
        is not even decoded."""
        declared = dict(message.headers).get("event-type")
        return (
            self._wants is not None
            and declared is not None
            and declared.decode(errors="replace") not in self._wants
        )

    def _span(
        self, message: ConsumerRecord[bytes, bytes]
    ) -> contextlib.AbstractContextManager[Span]:
        """The message's processing span, a child of the producer's trace in its headers."""
        return span_from(
            self._tracer,
            f"{message.topic} process",
            kafka_headers_to_carrier(list(message.headers)),
            SpanKind.CONSUMER,
            **{
                "messaging.system": "kafka",
                "messaging.consumer.group.name": self._group_id,
                "messaging.destination.name": message.topic,
                "messaging.kafka.offset": message.offset,
            },
        )

    async def _process(self, message: ConsumerRecord[bytes, bytes]) -> None:
        if self._passed_over(message):
            return
        with self._span(message) as span:
            try:
                envelope = self._registry.decode(message.value or b"")
            except InvalidEvent as exc:
                span.set_status(Status(StatusCode.ERROR, exc.message))
                await self._dead_letter(message, f"{exc.message}: {dict(exc.fields)}")
                return
            if self._wants is not None and envelope.type not in self._wants:
                return
            span.set_attribute("prahari.event.type", envelope.type)
            span.set_attribute("prahari.event.id", str(envelope.event_id))
            attempt = 0
            while True:
                attempt += 1
                try:
                    await self._apply(message, envelope)
                    self.processed += 1
                    return
                except Exception as exc:
                    if self._stopping.is_set():
                        raise _Stopped from exc
                    retriable = is_transient(exc)
                    log.warning(
                        "handler failed",
                        exc_info=not retriable,
                        extra={
                            "fields": {
                                "consumer": self.name,
                                "event_id": str(envelope.event_id),
                                "attempt": attempt,
                                "retriable": retriable,
                            }
                        },
                    )
                    if not retriable and attempt >= self._max_attempts:
                        span.set_status(Status(StatusCode.ERROR, repr(exc)))
                        await self._dead_letter(message, f"{type(exc).__name__}: {exc}")
                        return
                    await self._pause(min(0.1 * 2**attempt, 5.0))

    async def _process_batch(self, messages: Sequence[ConsumerRecord[bytes, bytes]]) -> bool:
        """All of a fetch's messages in one transaction; False (nothing done) if any of them
        needs the one-by-one path: a bad contract, or a failing handler."""
        todo: list[tuple[ConsumerRecord[bytes, bytes], Envelope]] = []
        for message in messages:
            if self._passed_over(message):
                continue
            try:
                envelope = self._registry.decode(message.value or b"")
            except InvalidEvent:
                return False
            if self._wants is None or envelope.type in self._wants:
                todo.append((message, envelope))
        try:
            async with self._pool.acquire() as conn, conn.transaction():
                for message, envelope in todo:
                    with self._span(message) as span:
                        span.set_attribute("prahari.event.type", envelope.type)
                        span.set_attribute("prahari.event.id", str(envelope.event_id))
                        await self._record_and_handle(conn, message, envelope)
        except Exception as exc:
            log.info(
                "a batch failed; its messages go one by one",
                extra={"fields": {"consumer": self.name, "error": repr(exc)}},
            )
            return False
        self.processed += len(todo)
        return True

    async def _record_and_handle(
        self, conn: Conn, message: ConsumerRecord[bytes, bytes], envelope: Envelope
    ) -> None:
        fresh = await conn.fetchval(
            'INSERT INTO processed_messages (consumer, event_id, topic, partition, "offset")'
            " VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING true",
            self.name,
            envelope.event_id,
            message.topic,
            message.partition,
            message.offset,
        )
        if fresh:
            await self._handler(conn, envelope)

    async def _apply(self, message: ConsumerRecord[bytes, bytes], envelope: Envelope) -> None:
        async with self._pool.acquire() as conn, conn.transaction():
            await self._record_and_handle(conn, message, envelope)

    async def _dead_letter(self, message: ConsumerRecord[bytes, bytes], reason: str) -> None:
        headers = [
            *message.headers,
            # Kept forever and shown in a report's status: no numbers or addresses.
            ("dlq-reason", scrub(reason, 2000).encode()),
            ("dlq-consumer", self.name.encode()),
            ("dlq-source", f"{message.topic}/{message.partition}/{message.offset}".encode()),
        ]
        attempt = 0
        while True:
            attempt += 1
            try:
                await self._producer.send_and_wait(
                    self._deadletter_topic, message.value, key=message.key, headers=headers
                )
                self.dead_lettered += 1
                log.error(
                    "message dead-lettered",
                    extra={
                        "fields": {
                            "consumer": self.name,
                            "source": f"{message.topic}/{message.partition}/{message.offset}",
                            "reason": scrub(reason, 2000),
                        }
                    },
                )
                return
            except KafkaError:
                if self._stopping.is_set():
                    raise _Stopped from None
                await self._pause(min(0.1 * 2**attempt, 5.0))

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

"""Keeps report_status current from what happens downstream: the case opened for a report
(an upsert, so it also stands in when the desk could not record the report), or a dead
letter that rejected it."""

from __future__ import annotations

import asyncio
import logging
import uuid

import asyncpg
from aiokafka import AIOKafkaConsumer
from aiokafka.errors import KafkaError

from prahari_events.catalogue import CASE_OPENED, CASE_REPORT_LINKED, REPORT_RECEIVED
from prahari_events.db import Conn
from prahari_events.envelope import Envelope
from prahari_events.errors import InvalidEvent
from prahari_events.kafka import KafkaAccess
from prahari_events.registry import Registry
from prahari_intake.adapters import repository

log = logging.getLogger("prahari.intake.tracking")


async def track(conn: Conn, event: Envelope) -> None:
    """The idempotent consumer's handler for the case-event topic."""
    p = event.payload
    if event.type == CASE_OPENED:
        report, status = p, "case_opened"
    elif event.type == CASE_REPORT_LINKED:
        report, status = p["report"], "linked"
    else:
        return
    await repository.record_case(
        conn,
        uuid.UUID(report["report_id"]),
        uuid.UUID(p["case_id"]),
        status=status,
        reported_by=report["reported_by"]["unit_id"],
        report_type=report["report_type"],
        state=report["state"],
        district=report["district"],
        received_at=report["reported_at"],
    )


class DeadLetterWatcher:
    """Marks a report rejected when a downstream consumer dead-lettered it. Dead letters are
    read, never re-dead-lettered: one that is not a report is simply passed over."""

    def __init__(
        self, kafka: KafkaAccess, topic: str, group: str, pool: asyncpg.Pool, registry: Registry
    ) -> None:
        self._kafka = kafka
        self._topic = topic
        self._group = group
        self._pool = pool
        self._registry = registry
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        consumer = AIOKafkaConsumer(
            self._topic,
            **self._kafka.options(),
            group_id=self._group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        await consumer.start()
        try:
            while not self._stopping.is_set():
                batch = await consumer.getmany(timeout_ms=300, max_records=100)
                for messages in batch.values():
                    for message in messages:
                        await self._mark(message.value or b"", dict(message.headers))
                if batch:
                    try:
                        await consumer.commit()
                    except KafkaError as exc:
                        # Harmless: the next owner re-reads these and marks them again.
                        log.warning(
                            "dead-letter offset commit failed",
                            extra={"fields": {"error": repr(exc)}},
                        )
        finally:
            await consumer.stop()

    async def _mark(self, value: bytes, headers: dict[str, bytes]) -> None:
        try:
            event = self._registry.decode(value)
        except InvalidEvent:
            return  # not a report anyone could read: nothing to mark
        if event.type != REPORT_RECEIVED:
            return
        reason = headers.get("dlq-reason", b"rejected downstream").decode(errors="replace")
        consumer = headers.get("dlq-consumer", b"").decode(errors="replace")
        await repository.record_rejected(
            self._pool, uuid.UUID(event.payload["report_id"]), f"{consumer}: {reason}"[:1000]
        )

"""The report desk: files a report exactly once per Idempotency-Key, however often a unit on
a bad network retries, across intake restarts and with several intake processes.

The key is recorded with the exact envelope before anything is published. A replay of an
accepted key returns the same report id and publishes nothing. A replay while the first
attempt may still be in flight gets 409 (retry shortly). A replay after the first attempt
died between recording and the Kafka ack publishes the very same envelope again: same event
id, so every consumer recognises it and nothing new happens downstream.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import asyncpg

from prahari_events.auth import Unit
from prahari_events.catalogue import SMS_REPLY_REQUESTED
from prahari_events.envelope import Draft, Jurisdiction, utcnow
from prahari_events.errors import ConcurrencyError, IdempotencyKeyReused, Unavailable
from prahari_events.lgd import Directory
from prahari_events.registry import Registry, canonical_json
from prahari_events.telemetry import current_carrier
from prahari_intake.adapters import repository
from prahari_intake.adapters.publisher import KafkaPublisher
from prahari_intake.domain.reports import FileReport, file_report, stream_for

log = logging.getLogger("prahari.intake")

_REPLIES = uuid.UUID("5b0f3c1e-8a44-4d4f-9d6e-2f7a1c0e9b13")

_DATABASE_DOWN = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.TooManyConnectionsError,
    asyncpg.CannotConnectNowError,
)


@dataclass(frozen=True, slots=True)
class Filed:
    report_id: uuid.UUID
    replayed: bool
    status: str
    trace_id: str | None


def request_hash(body: dict[str, Any]) -> bytes:
    return hashlib.sha256(canonical_json(body)).digest()


class ReportDesk:
    def __init__(
        self,
        pool: asyncpg.Pool,
        publisher: KafkaPublisher,
        registry: Registry,
        directory: Directory,
        *,
        topic: str,
        ack_timeout_s: float,
        replies_topic: str | None = None,
    ) -> None:
        self._pool = pool
        self._publisher = publisher
        self._registry = registry
        self._directory = directory
        self._topic = topic
        self._replies_topic = replies_topic
        # A pending key younger than this may still be waiting for its ack.
        self._in_flight = timedelta(seconds=ack_timeout_s + 1)

    async def file(
        self, unit: Unit, command: FileReport, key: str | None, fingerprint: bytes
    ) -> Filed:
        try:
            return await self._file(unit, command, key, fingerprint)
        except _DATABASE_DOWN as exc:
            raise Unavailable(
                f"the intake database did not answer ({type(exc).__name__})"
            ) from None

    async def _file(
        self, unit: Unit, command: FileReport, key: str | None, fingerprint: bytes
    ) -> Filed:
        if key is not None:
            existing = await repository.find_key(self._pool, unit.unit_id, key)
            if existing is not None:
                return await self._replay(unit, key, existing, fingerprint)
        now = utcnow()
        draft = file_report(command, unit, self._directory, now)  # refuses before any write
        envelope = self._registry.stamp(
            draft,
            stream_id=stream_for(command.report_id),
            stream_version=1,
            recorded_at=now,
            trace=current_carrier(),
        )
        body = self._registry.encode(envelope)
        if key is not None:
            claimed = await repository.claim_key(
                self._pool,
                unit.unit_id,
                key,
                request_hash=fingerprint,
                envelope=envelope,
                topic=self._topic,
                body=body,
            )
            if not claimed:  # a twin of this request got there first
                twin = await repository.find_key(self._pool, unit.unit_id, key)
                assert twin is not None
                return await self._replay(unit, key, twin, fingerprint)
        await self._publisher.publish(self._topic, envelope, body)
        accepting = (unit.unit_id, key) if key is not None else None
        try:
            await repository.record_received(self._pool, envelope, accepting=accepting)
        except _DATABASE_DOWN:
            # The report is safe on Kafka: answer 202. The key stays pending, so a retry
            # republishes the same event (harmless); the status appears when the case opens.
            log.warning("could not record the report's status yet")
        return Filed(
            command.report_id, replayed=False, status="received", trace_id=envelope.trace_id
        )

    async def request_reply(
        self,
        unit: Unit,
        message_id: str,
        to: str,
        *,
        template: str,
        values: list[str],
        report_id: uuid.UUID | None,
    ) -> None:
        """Ask notify to answer an SMS (sms.reply_requested on intake's replies topic): every
        outbound SMS leaves through notify. The event id derives from the gateway's message
        id, so a redelivered webhook republishes the very same event and notify sends one
        reply."""
        assert unit.state is not None
        assert self._replies_topic is not None
        now = utcnow()
        draft = Draft(
            type=SMS_REPLY_REQUESTED,
            payload={
                "message_id": message_id,
                "to": to,
                "template": template,
                "values": values,
                "report_id": str(report_id) if report_id else None,
            },
            actor=unit.actor(),
            jurisdiction=Jurisdiction(unit.state, unit.district),
            correlation_id=report_id or uuid.uuid5(_REPLIES, message_id),
            event_id=uuid.uuid5(_REPLIES, message_id),
        )
        envelope = self._registry.stamp(
            draft,
            stream_id=f"sms-reply-{message_id}",
            stream_version=1,
            recorded_at=now,
            trace=current_carrier(),
        )
        await self._publisher.publish(
            self._replies_topic, envelope, self._registry.encode(envelope)
        )

    async def _replay(
        self, unit: Unit, key: str, existing: repository.KeyRecord, fingerprint: bytes
    ) -> Filed:
        if existing.request_hash != fingerprint:
            raise IdempotencyKeyReused(
                "this Idempotency-Key was already used for a different report",
                fields={"Idempotency-Key": ["already used for a different request"]},
            )
        if existing.status == "pending":
            if utcnow() - existing.created_at < self._in_flight:
                raise ConcurrencyError(
                    "a request with this Idempotency-Key is still being processed",
                    retry_after_s=1,
                )
            envelope = self._registry.decode(existing.envelope)
            await self._publisher.publish(existing.topic, envelope, existing.envelope)
            await repository.record_received(self._pool, envelope, accepting=(unit.unit_id, key))
        status = await repository.report_status(self._pool, existing.report_id)
        return Filed(
            existing.report_id,
            replayed=True,
            status=status["status"] if status else "received",
            trace_id=None,
        )

"""Sends queued messages, one at a time per row lock, and records the outcome as events.

Each delivery is claimed with FOR UPDATE SKIP LOCKED inside its own transaction, sent, and
marked sent (with its notification.sent event) in that same transaction: two notify
processes never send the same row, and a row is marked sent only once the provider took it.
A crash between the provider's acceptance and our commit leaves the row queued, so it is
sent again with the same reference (SMS) or Message-ID (email) for the provider to
recognise; that narrow window is the one place exactly-once depends on the provider.
A failure that retrying can fix is retried with backoff; one that it cannot, or the last
attempt, ends in notification.failed. A late outcome never overwrites a final state.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import replace
from datetime import timedelta

import asyncpg
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer

from prahari_events.catalogue import NOTIFICATION_FAILED, NOTIFICATION_SENT
from prahari_events.db import Conn
from prahari_events.envelope import Actor, Draft, Jurisdiction, service_actor
from prahari_events.errors import DeliveryError
from prahari_events.store import EventStore
from prahari_events.telemetry import current_carrier, span_from
from prahari_notify.adapters.providers import Outgoing, Provider
from prahari_notify.service_layer.handlers import stream_for

log = logging.getLogger("prahari.notify.dispatcher")

_ACTOR: Actor = service_actor("notify")


class Dispatcher:
    def __init__(
        self,
        pool: asyncpg.Pool,
        store: EventStore,
        providers: dict[str, Provider],
        *,
        topic: str,
        tracer: Tracer,
        max_attempts: int,
        retry_base_s: float,
        poll_s: float,
    ) -> None:
        self._pool = pool
        self._store = store
        self._providers = providers
        self._topic = topic
        self._tracer = tracer
        self._max_attempts = max_attempts
        self._retry_base_s = retry_base_s
        self._poll_s = poll_s
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                sent = await self.dispatch_one()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("dispatch interrupted", extra={"fields": {"error": repr(exc)}})
                sent = False
            if not sent:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), self._poll_s)

    async def dispatch_one(self) -> bool:
        """Claim one due delivery and try it; False when nothing was due."""
        async with self._pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                "SELECT * FROM deliveries WHERE status = 'queued' AND next_attempt_at <= now()"
                " ORDER BY next_attempt_at LIMIT 1 FOR UPDATE SKIP LOCKED"
            )
            if row is None:
                return False
            outgoing = Outgoing(
                notification_id=str(row["notification_id"]),
                address=row["address"],
                recipient_name=row["recipient_name"],
                subject=row["subject"],
                body=row["body"],
                template_id=row["template_id"],
                case_id=str(row["case_id"]),
                trace=dict(row["trace"]),
            )
            attempt = row["attempts"] + 1
            with span_from(
                self._tracer,
                f"notify send {row['channel']}",
                outgoing.trace,
                SpanKind.CLIENT,
                **{"prahari.notification.id": outgoing.notification_id, "prahari.attempt": attempt},
            ) as span:
                # The provider sees this span as the parent of its work.
                outgoing = _with_trace(outgoing, current_carrier())
                try:
                    reference = await self._providers[row["channel"]].send(outgoing)
                except DeliveryError as exc:
                    span.set_status(Status(StatusCode.ERROR, exc.message))
                    await self._failed(conn, row, attempt, exc)
                    return True
                except Exception as exc:
                    # A provider bug must not stop every other delivery: count it as a
                    # failed attempt, so the row backs off and ends failed, not looping.
                    log.exception("provider raised unexpectedly")
                    span.set_status(Status(StatusCode.ERROR, repr(exc)))
                    await self._failed(
                        conn,
                        row,
                        attempt,
                        DeliveryError(f"provider error: {exc!r}", retriable=True),
                    )
                    return True
                await self._record(
                    conn,
                    row,
                    NOTIFICATION_SENT,
                    {
                        "notification_id": outgoing.notification_id,
                        "channel": row["channel"],
                        "attempt": attempt,
                        "provider_reference": reference,
                    },
                )
                await conn.execute(
                    "UPDATE deliveries SET status = 'sent', attempts = $2, provider_reference = $3,"
                    " updated_at = now() WHERE notification_id = $1 AND status = 'queued'",
                    row["notification_id"],
                    attempt,
                    reference,
                )
        return True

    async def _failed(
        self, conn: Conn, row: asyncpg.Record, attempt: int, exc: DeliveryError
    ) -> None:
        final = not exc.retriable or attempt >= self._max_attempts
        log.warning(
            "delivery failed",
            extra={
                "fields": {
                    "notification_id": str(row["notification_id"]),
                    "attempt": attempt,
                    "final": final,
                    "error": exc.message,
                }
            },
        )
        if final:
            await self._record(
                conn,
                row,
                NOTIFICATION_FAILED,
                {
                    "notification_id": str(row["notification_id"]),
                    "channel": row["channel"],
                    "attempt": attempt,
                    "reason": exc.message[:500],
                    "permanent": not exc.retriable,
                },
            )
        delay = timedelta(seconds=min(self._retry_base_s * 2 ** (attempt - 1), 300))
        await conn.execute(
            "UPDATE deliveries SET status = $2, attempts = $3, last_error = $4,"
            " next_attempt_at = now() + $5::interval, updated_at = now()"
            " WHERE notification_id = $1 AND status = 'queued'",
            row["notification_id"],
            "failed" if final else "queued",
            attempt,
            exc.message[:500],
            delay,
        )

    async def _record(
        self,
        conn: Conn,
        row: asyncpg.Record,
        event_type: str,
        payload: dict[str, object],
    ) -> None:
        stream = stream_for(row["notification_id"])
        # One read gives both the version to append after and the queued event to cite.
        history = await self._store.read_stream(conn, stream)
        queued = history[0]
        await self._store.append(
            conn,
            stream,
            history[-1].stream_version,
            [
                Draft(
                    type=event_type,
                    payload=payload,
                    actor=_ACTOR,
                    jurisdiction=Jurisdiction(row["state"], row["district"]),
                    correlation_id=queued.correlation_id,
                    causation_id=queued.event_id,
                )
            ],
            publish_to=self._topic,
        )


def _with_trace(outgoing: Outgoing, trace: dict[str, str]) -> Outgoing:
    return replace(outgoing, trace=trace or outgoing.trace)

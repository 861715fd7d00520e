"""What cases does with each message it consumes, and how it loads a case. Each consumer
handler runs inside the consumer's transaction, so the events, their outbox rows, the read
model and the processed-message record commit together."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime

import asyncpg

from prahari_cases.adapters import read_model
from prahari_cases.domain import commands as cmd
from prahari_cases.domain.case import Case, case_id_for, decide, evolve, replay, stream_for
from prahari_cases.domain.events import Reporter
from prahari_events.catalogue import REPORT_RECEIVED
from prahari_events.db import Conn
from prahari_events.envelope import Draft, Envelope, service_actor, utcnow
from prahari_events.policy import Area
from prahari_events.store import EventStore

log = logging.getLogger("prahari.cases")

Clock = Callable[[], datetime]


async def load_case(
    conn: Conn | asyncpg.Pool, store: EventStore, case_id: uuid.UUID
) -> Case | None:
    return await case_from(await read_model.get(conn, case_id), conn, store, case_id)


async def case_from(
    row: read_model.Row | None, conn: Conn | asyncpg.Pool, store: EventStore, case_id: uuid.UUID
) -> Case | None:
    """The case as it stands: from the read model's row when it was written by this code's
    model (it is written with every event, so it is at the stream's head), else folded
    from the events themselves."""
    if row is None:
        return None
    if row.model == read_model.MODEL:
        return Case.from_json(row.body)
    return replay(await store.read_stream(conn, stream_for(case_id)))


def fold(case: Case | None, events: list[Envelope]) -> Case:
    for event in events:
        case = evolve(case, event)
    assert case is not None
    return case


class CaseHandlers:
    def __init__(
        self,
        store: EventStore,
        case_topic: str,
        deadlines: cmd.Deadlines,
        clock: Clock = utcnow,
    ) -> None:
        self._store = store
        self._case_topic = case_topic
        self._deadlines = deadlines
        self._clock = clock

    async def __call__(self, conn: Conn, envelope: Envelope) -> None:
        if envelope.type == REPORT_RECEIVED:
            await self.report_received(conn, envelope)
        # Other event types on the reports topic are not this service's business.

    async def report_received(self, conn: Conn, report: Envelope) -> None:
        p = report.payload
        report_id = uuid.UUID(p["report_id"])
        case_id = case_id_for(report_id)
        # The report's row in case_reports is the check: a redelivery, or a twin delivery
        # committing first, finds it (the insert waits for a twin's commit) and stops here.
        if not await read_model.link_report(conn, report_id, case_id):
            return
        command = cmd.OpenCase(
            case_id=case_id,
            report_id=report_id,
            report_type=p["report_type"],
            description=p["description"],
            place=Area(p["state"], p["district"]),
            reported_by=Reporter(**report.actor.to_json()),
            reported_at=report.recorded_at,
            deadlines=self._deadlines,
        )
        drafts = [
            Draft(
                type=event.TYPE,
                payload=event.payload(),
                actor=service_actor("cases"),
                jurisdiction=report.jurisdiction,
                correlation_id=report.correlation_id,
                causation_id=report.event_id,
                occurred_at=self._clock(),
            )
            for event in decide(None, command, self._clock())
        ]
        events = await self._store.append(
            conn, stream_for(case_id), 0, drafts, publish_to=self._case_topic
        )
        await read_model.save(conn, fold(None, events))


async def refresh_stale_views(pool: asyncpg.Pool, store: EventStore, batch: int = 200) -> int:
    """Rebuild read-model rows written by an older model from their events; returns how
    many. Safe while commands run: a row is only replaced by a newer version or model."""
    refreshed = 0
    while True:
        ids = await read_model.stale(pool, batch)
        if not ids:
            return refreshed
        for case_id in ids:
            async with pool.acquire() as conn, conn.transaction():
                case = replay(await store.read_stream(conn, stream_for(case_id)))
                if case is None:
                    raise RuntimeError(f"case {case_id} is in the read model but has no events")
                await read_model.save(conn, case)
            refreshed += 1
        log.info("refreshed read-model rows", extra={"fields": {"count": refreshed}})

"""What cases does with each message it consumes. Each handler runs inside the consumer's
transaction, so the events, their outbox rows, the read model and the processed-message
record commit together."""

from __future__ import annotations

import uuid

from prahari_cases.adapters import read_model
from prahari_cases.domain.case import case_id_for, open_case, replay, stream_for
from prahari_events.catalogue import REPORT_RECEIVED
from prahari_events.db import Conn
from prahari_events.envelope import Envelope, utcnow
from prahari_events.store import EventStore


class CaseHandlers:
    def __init__(self, store: EventStore, case_topic: str) -> None:
        self._store = store
        self._case_topic = case_topic

    async def __call__(self, conn: Conn, envelope: Envelope) -> None:
        if envelope.type == REPORT_RECEIVED:
            await self.report_received(conn, envelope)
        # Other event types on the reports topic are not this service's business.

    async def report_received(self, conn: Conn, report: Envelope) -> None:
        stream = stream_for(case_id_for(uuid.UUID(report.payload["report_id"])))
        if await self._store.stream_version(conn, stream) > 0:
            return  # the case exists: this report was seen under another delivery
        events = await self._store.append(
            conn, stream, 0, open_case(report, utcnow()), publish_to=self._case_topic
        )
        case = replay(events)
        assert case is not None
        await read_model.save(conn, case)

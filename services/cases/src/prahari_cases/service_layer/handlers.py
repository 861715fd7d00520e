"""What cases does with each message it consumes, and how it loads a case. Each consumer
handler runs inside the consumer's transaction, so the events, their outbox rows, the read
model and the processed-message record commit together."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, ClassVar, Protocol

import asyncpg

from prahari_cases.adapters import identifiers as identifier_store
from prahari_cases.adapters import read_model
from prahari_cases.adapters import threads as thread_rows
from prahari_cases.adapters import watchlist as watchlist_store
from prahari_cases.domain import commands as cmd
from prahari_cases.domain import identifiers
from prahari_cases.domain.case import (
    Case,
    Recorded,
    case_id_for,
    decide,
    evolve,
    evolve_event,
    replay,
    stream_for,
)
from prahari_cases.domain.events import CaseEvent, LinkedReport, Reporter, Source
from prahari_cases.domain.sla import SlaPolicy
from prahari_cases.domain.triage import Attach, triage
from prahari_cases.service_layer import tallies
from prahari_events.auth import Unit
from prahari_events.catalogue import (
    CASE_REPORT_UNLINKED,
    CASE_SEIZURE_RECORDED,
    REPORT_RECEIVED,
    WATCHLIST_ENTRY_ADDED,
)
from prahari_events.db import Conn
from prahari_events.envelope import Actor, Draft, Envelope, Jurisdiction, service_actor, utcnow
from prahari_events.errors import ConcurrencyError, InvalidTransition
from prahari_events.policy import Area
from prahari_events.store import EventStore

log = logging.getLogger("prahari.cases")

Clock = Callable[[], datetime]
SYSTEM = service_actor("cases")
# Whether a report's unit may name a message of this thread as the report's source.
SourceCheck = Callable[[Conn, Unit, uuid.UUID], Awaitable[bool]]


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


class TypedEvent(Protocol):
    TYPE: ClassVar[str]

    def payload(self) -> dict[str, Any]: ...


def drafts_for(
    events: Sequence[TypedEvent],
    *,
    actor: Actor,
    jurisdiction: Jurisdiction,
    correlation_id: uuid.UUID,
    occurred_at: datetime,
    causation_id: uuid.UUID | None = None,
) -> list[Draft]:
    """The store's drafts of a decision's typed events: who, where, in which story, when."""
    return [
        Draft(
            type=event.TYPE,
            payload=event.payload(),
            actor=actor,
            jurisdiction=jurisdiction,
            correlation_id=correlation_id,
            causation_id=causation_id,
            occurred_at=occurred_at,
        )
        for event in events
    ]


def _moment(value: object) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


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
        sla_policy: SlaPolicy,
        *,
        rumour_window: timedelta = timedelta(hours=72),
        clock: Clock = utcnow,
        may_link: SourceCheck | None = None,
    ) -> None:
        self._may_link = may_link
        self._store = store
        self._case_topic = case_topic
        self._sla = sla_policy
        self._rumour_window = rumour_window
        self._clock = clock

    # What cases consumes: reports; from its own topic, unlinked reports (it opens their
    # cases) and seizure records (for the tallies).
    WANTS = frozenset(
        {REPORT_RECEIVED, CASE_REPORT_UNLINKED, CASE_SEIZURE_RECORDED, WATCHLIST_ENTRY_ADDED}
    )

    async def __call__(self, conn: Conn, envelope: Envelope) -> None:
        if envelope.type == REPORT_RECEIVED:
            await self.report_received(conn, envelope)
            await tallies.record_report(conn, envelope)
        elif envelope.type == CASE_REPORT_UNLINKED:
            await self.report_unlinked(conn, envelope)
        elif envelope.type == CASE_SEIZURE_RECORDED:
            await tallies.record_case_seizure(conn, envelope)
        elif envelope.type == WATCHLIST_ENTRY_ADDED:
            await self.watchlist_entry_added(conn, envelope)

    async def watchlist_entry_added(self, conn: Conn, added: Envelope) -> None:
        """An entry added to a watchlist flags the open cases that already name it."""
        entry = await watchlist_store.get(conn, uuid.UUID(added.payload["entry_id"]))
        now = self._clock()
        if entry is None or not entry.active(now):
            return  # removed or expired since
        hit = cmd.HitWatchlist(entry.entry_id, entry.owner, entry.identifier)
        for case_id in await identifier_store.open_cases_holding(conn, entry.identifier):
            case = await load_case(conn, self._store, case_id)
            if case is not None:
                await self._apply(conn, added, case, [hit], now)

    def identifiers_of(self, report: Mapping[str, Any]) -> list[identifiers.Identifier]:
        """What triage matches on (a method, so a benchmark can measure cases without it)."""
        return identifiers.of_report(
            report["report_type"], report["description"], report["details"]
        )

    async def report_unlinked(self, conn: Conn, unlinked: Envelope) -> None:
        """Open the case a wrongly attached report should have had: its own (the id derived
        from the report's), from what the unlinking event carries, with no triage."""
        p = unlinked.payload
        report = LinkedReport.from_json(p["report"])
        own = case_id_for(report.report_id)
        if await self._store.stream_version(conn, stream_for(own)) > 0:
            return  # opened already: the event came again
        opening = cmd.OpenCase(
            case_id=own,
            report_id=report.report_id,
            report_type=report.report_type,
            description=report.description,
            place=report.place,
            reported_by=report.reported_by,
            reported_at=report.reported_at,
            sla=self._sla.for_type(report.report_type),
            identifiers=report.identifiers,
            estimated_reach=report.estimated_reach,
            source=report.source,
        )
        now = self._clock()
        await self._apply(conn, unlinked, None, [opening], now)
        former = uuid.UUID(p["case_id"])
        await read_model.move_report(conn, report.report_id, own)
        await identifier_store.move(conn, report.report_id, former, own)
        if report.source is not None:
            # The message's report now holds a case of its own, not the one it left.
            await thread_rows.link_case(conn, report.source, own, instead_of=former)

    async def report_received(self, conn: Conn, report: Envelope) -> None:
        p = report.payload
        report_id = uuid.UUID(p["report_id"])
        own = case_id_for(report_id)
        # The report's row in case_reports is the check: a redelivery, or a twin delivery
        # committing first, finds it (the insert waits for a twin's commit) and stops here.
        if not await read_model.link_report(conn, report_id, own):
            return
        details = p["details"]
        found = self.identifiers_of(p)
        now = self._clock()
        candidates, watched = await identifier_store.lookup(conn, found, own, now)
        decision = triage(p["report_type"], p["state"], candidates, now, self._rumour_window)
        reach = details.get("estimated_reach") if p["report_type"] == "rumour" else None
        filed = LinkedReport(
            report_id=report_id,
            report_type=p["report_type"],
            description=p["description"],
            place=Area(p["state"], p["district"]),
            reported_by=Reporter(
                report.actor.unit_id,
                report.actor.role,
                report.actor.kind,
                report.actor.state,
                report.actor.district,
            ),
            reported_at=report.recorded_at,
            estimated_reach=reach,
            identifiers=tuple(found),
            source=await self._source(conn, report),
        )
        source = filed.source
        hits = [cmd.HitWatchlist(e.entry_id, e.owner, e.identifier) for e in watched]
        if isinstance(decision, Attach):
            await self._attach(conn, report, decision, filed=filed, found=found, hits=hits, now=now)
            if source is not None:  # the case it joined holds the message's report now
                await thread_rows.link_case(conn, source, decision.case_id)
            return
        opening = cmd.OpenCase(
            case_id=own,
            report_id=report_id,
            report_type=filed.report_type,
            description=filed.description,
            place=filed.place,
            reported_by=filed.reported_by,
            reported_at=filed.reported_at,
            sla=self._sla.for_type(filed.report_type),
            identifiers=tuple(found),
            estimated_reach=reach,
            expected_at=_moment(details.get("expected_at")),
            source=source,
        )
        links = [cmd.LinkCase(c.case_id, c.state, c.identifier) for c in decision.links]
        case = await self._apply(
            conn, report, None, [opening, *links, *hits], now, remember=(report_id, found)
        )
        if source is not None:
            await thread_rows.link_case(conn, source, own)
        for link in decision.links:
            other = await load_case(conn, self._store, link.case_id)
            assert other is not None  # a candidate is a case in the read model
            back = cmd.LinkCase(own, case.state, link.identifier)
            await self._apply(conn, report, other, [back], now)

    async def _source(self, conn: Conn, report: Envelope) -> Source | None:
        """The thread message the report names as its source, if its unit may name it (it
        must be a member of the thread); otherwise the report stands alone, and its own
        event still records what it named."""
        source = Source.from_json(report.payload.get("source"))
        if source is None or self._may_link is None:
            return None
        a = report.actor
        unit = Unit(a.unit_id, a.kind, a.role, a.state, a.district)
        if await self._may_link(conn, unit, source.thread_id):
            return source
        log.warning(
            "a report names a thread its unit is not a member of",
            extra={"fields": {"report_id": report.payload["report_id"], "unit": a.unit_id}},
        )
        return None

    async def _attach(
        self,
        conn: Conn,
        report: Envelope,
        decision: Attach,
        *,
        filed: LinkedReport,
        found: list[identifiers.Identifier],
        hits: list[cmd.HitWatchlist],
        now: datetime,
    ) -> None:
        target = await load_case(conn, self._store, decision.case_id)
        assert target is not None  # a candidate is a case in the read model
        attach = cmd.AttachReport(filed, decision.matched)
        try:
            await self._apply(
                conn, report, target, [attach, *hits], now, remember=(filed.report_id, found)
            )
        except InvalidTransition:
            # Closed between the candidates' query and now: triage again from the start.
            raise ConcurrencyError(f"case {target.case_id} changed during triage") from None
        await read_model.move_report(conn, filed.report_id, target.case_id)

    async def _apply(
        self,
        conn: Conn,
        report: Envelope,
        case: Case | None,
        commands: list[cmd.Command],
        now: datetime,
        *,
        remember: tuple[uuid.UUID, Sequence[identifiers.Identifier]] | None = None,
    ) -> Case:
        return await apply_system(
            conn,
            self._store,
            self._case_topic,
            case,
            commands,
            now=now,
            correlation_id=case.correlation_id if case else report.correlation_id,
            causation_id=report.event_id,
            remember=remember,
        )


async def apply_system(
    conn: Conn,
    store: EventStore,
    topic: str,
    case: Case | None,
    commands: list[cmd.Command],
    *,
    now: datetime,
    correlation_id: uuid.UUID,
    causation_id: uuid.UUID | None,
    remember: tuple[uuid.UUID, Sequence[identifiers.Identifier]] | None = None,
) -> Case:
    """Decide the system's own commands in turn on one case, append what they cause and
    write the read model (and, given `remember`, a report's identifier rows), inside the
    caller's transaction."""
    decided: list[CaseEvent] = []
    current = case
    for command in commands:
        for event in decide(current, command, now):
            decided.append(event)
            version = current.version + 1 if current else 1
            current = evolve_event(current, event, Recorded(version, now, SYSTEM, correlation_id))
    assert current is not None
    if not decided:
        return current
    drafts = drafts_for(
        decided,
        actor=SYSTEM,
        jurisdiction=Jurisdiction(current.state, current.district),
        correlation_id=correlation_id,
        causation_id=causation_id,
        occurred_at=now,
    )
    appended = await store.append(
        conn, stream_for(current.case_id), case.version if case else 0, drafts, publish_to=topic
    )
    after = fold(case, appended)
    await read_model.save(conn, after, identifiers=remember)
    return after


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

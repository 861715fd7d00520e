"""Threads over HTTP: which threads a unit has, their messages, and posting one. A post is
one transaction: lock the thread's head, check a retried key, decide, append the event (its
outbox row with it) and write the message's row. To a unit that is not a member (nor an
auditor) a thread does not exist: 404, never 403, so a thread's existence is not a leak."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import asyncpg

from prahari_cases.adapters import read_model
from prahari_cases.adapters import threads as rows
from prahari_cases.domain import search
from prahari_cases.domain import threads as th
from prahari_cases.domain.case import Case
from prahari_cases.domain.events import Attachment
from prahari_cases.service_layer.handlers import Clock, case_from, drafts_for
from prahari_events import policy
from prahari_events.auth import Unit
from prahari_events.borders import BorderPair
from prahari_events.db import Conn
from prahari_events.envelope import Envelope, Jurisdiction, iso, utcnow
from prahari_events.errors import Forbidden, IdempotencyKeyReused, NotFound
from prahari_events.lgd import Directory
from prahari_events.policy import Area, UnitRef
from prahari_events.store import EventStore
from prahari_events.units import UnitDirectory

# How many case threads a unit's list shows: the most recently active.
LISTED = 200


def message_json(envelope: Envelope) -> dict[str, Any]:
    """A message as the API shows it (the read model's row adds the cases opened from it)."""
    p = envelope.payload
    return {
        "message_id": p["message_id"],
        "thread_id": p["thread_id"],
        "version": envelope.stream_version,
        "text": p["text"],
        "attachments": p["attachments"],
        "mentions": p["mentions"],
        "by": envelope.actor.to_json(),
        "at": iso(envelope.recorded_at),
    }


class Threads:
    """What a thread is and who belongs to it: border threads from the pairs, case threads
    from their cases as they stand."""

    def __init__(self, store: EventStore, places: Directory, pairs: Sequence[BorderPair]) -> None:
        self._store = store
        self._places = places
        self.border = {p.pair_id: th.border_thread(p, self.place) for p in pairs}

    def place(self, area: Area) -> str:
        state = self._places.states.get(area.state, str(area.state)).title()
        if area.district is None:
            return state
        return f"{self._places.district_name(area.district)} ({state})"

    def of_case(self, case: Case) -> th.Thread:
        label = case.report_type.replace("_", " ")
        title = f"{label} case in {self.place(case.place)}: {case.description[:80]}"
        return th.case_thread(case.case_id, case.access(), title)

    async def get(self, conn: Conn | asyncpg.Pool, thread_id: uuid.UUID) -> th.Thread | None:
        if thread_id in self.border:
            return self.border[thread_id]
        row = await read_model.get(conn, thread_id)
        case = await case_from(row, conn, self._store, thread_id)
        return self.of_case(case) if case is not None else None

    @staticmethod
    def member(unit: Unit, thread: th.Thread) -> bool:
        if thread.kind == th.BORDER:  # its audience is its two districts
            return policy.border_thread_member(unit, thread.audience)
        assert thread.access is not None
        return policy.case_thread_member(unit, thread.access)


class ThreadDesk:
    def __init__(
        self,
        pool: asyncpg.Pool,
        store: EventStore,
        topic: str,
        units: UnitDirectory,
        threads: Threads,
        *,
        clock: Clock = utcnow,
        new_id: Callable[[], uuid.UUID] = uuid.uuid4,
    ) -> None:
        self._pool = pool
        self._store = store
        self._topic = topic
        self._units = units
        self.threads = threads
        self._clock = clock
        self._new_id = new_id

    async def visible(self, unit: Unit, thread_id: uuid.UUID) -> tuple[th.Thread, bool]:
        """The thread and whether the unit is a member; NotFound unless it may read it."""
        thread = await self.threads.get(self._pool, thread_id)
        member = thread is not None and self.threads.member(unit, thread)
        if thread is None or not policy.may_read_thread(unit, member):
            raise NotFound("no such thread")
        return thread, member

    async def _listed(self, unit: Unit) -> list[tuple[th.Thread, int, datetime | None]]:
        """The unit's threads (an auditor's: all), each with its messages and last one's time."""
        auditor = policy.is_auditor(unit)
        found: list[tuple[th.Thread, int, datetime | None]] = []
        borders = [
            t for t in self.threads.border.values() if auditor or self.threads.member(unit, t)
        ]
        heads = await rows.heads(self._pool, [t.thread_id for t in borders])
        for thread in borders:
            head = heads.get(thread.thread_id)
            found.append((thread, head.messages if head else 0, head.last_at if head else None))
        keys = None if auditor else policy.unit_keys(unit)
        for head, body in await rows.case_threads(self._pool, keys, LISTED):
            thread = self.threads.of_case(Case.from_json(body))
            if auditor or self.threads.member(unit, thread):
                found.append((thread, head.messages, head.last_at))
        return found

    async def mine(self, unit: Unit) -> list[dict[str, Any]]:
        """The unit's threads, the most recently active first."""
        found = await self._listed(unit)
        found.sort(key=lambda f: (f[2] is not None, f[2] or datetime.min), reverse=True)
        return [
            {**t.to_json(), "messages": n, "last_at": iso(last) if last else None}
            for t, n, last in found
        ]

    async def head(self, thread_id: uuid.UUID) -> dict[str, Any]:
        """How many messages the thread has and when the last came."""
        head = (await rows.heads(self._pool, [thread_id])).get(thread_id)
        last = head.last_at if head else None
        return {"messages": head.messages if head else 0, "last_at": iso(last) if last else None}

    async def messages(
        self, unit: Unit, thread_id: uuid.UUID, *, after: int, limit: int, words: Sequence[str]
    ) -> tuple[th.Thread, list[dict[str, Any]]]:
        thread, _ = await self.visible(unit, thread_id)
        found = await rows.page(self._pool, thread_id, after=after, limit=limit, words=words)
        return thread, found

    async def search(self, unit: Unit, words: Sequence[str], limit: int) -> list[dict[str, Any]]:
        """Messages holding every word, newest first, in the threads `mine` lists for the
        unit (an auditor's: every thread)."""
        if policy.is_auditor(unit):
            return await rows.search(self._pool, None, words, limit)
        ids = [thread.thread_id for thread, _, _ in await self._listed(unit)]
        return await rows.search(self._pool, ids, words, limit)

    async def post(
        self,
        unit: Unit,
        thread_id: uuid.UUID,
        text: str,
        attachments: tuple[Attachment, ...],
        mentions: tuple[UnitRef, ...],
        *,
        key: str | None,
        fingerprint: bytes,
    ) -> tuple[dict[str, Any], bool]:
        """The message, and whether it was posted before (a retry with the same key)."""
        thread, member = await self.visible(unit, thread_id)
        if not policy.may_post_thread(unit, member):
            raise Forbidden("auditors read threads and post nothing")
        assert unit.state is not None  # a member has a state
        poster = UnitRef(unit.state, unit.unit_id)
        message_id = th.message_id_for(poster, thread_id, key) if key else self._new_id()
        command = th.Post(message_id, text, attachments, mentions)
        async with self._pool.acquire() as conn, conn.transaction():
            version = await rows.lock_head(conn, thread_id, thread.kind, thread.case_id)
            existing = await rows.get_message(conn, message_id)
            if existing is not None:
                if existing.request_hash != fingerprint or existing.thread_id != thread_id:
                    raise IdempotencyKeyReused(
                        "this Idempotency-Key was already used for a different message",
                        fields={"Idempotency-Key": ["already used for a different request"]},
                    )
                return existing.body, True
            event = th.post(thread, command, lambda ref: self._member_of(ref, thread))
            now = self._clock()
            where = (
                thread.audience[0] if thread.kind == th.CASE else Area(unit.state, unit.district)
            )
            (appended,) = await self._store.append(
                conn,
                th.stream_for(thread_id),
                version,
                drafts_for(
                    [event],
                    actor=unit.actor(),
                    jurisdiction=Jurisdiction(where.state, where.district),
                    correlation_id=thread_id,
                    occurred_at=now,
                ),
                publish_to=self._topic,
            )
            body = message_json(appended)
            await rows.add_message(conn, body, request_hash=fingerprint, terms=search.terms(text))
        return {**body, "cases": []}, False

    def _member_of(self, ref: UnitRef, thread: th.Thread) -> bool | None:
        found = self._units.get(ref)
        if found is None:
            return None
        return self.threads.member(found.as_unit(), thread)


async def may_link(conn: Conn, unit: Unit, thread_id: uuid.UUID, *, threads: Threads) -> bool:
    """Whether a report filed by `unit` may name a message of this thread as its source: the
    unit must be able to read the thread, or the message would show a case to units that
    never saw the report."""
    thread = await threads.get(conn, thread_id)
    return thread is not None and threads.member(unit, thread)

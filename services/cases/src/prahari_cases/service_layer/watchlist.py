"""Watchlist entries over HTTP: each change an event of the entry's own stream, published
on cases' topic (where cases itself picks up an addition to flag the open cases that name
it), with the read model, in one transaction."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from prahari_cases.adapters import watchlist as store_view
from prahari_cases.domain import watchlist as wl
from prahari_cases.domain.identifiers import Identifier
from prahari_cases.service_layer.handlers import Clock, drafts_for
from prahari_events import policy
from prahari_events.auth import Unit
from prahari_events.db import Conn
from prahari_events.envelope import Jurisdiction, utcnow
from prahari_events.errors import (
    Forbidden,
    IdempotencyKeyReused,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
)
from prahari_events.store import EventStore


class WatchlistDesk:
    def __init__(
        self, pool: asyncpg.Pool, store: EventStore, topic: str, *, clock: Clock = utcnow
    ) -> None:
        self._pool = pool
        self._store = store
        self._topic = topic
        self._clock = clock

    def visible(self, unit: Unit, entry: wl.Entry | None) -> wl.Entry:
        if entry is None or not policy.may_read_watchlist(unit, entry.owner.state):
            raise NotFound("no such watchlist entry")
        return entry

    async def add(
        self,
        unit: Unit,
        identifier: Identifier,
        reason: str,
        expires_at: datetime,
        *,
        key: str | None,
    ) -> tuple[wl.Entry, bool]:
        """The entry, and whether it is new (False: a retried request with the same key)."""
        if unit.state is None or not policy.may_change_watchlist(unit, unit.state):
            raise Forbidden("only control rooms keep watchlists")
        owner = policy.UnitRef(unit.state, unit.unit_id)
        entry_id = wl.entry_id_for(owner, key) if key else uuid.uuid4()
        async with self._pool.acquire() as conn, conn.transaction():
            existing = await store_view.get(conn, entry_id)
            if existing is not None and (
                existing.identifier,
                existing.reason,
                existing.expires_at,
            ) != (identifier, reason, expires_at):
                raise IdempotencyKeyReused(
                    "this Idempotency-Key was already used for a different entry",
                    fields={"Idempotency-Key": ["already used for a different request"]},
                )
            command = wl.Add(entry_id, identifier, owner, reason, expires_at)
            added = await self._apply(conn, unit, existing, command, owner=owner, entry_id=entry_id)
            return added, existing is None

    async def change(
        self, unit: Unit, entry_id: uuid.UUID, command: wl.Change | wl.Remove, if_match: int | None
    ) -> wl.Entry:
        async with self._pool.acquire() as conn, conn.transaction():
            entry = self.visible(unit, await store_view.get(conn, entry_id))
            if not policy.may_change_watchlist(unit, entry.owner.state):
                raise Forbidden("only the owner state's control rooms change its watchlist")
            if if_match is None:
                raise PreconditionRequired(
                    "send If-Match with the entry's ETag",
                    fields={"If-Match": [f'required, e.g. If-Match: "{entry.version}"']},
                )
            if if_match != entry.version:
                raise PreconditionFailed(
                    "the entry changed since that version",
                    fields={"If-Match": [f"the entry is at version {entry.version}"]},
                )
            return await self._apply(
                conn, unit, entry, command, owner=entry.owner, entry_id=entry.entry_id
            )

    async def _apply(
        self,
        conn: Conn,
        unit: Unit,
        entry: wl.Entry | None,
        command: wl.Add | wl.Change | wl.Remove,
        *,
        owner: policy.UnitRef,
        entry_id: uuid.UUID,
    ) -> wl.Entry:
        now = self._clock()
        decided = wl.decide(entry, command, now)
        if not decided:
            assert entry is not None
            return entry
        drafts = drafts_for(
            decided,
            actor=unit.actor(),
            jurisdiction=Jurisdiction(owner.state, None),
            correlation_id=entry_id,
            occurred_at=now,
        )
        appended = await self._store.append(
            conn,
            wl.stream_for(entry_id),
            entry.version if entry else 0,
            drafts,
            publish_to=self._topic,
        )
        for event in appended:
            entry = wl.evolve(entry, event)
        assert entry is not None
        await store_view.save(conn, entry)
        return entry

"""The PostgreSQL event store.

Callers pass a connection inside a transaction: appending events, writing their outbox rows,
updating a read model and recording a processed message all commit or roll back together.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from prahari_events.db import Conn
from prahari_events.envelope import Draft, Envelope, utcnow
from prahari_events.errors import ConcurrencyError
from prahari_events.kafka import envelope_headers
from prahari_events.registry import Registry
from prahari_events.telemetry import current_carrier

OUTBOX_CHANNEL = "prahari_outbox"
GENESIS = bytes(32)  # the prev_hash of every stream's first event


def chain_hash(prev_hash: bytes, body: bytes) -> bytes:
    return hashlib.sha256(prev_hash + body).digest()


@dataclass(frozen=True, slots=True, order=True)
class Position:
    """A place in the global order: (transaction id, position within the table)."""

    tx_id: int
    position: int

    @classmethod
    def start(cls) -> Position:
        return cls(0, 0)

    def __str__(self) -> str:
        return f"{self.tx_id}:{self.position}"


class EventStore:
    def __init__(self, registry: Registry) -> None:
        self._registry = registry

    @property
    def registry(self) -> Registry:
        return self._registry

    async def append(
        self,
        conn: Conn,
        stream_id: str,
        expected_version: int,
        drafts: Sequence[Draft],
        *,
        publish_to: str | None = None,
    ) -> list[Envelope]:
        """Append `drafts` after `expected_version`; ConcurrencyError if the stream moved."""
        if not conn.is_in_transaction():
            raise RuntimeError("append needs a connection inside a transaction")
        if not drafts:
            return []
        head = await conn.fetchrow(
            "SELECT stream_version, hash FROM events WHERE stream_id = $1"
            " ORDER BY stream_version DESC LIMIT 1",
            stream_id,
        )
        current, prev_hash = (head["stream_version"], head["hash"]) if head else (0, GENESIS)
        if current != expected_version:
            raise ConcurrencyError(
                f"stream {stream_id} is at version {current}, not {expected_version}",
                fields={"expected_version": expected_version, "actual_version": current},
            )
        recorded_at = utcnow()
        trace = current_carrier()
        envelopes = [
            self._registry.stamp(
                draft,
                stream_id=stream_id,
                stream_version=expected_version + offset,
                recorded_at=recorded_at,
                trace=trace,
            )
            for offset, draft in enumerate(drafts, start=1)
        ]
        bodies = [self._registry.encode(e) for e in envelopes]
        prev_hashes, hashes = [], []
        for body in bodies:
            prev_hashes.append(prev_hash)
            prev_hash = chain_hash(prev_hash, body)
            hashes.append(prev_hash)
        try:
            # One round trip however many events: unnest turns the arrays into rows.
            await conn.execute(
                "INSERT INTO events (stream_id, stream_version, event_id, type, version,"
                " recorded_at, body, prev_hash, hash)"
                " SELECT $1, * FROM unnest($2::integer[], $3::uuid[], $4::text[],"
                " $5::integer[], $6::timestamptz[], $7::bytea[], $8::bytea[], $9::bytea[])",
                stream_id,
                [e.stream_version for e in envelopes],
                [e.event_id for e in envelopes],
                [e.type for e in envelopes],
                [e.version for e in envelopes],
                [e.recorded_at for e in envelopes],
                bodies,
                prev_hashes,
                hashes,
            )
        except asyncpg.UniqueViolationError as exc:
            # A concurrent writer took this version between our read and our insert, or the
            # very same event was appended before (a redelivered command).
            raise ConcurrencyError(f"stream {stream_id}: {exc.detail or exc}") from None
        if publish_to is not None:
            await conn.execute(
                "INSERT INTO outbox (event_id, topic, key, value, headers)"
                " SELECT event_id, $1, $2, value, headers::jsonb"
                " FROM unnest($3::uuid[], $4::bytea[], $5::text[]) AS t(event_id, value, headers)",
                publish_to,
                stream_id,
                [e.event_id for e in envelopes],
                bodies,
                # As JSON text: a list of pairs would bind as a two-dimensional array.
                [json.dumps([[k, v.decode()] for k, v in envelope_headers(e)]) for e in envelopes],
            )
            # Wakes the relay at commit; NOTIFY is transactional, so never for a rollback.
            await conn.execute("SELECT pg_notify($1, current_schema())", OUTBOX_CHANNEL)
        return envelopes

    async def stream_version(self, conn: Conn | asyncpg.Pool, stream_id: str) -> int:
        version = await conn.fetchval(
            "SELECT coalesce(max(stream_version), 0) FROM events WHERE stream_id = $1", stream_id
        )
        return int(version)

    async def read_stream(
        self,
        conn: Conn | asyncpg.Pool,
        stream_id: str,
        *,
        up_to_version: int | None = None,
        as_of: datetime | None = None,
    ) -> list[Envelope]:
        """A stream's events in order, whole, up to a version, or as recorded at a moment."""
        rows = await conn.fetch(
            "SELECT body FROM events WHERE stream_id = $1"
            " AND ($2::integer IS NULL OR stream_version <= $2)"
            " AND ($3::timestamptz IS NULL OR recorded_at <= $3)"
            " ORDER BY stream_version",
            stream_id,
            up_to_version,
            as_of,
        )
        return [self._registry.decode(r["body"]) for r in rows]

    async def read_all(
        self, conn: Conn | asyncpg.Pool, after: Position, limit: int = 500
    ) -> list[tuple[Position, Envelope]]:
        """Every event in one global order, for followers (projections, auditors, relays).

        A plain identity column is not a safe cursor: a transaction that took position 7
        may commit after one that took position 8, and a follower that already read 8
        would skip 7 forever. Ordering by the writing transaction's id instead, and only
        reading transactions older than the oldest one still running (the snapshot's
        xmin), means nothing can ever commit behind the cursor, without a lock that would
        serialise the writers. The price: a long-running transaction anywhere in the
        cluster holds followers back (never makes them skip) until it ends.
        """
        rows = await conn.fetch(
            "SELECT tx_id::text AS tx, position, body FROM events"
            " WHERE (tx_id, position) > ($1::text::xid8, $2)"
            " AND tx_id < pg_snapshot_xmin(pg_current_snapshot())"
            " ORDER BY tx_id, position LIMIT $3",
            str(after.tx_id),
            after.position,
            limit,
        )
        return [
            (Position(int(r["tx"]), r["position"]), self._registry.decode(r["body"])) for r in rows
        ]

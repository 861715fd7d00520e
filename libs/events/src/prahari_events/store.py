"""The PostgreSQL event store.

Callers pass a connection inside a transaction: appending events, writing their outbox rows,
updating a read model and recording a processed message all commit or roll back together.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from prahari_events.db import Conn
from prahari_events.envelope import Draft, Envelope, utcnow
from prahari_events.errors import ConcurrencyError
from prahari_events.kafka import envelope_headers, headers_json
from prahari_events.registry import Registry
from prahari_events.telemetry import current_carrier

OUTBOX_CHANNEL = "prahari_outbox"
_VERSION_CONFLICT = "PX409"  # raised by append_events
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


# The events after a position ($1 transaction id as text, $2 position) in the global order,
# at most $3 of them: only transactions older than every running one, so that nothing can
# commit behind the position later (read_all_records says why).
AFTER = (
    " FROM events WHERE (tx_id, position) > ($1::text::xid8, $2)"
    " AND tx_id < pg_snapshot_xmin(pg_current_snapshot()) ORDER BY tx_id, position LIMIT $3"
)


class EventStore:
    def __init__(self, registry: Registry) -> None:
        self._registry = registry

    @property
    def registry(self) -> Registry:
        return self._registry

    async def append(
        self,
        conn: Conn | asyncpg.Pool,
        stream_id: str,
        expected_version: int,
        drafts: Sequence[Draft],
        *,
        publish_to: str | None = None,
    ) -> list[Envelope]:
        """Append `drafts` after `expected_version`; ConcurrencyError if the stream moved.

        Given a connection, it must be inside the caller's transaction, so the events commit
        together with the caller's other writes (read model, processed-message record).
        Given a pool, the append is a transaction of its own: one statement, one round trip.
        """
        if not isinstance(conn, asyncpg.Pool) and not conn.is_in_transaction():
            raise RuntimeError("append needs a pool, or a connection inside a transaction")
        if not drafts:
            return []
        prepared = self.prepare(stream_id, expected_version, drafts, publish_to=publish_to)
        with prepared.conflicts():
            # One round trip: append_events (001_eventstore.sql) checks the version, extends
            # the hash chain, and writes the events and their outbox rows.
            await conn.execute(f"SELECT append_events({APPEND_PARAMS})", *prepared.args)
        return prepared.envelopes

    def prepare(
        self,
        stream_id: str,
        expected_version: int,
        drafts: Sequence[Draft],
        *,
        publish_to: str | None = None,
    ) -> PreparedAppend:
        """Stamp and encode drafts into the arguments of append_events, for a caller that
        sends them inside a statement of its own (an append and its read model in one
        round trip); `PreparedAppend.conflicts` maps the store's errors as `append` does."""
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
        args = (
            stream_id,
            expected_version,
            [e.event_id for e in envelopes],
            [e.type for e in envelopes],
            [e.version for e in envelopes],
            recorded_at,
            [self._registry.encode(e) for e in envelopes],
            publish_to,
            [headers_json(envelope_headers(e)) for e in envelopes]
            if publish_to is not None
            else None,
        )
        return PreparedAppend(stream_id, expected_version, envelopes, args)

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
        return [self._registry.decode_stored(r["body"]) for r in rows]

    async def read_all(
        self, conn: Conn | asyncpg.Pool, after: Position, limit: int = 500
    ) -> list[tuple[Position, Envelope]]:
        """Every event in one global order, decoded and upcast; see read_all_records."""
        records = await self.read_all_records(conn, after, limit)
        return [(r.position, self._registry.decode_stored(r.body)) for r in records]

    async def read_all_records(
        self, conn: Conn | asyncpg.Pool, after: Position, limit: int = 500
    ) -> list[StoredRecord]:
        """Every event in one global order, as stored bytes, for followers that forward or
        archive without decoding (replicators, auditors' exports).

        A plain identity column is not a safe cursor: a transaction that took position 7
        may commit after one that took position 8, and a follower that already read 8
        would skip 7 forever. Ordering by the writing transaction's id instead, and only
        reading transactions older than the oldest one still running (the snapshot's
        xmin), means nothing can ever commit behind the cursor, without a lock that would
        serialise the writers. The price: a long-running transaction anywhere in the
        cluster holds followers back (never makes them skip) until it ends.
        """
        rows = await conn.fetch(
            f"SELECT tx_id::text AS tx, position, stream_id, stream_version, type, body{AFTER}",
            str(after.tx_id),
            after.position,
            limit,
        )
        return [
            StoredRecord(
                Position(int(r["tx"]), r["position"]),
                r["stream_id"],
                r["stream_version"],
                r["type"],
                r["body"],
            )
            for r in rows
        ]


# The placeholders of append_events' nine arguments, for statements that embed the call.
APPEND_PARAMS = "$1, $2, $3, $4, $5, $6, $7, $8, $9"


@dataclass(frozen=True, slots=True)
class PreparedAppend:
    stream_id: str
    expected_version: int
    envelopes: list[Envelope]
    args: tuple[Any, ...]

    @contextlib.contextmanager
    def conflicts(self) -> Iterator[None]:
        """Turn the database's refusals of this append into ConcurrencyError."""
        try:
            yield
        except asyncpg.UniqueViolationError as exc:
            # A concurrent writer took this version between the check and the insert, or
            # the very same event was appended before (a redelivered command), or another
            # unique row written in the same statement (an idempotency key) was taken.
            raise ConcurrencyError(f"stream {self.stream_id}: {exc.detail or exc}") from None
        except asyncpg.PostgresError as exc:
            if exc.sqlstate != _VERSION_CONFLICT:
                raise
            raise ConcurrencyError(
                str(exc),
                fields={
                    "expected_version": self.expected_version,
                    "actual_version": int(exc.detail or 0),
                },
            ) from None


@dataclass(frozen=True, slots=True)
class StoredRecord:
    position: Position
    stream_id: str
    stream_version: int
    type: str
    body: bytes

"""The SQL of the partner states' feeds: the position they reached in the store's global
order, and their messages queued in the outbox (the relay publishes them)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from prahari_events.db import Conn
from prahari_events.store import OUTBOX_CHANNEL, Position


@dataclass(frozen=True, slots=True)
class Message:
    event_id: uuid.UUID
    topic: str
    key: str
    value: bytes
    headers: list[tuple[str, bytes]]


async def claim(conn: Conn) -> Position:
    """The position reached, locked until the caller's transaction ends."""
    row = await conn.fetchrow(
        "SELECT tx_id::text AS tx, position FROM share_feed_position FOR UPDATE"
    )
    assert row is not None  # written by the migration
    return Position(int(row["tx"]), row["position"])


async def advance(conn: Conn, to: Position) -> None:
    await conn.execute(
        "UPDATE share_feed_position SET tx_id = $1::text::xid8, position = $2",
        str(to.tx_id),
        to.position,
    )


async def queue(conn: Conn, messages: Sequence[Message]) -> None:
    if not messages:
        return
    await conn.execute(
        "INSERT INTO outbox (event_id, topic, key, value, headers)"
        " SELECT e, t, k, v, h::jsonb FROM unnest($1::uuid[], $2::text[], $3::text[],"
        " $4::bytea[], $5::text[]) AS u(e, t, k, v, h)",
        [m.event_id for m in messages],
        [m.topic for m in messages],
        [m.key for m in messages],
        [m.value for m in messages],
        # As JSON text: a list of pairs would bind as one more dimension of the array.
        [json.dumps([[k, v.decode()] for k, v in m.headers]) for m in messages],
    )
    await conn.execute("SELECT pg_notify($1, current_schema())", OUTBOX_CHANNEL)

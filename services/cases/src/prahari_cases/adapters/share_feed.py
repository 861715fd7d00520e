"""The SQL of the partner states' feeds: the position they reached in the store's global
order. Their messages go to the outbox with prahari_events.outbox.enqueue."""

from __future__ import annotations

from prahari_events.db import Conn
from prahari_events.store import Position


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

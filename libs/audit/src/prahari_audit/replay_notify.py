"""Replay of notify: its read models rebuilt from events with notify's own folds, compared
with the live rows read in the same REPEATABLE READ snapshot.

- `deliveries`: each notification's stream folded by `notification.evolve`, the fold the
  dispatcher writes the row from: status, version, pinned provider and expiry, with the
  case and channel from its `notification.queued`. Not compared: `attempts` (a claim counts
  an attempt before its outcome is an event, so a notify that died mid-send leaves one
  more), leases, the next attempt's time and the last error (working state of the
  dispatcher, not decided by events).
- `case_access`: who may see each case's notifications, folded by `access.follow` from the
  case events notify's consumer took from cases' topic (which ones is in
  `processed_messages`, read in the same snapshot).
- `digest_windows` is not compared: a window holds messages for a few minutes and is gone
  once flushed; what it sent is in the notifications' streams.

Nothing is written: the rebuilt rows are compared in memory.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from prahari_audit.progress import Progress
from prahari_audit.replay import Difference, Replayed
from prahari_audit.topics import read_whole
from prahari_events.catalogue import NOTIFICATION_QUEUED, build_registry
from prahari_events.db import Conn
from prahari_events.envelope import Envelope
from prahari_events.kafka import KafkaAccess
from prahari_events.policy import read_keys
from prahari_notify.domain import access as case_access
from prahari_notify.domain.notification import Notification, evolve

Row = dict[str, Any]


async def replay_notify(
    conn: Conn,
    live: str,
    *,
    kafka: KafkaAccess,
    case_topic: str,
    progress: Progress | None = None,
) -> Replayed:
    """`conn` must not be in a transaction; `live` is notify's schema."""
    registry = build_registry()
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        await conn.execute(f'SET LOCAL search_path TO "{live}"')
        taken = {
            r["event_id"]
            for r in await conn.fetch(
                "SELECT event_id FROM processed_messages WHERE topic = $1", case_topic
            )
        }
        if progress is not None:
            progress.total = await conn.fetchval("SELECT count(*) FROM events")
        folded: dict[uuid.UUID, Notification] = {}
        cases: dict[uuid.UUID, Any] = {}
        events = 0
        async for record in conn.cursor(
            "SELECT body FROM events ORDER BY stream_id, stream_version", prefetch=5000
        ):
            event = registry.decode_stored(record["body"])
            events += 1
            if progress is not None:
                progress.advance()
            if not event.stream_id.startswith("notification-"):
                continue
            p = event.payload
            key = uuid.UUID(str(p["notification_id"]))
            if key not in folded and event.type != NOTIFICATION_QUEUED:
                continue  # notification.undeliverable: a stream of its own, never a delivery
            folded[key] = evolve(folded.get(key), event.type, p)
            if event.type == NOTIFICATION_QUEUED:
                cases[key] = p.get("case_id")
        live_deliveries = {
            r["notification_id"]: dict(r)
            for r in await conn.fetch(
                "SELECT notification_id, case_id, channel, status, version, pinned_provider,"
                " expires_at FROM deliveries"
            )
        }
        live_access = {
            r["case_id"]: dict(r)
            for r in await conn.fetch(
                "SELECT case_id, version, access, report_type, readers FROM case_access"
            )
        }
    rebuilt = {
        key: {
            "notification_id": key,
            "case_id": uuid.UUID(str(cases[key])) if cases.get(key) else None,
            "channel": n.channel,
            "status": n.state.value,
            "version": n.version,
            "pinned_provider": n.pinned,
            "expires_at": n.expires_at,
        }
        for key, n in folded.items()
    }
    # The case events as notify's consumer took them, each once, in each case's order.
    taken_events = {
        e.event_id: e
        for e in (registry.decode(v) for v in await read_whole(kafka, case_topic))
        if e.event_id in taken
    }
    access = _fold_access(
        sorted(taken_events.values(), key=lambda e: (e.stream_id, e.stream_version))
    )
    differences = _diff("deliveries", live_deliveries, rebuilt)
    differences += _diff("case_access", live_access, access)
    return Replayed(events, len(access), differences)


def _fold_access(events: list[Envelope]) -> dict[uuid.UUID, Row]:
    known: dict[uuid.UUID, case_access.Known] = {}
    for event in events:
        case_id = uuid.UUID(str(event.payload["case_id"]))
        after = case_access.follow(known.get(case_id), event)
        if after is not None:
            known[case_id] = after
    return {
        case_id: {
            "case_id": case_id,
            "version": k.version,
            "access": case_access.to_json(k.access),
            "report_type": k.report_type,
            "readers": read_keys(k.access),
        }
        for case_id, k in known.items()
    }


def _diff(
    table: str, live: Mapping[uuid.UUID, Row], rebuilt: Mapping[uuid.UUID, Row]
) -> list[Difference]:
    """As the SQL replay names them: a live row the events do not give is "live only", a
    row the events give that is not live is "replay only"; a changed row is both."""
    found = []
    for key in sorted(set(live) | set(rebuilt), key=str):
        a, b = live.get(key), rebuilt.get(key)
        if a is not None and b is not None and _same(a, b):
            continue
        if a is not None:
            found.append(Difference(table, str(key), "live only"))
        if b is not None:
            found.append(Difference(table, str(key), "replay only"))
    return found


def _same(a: Row, b: Row) -> bool:
    def canonical(value: Any) -> Any:
        # readers: a set, whatever order it was written in
        return sorted(value) if isinstance(value, list) else value

    return all(canonical(a.get(name)) == canonical(wanted) for name, wanted in b.items())

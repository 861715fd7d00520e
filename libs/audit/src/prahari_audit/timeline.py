"""A case's timeline across services: its own events in cases' store, and every
notification about it in notify's store (queued, each attempt, sent, delivered or not), in
the order they were recorded. Read in one read-only snapshot per store.

Who read the case comes from each service's access log, in the same order. A report's
timeline starts with the report as intake published it, read from intake's topic (intake
keeps no event store), then follows the case it opened or was attached to.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from prahari_audit.topics import read_whole
from prahari_events.catalogue import build_registry
from prahari_events.db import create_pool
from prahari_events.envelope import Envelope, iso
from prahari_events.kafka import KafkaAccess


@dataclass(frozen=True, slots=True)
class Entry:
    at: datetime
    service: str
    type: str
    actor: str
    actor_state: int | None
    what: str
    event_id: uuid.UUID | None  # None for a read: reads are not events
    causation_id: uuid.UUID | None

    def to_json(self) -> dict[str, Any]:
        return {
            "at": iso(self.at),
            "service": self.service,
            "type": self.type,
            "actor": self.actor,
            "actor_state": self.actor_state,
            "what": self.what,
            "event_id": str(self.event_id) if self.event_id else None,
            "causation_id": str(self.causation_id) if self.causation_id else None,
        }


def _what(event: Envelope) -> str:
    """One line a person can read: the payload's telling fields, not all of it."""
    p = event.payload
    if isinstance(p.get("recipient"), dict):
        return f"{p['channel']} to {p['recipient'].get('name')} ({p.get('template')})"
    if isinstance(p.get("assignee"), dict):
        return f"to {p['assignee']['unit_id']}"
    if "description" in p:
        return f"{p.get('report_type')}: {p['description'][:60]}"
    for key in ("reason", "disposition", "stage", "to_level", "provider"):
        if p.get(key) is not None and not isinstance(p[key], dict | list):
            outcome = f" ({p['outcome']})" if p.get("outcome") else ""
            return f"{key}={p[key]}{outcome}"
    return ""


def _entry(service: str, event: Envelope) -> Entry:
    return Entry(
        event.recorded_at,
        service,
        event.type,
        event.actor.unit_id,
        event.actor.state,
        _what(event),
        event.event_id,
        event.causation_id,
    )


async def _rows(url: str, schema: str, sql: str, *args: object) -> list[asyncpg.Record]:
    pool = await create_pool(url, schema, application="prahari-audit", max_size=1)
    try:
        async with (
            pool.acquire() as conn,
            conn.transaction(readonly=True, isolation="repeatable_read"),
        ):
            rows = await conn.fetch(sql, *args)
    except asyncpg.UndefinedTableError:
        return []  # that service has no store here (yet)
    finally:
        await pool.close()
    return list(rows)


async def _read(url: str, schema: str, sql: str, *args: object) -> list[Envelope]:
    registry = build_registry()
    # Read back from the services' own stores: validated when written, hashed since.
    return [registry.decode_stored(r["body"]) for r in await _rows(url, schema, sql, *args)]


async def _reads(url: str, schema: str, service: str, case_id: uuid.UUID) -> list[Entry]:
    rows = await _rows(
        url,
        schema,
        "SELECT at, unit_id, role, state, what, detail FROM access_log WHERE case_id = $1",
        case_id,
    )
    return [
        Entry(
            r["at"],
            service,
            f"read: {r['what']}",
            r["unit_id"],
            r["state"],
            f"as {r['role']}",
            None,
            None,
        )
        for r in rows
    ]


async def case_timeline(url: str, case_id: uuid.UUID, *, cases: str, notify: str) -> list[Entry]:
    case_events = await _read(
        url,
        cases,
        "SELECT body FROM events WHERE stream_id = $1 ORDER BY stream_version",
        f"case-{case_id}",
    )
    if not case_events:
        return []
    # Every notification about the case: its queued event names the case.
    notifications = await _read(
        url,
        notify,
        "SELECT e.body FROM events e WHERE e.stream_id IN ("
        "  SELECT stream_id FROM events WHERE type = 'notification.queued'"
        "  AND convert_from(body, 'UTF8')::jsonb -> 'payload' ->> 'case_id' = $1)"
        " ORDER BY e.recorded_at, e.stream_id, e.stream_version",
        str(case_id),
    )
    entries = [_entry("cases", e) for e in case_events]
    entries += [_entry("notify", e) for e in notifications]
    entries += await _reads(url, cases, "cases", case_id)
    entries += await _reads(url, notify, "notify", case_id)
    return sorted(entries, key=lambda e: (e.at, e.service != "cases"))


async def _report_events(kafka: KafkaAccess, topic: str, report_id: uuid.UUID) -> list[Envelope]:
    """The report's events as intake published them: intake keeps no event store, so they
    are read from its topic (kept forever). From Kafka, so decoded with validation."""
    registry = build_registry()
    key = f"report-{report_id}".encode()
    values = await read_whole(kafka, topic, lambda m: m.key == key)
    return [registry.decode(v) for v in values]


async def report_timeline(
    url: str,
    report_id: uuid.UUID,
    *,
    kafka: KafkaAccess,
    reports_topic: str,
    cases: str,
    notify: str,
) -> list[Entry]:
    """The report at intake, then the case it opened or was attached to, in order."""
    entries = [_entry("intake", e) for e in await _report_events(kafka, reports_topic, report_id)]
    rows = await _rows(
        url, cases, "SELECT case_id FROM case_reports WHERE report_id = $1", report_id
    )
    if rows:
        entries += await case_timeline(url, rows[0]["case_id"], cases=cases, notify=notify)
    return sorted(entries, key=lambda e: (e.at, e.service != "intake", e.service != "cases"))

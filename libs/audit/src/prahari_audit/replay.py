"""Replay: rebuild a service's read models from its events alone, with the service's own
projection code, and name every row that differs from the live one.

Everything happens in one REPEATABLE READ transaction on the live database: the events and
the live rows are read in the same snapshot, the rebuilt rows are written into a scratch
schema created inside the transaction, the two are compared in SQL, and the transaction is
rolled back, so nothing of the replay remains.

cases' read models, all rebuilt:
- `case_view` and `case_timers` (the running deadlines): from each case's stream, written
  by `read_model.save` as the service writes them;
- `case_reports` and `case_identifiers` (triage's lookups): from the reports each case
  holds and the identifiers the case's events carry for each;
- `watchlist`: from the watchlist streams;
- `thread_heads` and `thread_messages`: from the thread streams, each message linked to the
  cases that hold a report made from it (`case.opened` or the report in
  `case.report_linked` names it as its source);
- `seizures` and `seizure_items` (the tallies): from case.seizure_recorded in the store and
  the seizure reports cases consumed from intake's topic (intake keeps no store; which
  reports the consumer had taken is in `processed_messages`, read in the same snapshot).
  A seizure group is named by its smallest record id, since which record founded a group
  depends on arrival order.

Compared without the columns that are not the events' to decide: the time a report was
linked (`case_reports.linked_at`, the database's clock) and the fingerprint of the request
that posted a message (`thread_messages.request_hash`, kept for retries).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

import orjson

from prahari_audit.progress import Progress
from prahari_audit.topics import read_whole
from prahari_cases.adapters import identifiers as identifier_store
from prahari_cases.adapters import read_model
from prahari_cases.adapters import threads as thread_rows
from prahari_cases.adapters import watchlist as watchlist_store
from prahari_cases.domain import search, watchlist
from prahari_cases.domain.case import Case, replay
from prahari_cases.service_layer import tallies
from prahari_cases.service_layer.threads import message_json
from prahari_events.catalogue import CASE_SEIZURE_RECORDED, REPORT_RECEIVED, build_registry
from prahari_events.db import Conn, event_store_migrations, package_migrations
from prahari_events.envelope import Envelope
from prahari_events.kafka import KafkaAccess
from prahari_events.registry import Registry

# Per read model: the key that names a row in a finding, and what is compared ({s}: the
# schema), as the events decide it.
_SEIZURE_GROUP = (
    "(SELECT min(i.item_id::text) FROM {s}.seizure_items i WHERE i.seizure_id = x.seizure_id)"
)
COMPARED = {
    "case_view": ("case_id", "SELECT * FROM {s}.case_view"),
    "case_timers": ("case_id", "SELECT * FROM {s}.case_timers"),
    "case_reports": ("report_id", "SELECT report_id, case_id FROM {s}.case_reports"),
    "case_identifiers": (
        "case_id",
        "SELECT kind, value, case_id, report_id FROM {s}.case_identifiers",
    ),
    "watchlist": ("entry_id", "SELECT * FROM {s}.watchlist"),
    "thread_heads": ("thread_id", "SELECT * FROM {s}.thread_heads"),
    "thread_messages": (
        "message_id",
        "SELECT message_id, thread_id, version, posted_at, body, search,"
        " ARRAY(SELECT unnest(cases) ORDER BY 1) AS cases FROM {s}.thread_messages",
    ),
    "seizures": (
        "seizure",
        f"SELECT {_SEIZURE_GROUP} AS seizure, state, district, day, category, unit, quantity,"
        " value_inr, agencies FROM {s}.seizures x",
    ),
    "seizure_items": (
        "item_id",
        f"SELECT item_id, {_SEIZURE_GROUP} AS seizure, fir_key, source FROM {{s}}.seizure_items x",
    ),
}


@dataclass(frozen=True, slots=True)
class Difference:
    table: str
    key: str
    side: str  # "live only": the live row is not what the events give; "replay only": missing

    def __str__(self) -> str:
        return f"{self.table} {self.key}: {self.side}"


@dataclass(frozen=True, slots=True)
class Replayed:
    events: int
    cases: int
    differences: list[Difference]


async def replay_cases(
    conn: Conn,
    live: str,
    *,
    kafka: KafkaAccess,
    reports_topic: str,
    progress: Progress | None = None,
) -> Replayed:
    """`conn` must not be in a transaction; `live` is the cases service's schema."""
    registry = build_registry()
    scratch = f"audit_replay_{uuid.uuid4().hex[:12]}"
    transaction = conn.transaction(isolation="repeatable_read")
    await transaction.start()
    try:
        await conn.execute(f"SET LOCAL search_path TO {_quoted(live)}")
        # The snapshot starts here: the events, the consumer's records and the live rows.
        taken = {
            r["event_id"]
            for r in await conn.fetch(
                "SELECT event_id FROM processed_messages WHERE topic = $1", reports_topic
            )
        }
        streams = await _streams(conn, registry, progress)
        # Seizure reports as cases' consumer took them from intake's topic.
        reports = [
            e
            for e in _decoded(await read_whole(kafka, reports_topic), registry)
            if e.event_id in taken
        ]
        await conn.execute(f"CREATE SCHEMA {_quoted(scratch)}")
        await conn.execute(f"SET LOCAL search_path TO {_quoted(scratch)}")
        for _, sql in event_store_migrations() + package_migrations("prahari_cases", "cases"):
            await conn.execute(sql)
        cases = await _rebuild(conn, streams, reports)
        differences = await _compare(conn, live, scratch)
        return Replayed(sum(len(s) for s in streams.values()), cases, differences)
    finally:
        await transaction.rollback()  # the scratch schema goes with it


async def _streams(
    conn: Conn, registry: Registry, progress: Progress | None
) -> dict[str, list[Envelope]]:
    """Every stream's events, decoded as read back from the store."""
    if progress is not None:
        progress.total = await conn.fetchval("SELECT count(*) FROM events")
    streams: dict[str, list[Envelope]] = {}
    async for row in conn.cursor(
        "SELECT body FROM events ORDER BY stream_id, stream_version", prefetch=5000
    ):
        event = registry.decode_stored(row["body"])
        streams.setdefault(event.stream_id, []).append(event)
        if progress is not None:
            progress.advance()
    return streams


async def _rebuild(conn: Conn, streams: dict[str, list[Envelope]], reports: list[Envelope]) -> int:
    """Every read model from the events, with the service's own code; returns how many
    cases."""
    folded: list[Case] = []
    seizures: list[Envelope] = []
    for stream, events in streams.items():
        if stream.startswith("case-"):
            case = replay(events)
            if isinstance(case, Case):
                folded.append(case)
            seizures += [e for e in events if e.type == CASE_SEIZURE_RECORDED]
        elif stream.startswith("watchlist-"):
            entry = None
            for event in events:
                entry = watchlist.evolve(entry, event)
            if entry is not None:
                await watchlist_store.save(conn, entry)
        elif stream.startswith("thread-"):
            await _save_thread(conn, events)
    await _save_cases(conn, folded)
    await _link_messages(conn, folded)
    # In the order they were recorded, the nearest to the order they arrived in.
    for event in sorted([*reports, *seizures], key=lambda e: (e.recorded_at, e.event_id)):
        if event.type == REPORT_RECEIVED:
            await tallies.record_report(conn, event)
        else:
            await tallies.record_case_seizure(conn, event)
    return len(folded)


async def _link_messages(conn: Conn, cases: list[Case]) -> None:
    """Each message lists the cases that hold a report made from it."""
    for case in cases:
        for source in (case.source, *(r.source for r in case.linked_reports)):
            if source is not None:
                await thread_rows.link_case(conn, source, case.case_id)


async def _save_thread(conn: Conn, events: list[Envelope]) -> None:
    """A thread's head and messages, as a post writes them (without the request's
    fingerprint, which is not the events' to give)."""
    for event in events:
        p = event.payload
        case_id = uuid.UUID(p["case_id"]) if p["case_id"] else None
        await thread_rows.lock_head(conn, uuid.UUID(p["thread_id"]), p["kind"], case_id)
        await thread_rows.add_message(
            conn, message_json(event), request_hash=None, terms=search.terms(p["text"])
        )


async def _save_cases(conn: Conn, cases: list[Case]) -> None:
    """The cases' rows as the service writes them: view and timers, which reports each
    holds, and the identifiers triage took from each report."""
    await read_model.save_many(conn, cases)
    await read_model.link_reports(conn, [(r, c.case_id) for c in cases for r in c.report_ids])
    await identifier_store.remember_many(
        conn,
        [
            (c.case_id, report_id, i)
            for c in cases
            for report_id, found in [
                (c.report_id, c.identifiers),
                *((r.report_id, r.identifiers) for r in c.linked_reports),
            ]
            for i in found
        ],
    )


def _decoded(values: Iterable[bytes], registry: Registry) -> list[Envelope]:
    """Read from Kafka, so decoded with validation; only what the tallies count."""
    return [registry.decode(v) for v in values if orjson.loads(v).get("type") == REPORT_RECEIVED]


async def _compare(conn: Conn, live: str, scratch: str) -> list[Difference]:
    differences = []
    for table, (key, select) in COMPARED.items():
        for side, a, b in (("live only", live, scratch), ("replay only", scratch, live)):
            first, second = select.format(s=_quoted(a)), select.format(s=_quoted(b))
            found = await conn.fetch(
                f"SELECT DISTINCT {key} FROM ({first} EXCEPT {second}) AS d ORDER BY {key}"
            )
            differences += [Difference(table, str(r[key]), side) for r in found]
    return differences


def _quoted(schema: str) -> str:
    return '"' + schema.replace('"', '""') + '"'

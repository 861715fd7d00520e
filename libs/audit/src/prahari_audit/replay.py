"""Replay: rebuild a service's read models from its events alone, with the service's own
projection code, and name every row that differs from the live one.

Everything happens in one REPEATABLE READ transaction on the live database: the events and
the live rows are read in the same snapshot, the rebuilt rows are written into a scratch
schema created inside the transaction, the two are compared in SQL, and the transaction is
rolled back, so nothing of the replay remains.

Covered so far: cases' case view (`case_view`, written by `read_model.save`). Not yet: the
SLA timer table (the clock consumes it, so it needs the clock's view of time), tallies,
triage's identifier rows, and notify's tables.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from prahari_cases.adapters import read_model
from prahari_cases.domain.case import Case, replay
from prahari_events.catalogue import build_registry
from prahari_events.db import Conn, event_store_migrations, package_migrations
from prahari_events.envelope import Envelope

# The read models compared, and the key that names a row in a finding.
TABLES = {"case_view": "case_id"}


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


async def replay_cases(conn: Conn, live: str) -> Replayed:
    """`conn` must not be in a transaction; `live` is the cases service's schema."""
    registry = build_registry()
    scratch = f"audit_replay_{uuid.uuid4().hex[:12]}"
    transaction = conn.transaction(isolation="repeatable_read")
    await transaction.start()
    try:
        await conn.execute(f'SET LOCAL search_path TO "{live}"')
        rows = await conn.fetch(
            "SELECT body FROM events WHERE stream_id LIKE 'case-%'"
            " ORDER BY stream_id, stream_version"
        )
        cases: dict[str, list[Envelope]] = {}
        for row in rows:
            event = registry.decode_stored(row["body"])
            cases.setdefault(event.stream_id, []).append(event)
        folded = [replay(events) for events in cases.values()]
        await conn.execute(f'CREATE SCHEMA "{scratch}"')
        await conn.execute(f'SET LOCAL search_path TO "{scratch}"')
        for _, sql in event_store_migrations() + package_migrations("prahari_cases", "cases"):
            await conn.execute(sql)
        for case in folded:
            if isinstance(case, Case):
                await read_model.save(conn, case)
        differences = []
        for table, key in TABLES.items():
            for side, a, b in (("live only", live, scratch), ("replay only", scratch, live)):
                found = await conn.fetch(
                    f'SELECT DISTINCT {key} FROM (SELECT * FROM "{a}".{table}'
                    f' EXCEPT SELECT * FROM "{b}".{table}) AS d ORDER BY {key}'
                )
                differences += [Difference(table, str(r[key]), side) for r in found]
        return Replayed(len(rows), len(folded), differences)
    finally:
        await transaction.rollback()  # the scratch schema goes with it

"""The case_identifiers table, and the locks that make triage safe under concurrency."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from prahari_cases.domain.identifiers import Identifier
from prahari_cases.domain.triage import Candidate
from prahari_cases.domain.watchlist import Entry
from prahari_events.db import Conn


async def lookup(
    conn: Conn, identifiers: Sequence[Identifier], exclude: uuid.UUID, now: datetime
) -> tuple[list[Candidate], list[Entry]]:
    """Take the identifiers' locks, then read the open cases that hold them and the active
    watchlist entries that watch for them: one round trip (triage_lookup, 008).

    The locks make two reports that share an identifier triage one after the other,
    whichever partition or process each arrives on, so the second sees the first's case.
    They are taken in sorted order, so two transactions never wait on each other crosswise.
    """
    if not identifiers:
        return [], []
    rows = await conn.fetch(
        "SELECT * FROM triage_lookup($1, $2, $3, $4, $5)",
        sorted({i.key for i in identifiers}),
        [i.kind for i in identifiers],
        [i.value for i in identifiers],
        exclude,
        now,
    )
    candidates = [
        Candidate(
            r["case_id"],
            r["state"],
            r["report_type"],
            r["opened_at"],
            Identifier(r["kind"], r["value"]),
        )
        for r in rows
        if r["entry"] is None
    ]
    entries = [Entry.from_json(dict(r["entry"])) for r in rows if r["entry"] is not None]
    return candidates, entries


async def move(conn: Conn, report_id: uuid.UUID, old: uuid.UUID, new: uuid.UUID) -> None:
    """The report's identifiers go with it to its own case."""
    await conn.execute(
        "UPDATE case_identifiers SET case_id = $3 WHERE report_id = $1 AND case_id = $2",
        report_id,
        old,
        new,
    )


async def open_cases_holding(conn: Conn, identifier: Identifier) -> list[uuid.UUID]:
    """The open (not closed) cases that hold this identifier."""
    rows = await conn.fetch(
        "SELECT DISTINCT i.case_id FROM case_identifiers i JOIN case_view v USING (case_id)"
        " WHERE i.kind = $1 AND i.value = $2 AND v.status <> 'closed' ORDER BY i.case_id",
        identifier.kind,
        identifier.value,
    )
    return [r["case_id"] for r in rows]


async def remember_many(
    conn: Conn, rows: Sequence[tuple[uuid.UUID, uuid.UUID, Identifier]]
) -> None:
    """(case, report, identifier) rows at once: a rebuild of what triage remembered."""
    await conn.executemany(
        "INSERT INTO case_identifiers (kind, value, case_id, report_id)"
        " VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        [(i.kind, i.value, case_id, report_id) for case_id, report_id, i in rows],
    )

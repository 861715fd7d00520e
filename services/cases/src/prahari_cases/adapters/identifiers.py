"""The case_identifiers table, and the locks that make triage safe under concurrency."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from prahari_cases.domain.identifiers import Identifier
from prahari_cases.domain.triage import Candidate
from prahari_events.db import Conn


async def lock(conn: Conn, identifiers: Sequence[Identifier]) -> None:
    """Hold each identifier until the transaction ends, so two reports that share one are
    triaged one after the other, whichever partition or process each arrives on; the second
    then sees the first's case. Taken in sorted order, so two transactions never wait on
    each other crosswise."""
    if identifiers:
        await conn.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(k, 0)) FROM unnest($1::text[]) AS k",
            sorted({i.key for i in identifiers}),
        )


async def candidates(
    conn: Conn, identifiers: Sequence[Identifier], exclude: uuid.UUID
) -> list[Candidate]:
    """Open (not closed) cases holding any of these identifiers."""
    if not identifiers:
        return []
    # Per identifier and state, only the oldest and the latest open case: what triage decides
    # on (attach to one; link to the latest of each state), however often a truck was seen.
    rows = await conn.fetch(
        "WITH m AS (SELECT DISTINCT i.case_id, i.kind, i.value, v.state, v.report_type,"
        " v.opened_at FROM case_identifiers i JOIN case_view v ON v.case_id = i.case_id"
        " WHERE (i.kind, i.value) IN (SELECT * FROM unnest($1::text[], $2::text[]))"
        " AND v.status <> 'closed' AND i.case_id <> $3)"
        " (SELECT DISTINCT ON (kind, value, state) * FROM m"
        "  ORDER BY kind, value, state, opened_at DESC, case_id DESC)"
        " UNION"
        " (SELECT DISTINCT ON (kind, value, state) * FROM m"
        "  ORDER BY kind, value, state, opened_at, case_id)",
        [i.kind for i in identifiers],
        [i.value for i in identifiers],
        exclude,
    )
    return [
        Candidate(
            r["case_id"],
            r["state"],
            r["report_type"],
            r["opened_at"],
            Identifier(r["kind"], r["value"]),
        )
        for r in rows
    ]


async def remember(
    conn: Conn, case_id: uuid.UUID, report_id: uuid.UUID, identifiers: Sequence[Identifier]
) -> None:
    if identifiers:
        await conn.execute(
            "INSERT INTO case_identifiers (kind, value, case_id, report_id)"
            " SELECT kind, value, $3, $4 FROM unnest($1::text[], $2::text[]) AS u(kind, value)"
            " ON CONFLICT DO NOTHING",
            [i.kind for i in identifiers],
            [i.value for i in identifiers],
            case_id,
            report_id,
        )


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

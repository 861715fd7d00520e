"""Triage: what a new report's identifiers say about the open cases that share them.

- A rumour whose post URL, media hash or handle-and-excerpt matches an open rumour case of
  the same state, opened within the window, is the same rumour: the report is attached to
  that case (the oldest, when several match) and opens nothing.
- Any other match, of any identifier, with an open case in any state opens the report's
  own case, linked to the latest matching case of each state: a truck seen twenty times in
  UP and twice in Bihar links to the last sighting on each side, not to all twenty-two
  (each of those is linked to the one before it, so the chain is whole and the cost of a
  report stays bounded).
- No match: a case of its own, linked to nothing.
Pure: the candidates are found by the adapters, the decision is made here.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from prahari_cases.domain.identifiers import SAME_RUMOUR, Identifier


@dataclass(frozen=True, slots=True)
class Candidate:
    """An open case that holds one of the report's identifiers."""

    case_id: uuid.UUID
    state: int
    report_type: str
    opened_at: datetime
    identifier: Identifier


@dataclass(frozen=True, slots=True)
class Attach:
    case_id: uuid.UUID
    matched: Identifier


@dataclass(frozen=True, slots=True)
class Open:
    links: tuple[Candidate, ...]  # one per other case


def triage(
    report_type: str,
    state: int,
    candidates: Sequence[Candidate],
    now: datetime,
    window: timedelta,
) -> Attach | Open:
    if report_type == "rumour":
        same = [
            c
            for c in candidates
            if c.identifier.kind in SAME_RUMOUR
            and c.report_type == "rumour"
            and c.state == state
            and now - c.opened_at <= window
        ]
        if same:
            first = min(same, key=lambda c: (c.opened_at, c.case_id, c.identifier))
            return Attach(first.case_id, first.identifier)
    # The latest open case of each state that shares each identifier; one link per case.
    latest: dict[tuple[Identifier, int], Candidate] = {}
    for candidate in sorted(candidates, key=lambda c: (c.opened_at, c.case_id)):
        latest[(candidate.identifier, candidate.state)] = candidate
    links: dict[uuid.UUID, Candidate] = {}
    for candidate in sorted(latest.values(), key=lambda c: (c.opened_at, c.case_id, c.identifier)):
        links.setdefault(candidate.case_id, candidate)
    return Open(tuple(links.values()))

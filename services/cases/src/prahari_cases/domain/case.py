"""The case aggregate: decisions take events in and give drafts of new events out; a case's
state is a fold over its events. No I/O here."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from prahari_events.catalogue import CASE_OPENED, REPORT_RECEIVED
from prahari_events.envelope import Draft, Envelope, iso, service_actor

# Case ids are derived from report ids, so however often a report is delivered, it can only
# ever name one case.
_CASE_IDS = uuid.UUID("6f1c3a52-9e1e-4c43-8a51-3a7d0c1b2e90")

# The Election Commission's cVIGIL budget (The Tribune, 2024): assign within 5 minutes,
# decide within 100.
ASSIGN_WITHIN = timedelta(minutes=5)
DECIDE_WITHIN = timedelta(minutes=100)


def case_id_for(report_id: uuid.UUID) -> uuid.UUID:
    return uuid.uuid5(_CASE_IDS, str(report_id))


def stream_for(case_id: uuid.UUID) -> str:
    return f"case-{case_id}"


@dataclass(frozen=True, slots=True)
class Case:
    case_id: uuid.UUID
    version: int
    status: str
    report_id: uuid.UUID
    report_type: str
    description: str
    state: int
    district: int
    reported_by: dict[str, Any]
    opened_at: datetime
    assign_by: datetime
    decide_by: datetime
    trace_id: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "case_id": str(self.case_id),
            "version": self.version,
            "status": self.status,
            "report_id": str(self.report_id),
            "report_type": self.report_type,
            "description": self.description,
            "state": self.state,
            "district": self.district,
            "reported_by": self.reported_by,
            "opened_at": iso(self.opened_at),
            "assign_by": iso(self.assign_by),
            "decide_by": iso(self.decide_by),
            "trace_id": self.trace_id,
        }


def open_case(report: Envelope, now: datetime) -> list[Draft]:
    if report.type != REPORT_RECEIVED:
        raise ValueError(f"a case is opened from {REPORT_RECEIVED}, not {report.type}")
    p = report.payload
    case_id = case_id_for(uuid.UUID(p["report_id"]))
    return [
        Draft(
            type=CASE_OPENED,
            payload={
                "case_id": str(case_id),
                "report_id": p["report_id"],
                "report_type": p["report_type"],
                "description": p["description"],
                "state": p["state"],
                "district": p["district"],
                "reported_by": report.actor.to_json(),
                "reported_at": iso(report.recorded_at),
                "assign_by": iso(now + ASSIGN_WITHIN),
                "decide_by": iso(now + DECIDE_WITHIN),
            },
            actor=service_actor("cases"),
            jurisdiction=report.jurisdiction,
            correlation_id=report.correlation_id,
            causation_id=report.event_id,
            occurred_at=now,
        )
    ]


def evolve(case: Case | None, event: Envelope) -> Case | None:
    p = event.payload
    if event.type == CASE_OPENED:
        return Case(
            case_id=uuid.UUID(p["case_id"]),
            version=event.stream_version,
            status="open",
            report_id=uuid.UUID(p["report_id"]),
            report_type=p["report_type"],
            description=p["description"],
            state=p["state"],
            district=p["district"],
            reported_by=dict(p["reported_by"]),
            opened_at=event.recorded_at,
            assign_by=datetime.fromisoformat(p["assign_by"]),
            decide_by=datetime.fromisoformat(p["decide_by"]),
            trace_id=event.trace_id,
        )
    return case


def replay(events: Iterable[Envelope]) -> Case | None:
    case: Case | None = None
    for event in events:
        case = evolve(case, event)
    return case

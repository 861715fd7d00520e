"""Filing a report: a command in, a `report.received` event out. No I/O here."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from prahari_events.auth import Unit
from prahari_events.catalogue import REPORT_RECEIVED
from prahari_events.envelope import Draft, Jurisdiction, iso
from prahari_events.errors import Forbidden, InvalidInput
from prahari_events.lgd import Directory

# Field devices' clocks drift; an occurred-at a little in the future is a clock, not a lie.
CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class FileReport:
    report_type: str
    description: str
    state: int
    district: int
    occurred_at: datetime | None
    details: dict[str, Any] = field(default_factory=dict)
    report_id: uuid.UUID = field(default_factory=uuid.uuid4)


def stream_for(report_id: uuid.UUID) -> str:
    return f"report-{report_id}"


def file_report(command: FileReport, unit: Unit, directory: Directory, now: datetime) -> Draft:
    problems: dict[str, list[str]] = dict(directory.problems(command.state, command.district))
    if command.occurred_at is not None and command.occurred_at > now + CLOCK_SKEW:
        problems["occurred_at"] = ["must not be in the future"]
    if not command.description.strip():
        problems["description"] = ["must not be blank"]
    if problems:
        raise InvalidInput("the report has invalid fields", fields=problems)
    if not unit.may_write(command.state, command.district):
        raise Forbidden(
            f"unit {unit.unit_id} may not report for state {command.state}"
            f" district {command.district}"
        )
    return Draft(
        type=REPORT_RECEIVED,
        payload={
            "report_id": str(command.report_id),
            "report_type": command.report_type,
            "description": command.description.strip(),
            "state": command.state,
            "district": command.district,
            "occurred_at": iso(command.occurred_at) if command.occurred_at else None,
            "details": command.details,
        },
        actor=unit.actor(),
        jurisdiction=Jurisdiction(command.state, command.district),
        correlation_id=command.report_id,
        occurred_at=command.occurred_at or now,
    )

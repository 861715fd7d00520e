"""Filing a report: a command in, a `report.received` event out. No I/O here."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from prahari_events.auth import Unit
from prahari_events.catalogue import REPORT_RECEIVED
from prahari_events.envelope import Draft, Jurisdiction, iso
from prahari_events.errors import Forbidden, Unprocessable
from prahari_events.lgd import Directory

# Field devices' clocks drift; a time a little in the future is a clock, not a lie.
CLOCK_SKEW = timedelta(minutes=5)
# Election Commission rule: cash seizures above Rs 10 lakh are reported to income tax.
INCOME_TAX_THRESHOLD_INR = 10_00_000


@dataclass(frozen=True, slots=True)
class FileReport:
    report_type: str
    description: str
    state: int
    district: int
    occurred_at: datetime
    location: Mapping[str, Any] | None = None
    details: Mapping[str, Any] = field(default_factory=dict)
    report_id: uuid.UUID = field(default_factory=uuid.uuid4)
    # The thread message it was made from ({"thread_id", "message_id"}), if any.
    source: Mapping[str, uuid.UUID] | None = None


def stream_for(report_id: uuid.UUID) -> str:
    return f"report-{report_id}"


def file_report(command: FileReport, unit: Unit, directory: Directory, now: datetime) -> Draft:
    problems = _problems(command, directory, now)
    if problems:
        raise Unprocessable("the report has invalid fields", fields=problems)
    if not unit.may_write(command.state, command.district):
        raise Forbidden(
            f"unit {unit.unit_id} may not report for state {command.state}"
            f" district {command.district}"
        )
    details = _json_native(dict(command.details))
    if command.location:
        details["location"] = _json_native(dict(command.location))
    if (
        command.report_type == "seizure"
        and details.get("category") == "cash"
        and details.get("value_inr", 0) >= INCOME_TAX_THRESHOLD_INR
    ):
        details["inform_income_tax"] = True
    return Draft(
        type=REPORT_RECEIVED,
        payload={
            "report_id": str(command.report_id),
            "report_type": command.report_type,
            "description": command.description.strip(),
            "state": command.state,
            "district": command.district,
            "occurred_at": iso(command.occurred_at),
            "details": details,
            "source": (
                {k: str(command.source[k]) for k in ("thread_id", "message_id")}
                if command.source
                else None
            ),
        },
        actor=unit.actor(),
        jurisdiction=Jurisdiction(command.state, command.district),
        correlation_id=command.report_id,
        occurred_at=command.occurred_at,
    )


def _problems(command: FileReport, directory: Directory, now: datetime) -> dict[str, Any]:
    problems: dict[str, Any] = dict(directory.problems(command.state, command.district))
    if command.occurred_at > now + CLOCK_SKEW:
        problems["occurred_at"] = ["must not be in the future"]
    if not command.description.strip():
        problems["description"] = ["must not be blank"]
    details = command.details
    nested: dict[str, Any] = {}
    seen = details.get("first_seen_at")
    if isinstance(seen, datetime) and seen > now + CLOCK_SKEW:
        nested["first_seen_at"] = ["must not be in the future"]
    route = details.get("route")
    if route:
        for leg in ("origin", "destination"):
            leg_problems = directory.problems(route[leg]["state"], route[leg]["district"])
            if leg_problems:
                key = "from" if leg == "origin" else "to"
                nested.setdefault("route", {})[key] = leg_problems
    place = details.get("place")
    if place:
        district = place["district"]
        if directory.problems(None, district):
            nested["place"] = {"district": [f"{district} is not an LGD district code"]}
        elif district != command.district:
            nested["place"] = {"district": ["the seizure must be in the report's district"]}
    if nested:
        problems[command.report_type] = nested
    return problems


def _json_native(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, dict):
        return {k: _json_native(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_native(v) for v in value]
    return value

"""Service-level deadlines: how long each stage of a case may take, by report type.

Stages and what ends each: assign (an assignment), acknowledge (the assignee's
acknowledgement), field_report (the field report), close (the closure). The defaults are the
Election Commission's cVIGIL budget (The Tribune, 2024): assign within 5 minutes of opening,
reach the spot within 15 of assignment, investigate within 30, decide within 100 of opening.
A case keeps the durations it opened with, so its deadlines follow from its own events
alone, and a change of configuration applies to new cases.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

ASSIGN, ACKNOWLEDGE, FIELD_REPORT, CLOSE = "assign", "acknowledge", "field_report", "close"
STAGES = (ASSIGN, ACKNOWLEDGE, FIELD_REPORT, CLOSE)


@dataclass(frozen=True, slots=True)
class Durations:
    """Seconds each stage may take, from the event that starts its clock."""

    assign: float = 300
    acknowledge: float = 900
    field_report: float = 1800
    close: float = 6000

    def of(self, stage: str) -> timedelta:
        return timedelta(seconds=float(getattr(self, stage)))

    def to_json(self) -> dict[str, float]:
        return {stage: getattr(self, stage) for stage in STAGES}

    @classmethod
    def from_json(cls, p: Mapping[str, Any]) -> Durations:
        return cls(**{stage: p[stage] for stage in STAGES})


@dataclass(frozen=True, slots=True)
class SlaPolicy:
    default: Durations = field(default_factory=Durations)
    by_report_type: Mapping[str, Durations] = field(default_factory=dict)

    def for_type(self, report_type: str) -> Durations:
        return self.by_report_type.get(report_type, self.default)

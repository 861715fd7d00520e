"""Service-level deadlines: how long each stage of a case may take, by report type.

Stages and what ends each: assign (an assignment), acknowledge (the assignee's
acknowledgement), field_report (the field report), close (the closure). The defaults are the
Election Commission's cVIGIL budget (The Tribune, 2024): assign within 5 minutes of opening,
reach the spot within 15 of assignment, investigate within 30, decide within 100 of opening.
A case keeps the durations it opened with, so its deadlines follow from its own events
alone, and a change of configuration applies to new cases.

A rumour case has three more stages, its response (IT Act s.69A and s.79(3)(b), through the
state's nodal officer): takedown (from a takedown request until the platform's answer; the
request may name an earlier deadline), fact_check (from opening until a fact-check is
published) and source_action (from opening until action against the source, an FIR). The
defaults are ours, not a published budget: 36 hours for a platform to act (the IT Rules,
2021, rule 3(1)(d)), 6 hours for a fact-check, 72 for action against the source. Every one is
in the SLA file, in seconds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

ASSIGN, ACKNOWLEDGE, FIELD_REPORT, CLOSE = "assign", "acknowledge", "field_report", "close"
TAKEDOWN, FACT_CHECK, SOURCE_ACTION = "takedown", "fact_check", "source_action"
CASE_STAGES = (ASSIGN, ACKNOWLEDGE, FIELD_REPORT, CLOSE)
RESPONSE_STAGES = (TAKEDOWN, FACT_CHECK, SOURCE_ACTION)
STAGES = (*CASE_STAGES, *RESPONSE_STAGES)


@dataclass(frozen=True, slots=True)
class Durations:
    """Seconds each stage may take, from the event that starts its clock."""

    assign: float = 300
    acknowledge: float = 900
    field_report: float = 1800
    close: float = 6000
    takedown: float = 129_600
    fact_check: float = 21_600
    source_action: float = 259_200

    def of(self, stage: str) -> timedelta:
        return timedelta(seconds=float(getattr(self, stage)))

    def to_json(self) -> dict[str, float]:
        return {stage: getattr(self, stage) for stage in STAGES}

    @classmethod
    def from_json(cls, p: Mapping[str, Any]) -> Durations:
        # A case opened before the rumour response kept no durations for it: the defaults.
        return cls(**{stage: p[stage] for stage in STAGES if stage in p})


@dataclass(frozen=True, slots=True)
class SlaPolicy:
    default: Durations = field(default_factory=Durations)
    by_report_type: Mapping[str, Durations] = field(default_factory=dict)

    def for_type(self, report_type: str) -> Durations:
        return self.by_report_type.get(report_type, self.default)

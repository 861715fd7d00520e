"""The case's events as typed values: what `decide` returns and `evolve` folds.

Each event is a frozen dataclass with a stable name (`TYPE`, as in the catalogue) and a
JSON payload form. `parse` builds them from decoded dictionaries by hand, not through
marshmallow: the registry has already checked the payload against its contract, and a
replay of many cases must stay cheap.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from prahari_cases.domain.identifiers import Identifier
from prahari_cases.domain.sla import Durations
from prahari_events import catalogue as c
from prahari_events.envelope import JSON, iso
from prahari_events.policy import Area, UnitRef


def area_json(area: Area) -> JSON:
    return {"state": area.state, "district": area.district}


def area_from(p: Mapping[str, Any]) -> Area:
    return Area(p["state"], p["district"])


def ref_json(ref: UnitRef) -> JSON:
    return {"state": ref.state, "unit_id": ref.unit_id}


def ref_from(p: Mapping[str, Any]) -> UnitRef:
    return UnitRef(p["state"], p["unit_id"])


@dataclass(frozen=True, slots=True)
class Reporter:
    """The unit that filed the report, as the report's actor recorded it."""

    unit_id: str
    role: str
    kind: str
    state: int | None
    district: int | None

    @property
    def ref(self) -> UnitRef | None:
        return UnitRef(self.state, self.unit_id) if self.state is not None else None

    def to_json(self) -> JSON:
        return {
            "unit_id": self.unit_id,
            "role": self.role,
            "kind": self.kind,
            "state": self.state,
            "district": self.district,
        }

    @classmethod
    def from_json(cls, p: Mapping[str, Any]) -> Reporter:
        return cls(p["unit_id"], p["role"], p["kind"], p["state"], p["district"])


@dataclass(frozen=True, slots=True)
class Assignee:
    ref: UnitRef
    kind: str
    name: str

    def to_json(self) -> JSON:
        return {**ref_json(self.ref), "kind": self.kind, "name": self.name}

    @classmethod
    def from_json(cls, p: Mapping[str, Any]) -> Assignee:
        return cls(ref_from(p), p["kind"], p["name"])


@dataclass(frozen=True, slots=True)
class Attachment:
    """A reference to evidence kept elsewhere: its hash, type and size, never the bytes."""

    sha256: str
    media_type: str
    size: int

    def to_json(self) -> JSON:
        return {"sha256": self.sha256, "media_type": self.media_type, "size": self.size}

    @classmethod
    def from_json(cls, p: Mapping[str, Any]) -> Attachment:
        return cls(p["sha256"], p["media_type"], p["size"])


@dataclass(frozen=True, slots=True)
class Source:
    """The thread message a report was made from: the case links back to it."""

    thread_id: uuid.UUID
    message_id: uuid.UUID

    def to_json(self) -> JSON:
        return {"thread_id": str(self.thread_id), "message_id": str(self.message_id)}

    @classmethod
    def from_json(cls, p: Mapping[str, Any] | None) -> Source | None:
        if p is None:
            return None
        return cls(uuid.UUID(p["thread_id"]), uuid.UUID(p["message_id"]))


@dataclass(frozen=True, slots=True)
class CaseOpened:
    TYPE: ClassVar[str] = c.CASE_OPENED
    case_id: uuid.UUID
    report_id: uuid.UUID
    report_type: str
    description: str
    place: Area
    reported_by: Reporter
    reported_at: datetime
    assign_by: datetime
    decide_by: datetime
    identifiers: tuple[Identifier, ...] = ()
    estimated_reach: int | None = None
    sla: Durations = field(default_factory=Durations)
    source: Source | None = None

    def payload(self) -> JSON:
        assert self.place.district is not None
        return {
            "case_id": str(self.case_id),
            "report_id": str(self.report_id),
            "report_type": self.report_type,
            "description": self.description,
            "state": self.place.state,
            "district": self.place.district,
            "reported_by": self.reported_by.to_json(),
            "reported_at": iso(self.reported_at),
            "assign_by": iso(self.assign_by),
            "decide_by": iso(self.decide_by),
            "identifiers": [i.to_json() for i in self.identifiers],
            "estimated_reach": self.estimated_reach,
            "sla": self.sla.to_json(),
            "source": self.source.to_json() if self.source else None,
        }

    @classmethod
    def parse(cls, p: Mapping[str, Any]) -> CaseOpened:
        return cls(
            uuid.UUID(p["case_id"]),
            uuid.UUID(p["report_id"]),
            p["report_type"],
            p["description"],
            Area(p["state"], p["district"]),
            Reporter.from_json(p["reported_by"]),
            datetime.fromisoformat(p["reported_at"]),
            datetime.fromisoformat(p["assign_by"]),
            datetime.fromisoformat(p["decide_by"]),
            tuple(Identifier.from_json(i) for i in p["identifiers"]),
            p["estimated_reach"],
            Durations.from_json(p["sla"]),
            Source.from_json(p.get("source")),
        )


@dataclass(frozen=True, slots=True)
class CaseAssigned:
    TYPE: ClassVar[str] = c.CASE_ASSIGNED
    case_id: uuid.UUID
    assignee: Assignee
    note: str | None

    def payload(self) -> JSON:
        return {
            "case_id": str(self.case_id),
            "assignee": self.assignee.to_json(),
            "note": self.note,
        }

    @classmethod
    def parse(cls, p: Mapping[str, Any]) -> CaseAssigned:
        return cls(uuid.UUID(p["case_id"]), Assignee.from_json(p["assignee"]), p["note"])


@dataclass(frozen=True, slots=True)
class CaseAcknowledged:
    TYPE: ClassVar[str] = c.CASE_ACKNOWLEDGED
    case_id: uuid.UUID
    assignee: UnitRef

    def payload(self) -> JSON:
        return {"case_id": str(self.case_id), "assignee": ref_json(self.assignee)}

    @classmethod
    def parse(cls, p: Mapping[str, Any]) -> CaseAcknowledged:
        return cls(uuid.UUID(p["case_id"]), ref_from(p["assignee"]))


@dataclass(frozen=True, slots=True)
class NoteAdded:
    TYPE: ClassVar[str] = c.CASE_NOTE_ADDED
    case_id: uuid.UUID
    note_id: uuid.UUID
    text: str
    attachments: tuple[Attachment, ...]

    def payload(self) -> JSON:
        return {
            "case_id": str(self.case_id),
            "note_id": str(self.note_id),
            "text": self.text,
            "attachments": [a.to_json() for a in self.attachments],
        }

    @classmethod
    def parse(cls, p: Mapping[str, Any]) -> NoteAdded:
        return cls(
            uuid.UUID(p["case_id"]),
            uuid.UUID(p["note_id"]),
            p["text"],
            tuple(Attachment.from_json(a) for a in p["attachments"]),
        )


@dataclass(frozen=True, slots=True)
class FieldReportFiled:
    TYPE: ClassVar[str] = c.CASE_FIELD_REPORT_FILED
    case_id: uuid.UUID
    findings: str
    action_taken: str

    def payload(self) -> JSON:
        return {
            "case_id": str(self.case_id),
            "findings": self.findings,
            "action_taken": self.action_taken,
        }

    @classmethod
    def parse(cls, p: Mapping[str, Any]) -> FieldReportFiled:
        return cls(uuid.UUID(p["case_id"]), p["findings"], p["action_taken"])


@dataclass(frozen=True, slots=True)
class SeizureRecorded:
    TYPE: ClassVar[str] = c.CASE_SEIZURE_RECORDED
    case_id: uuid.UUID
    seizure_id: uuid.UUID
    category: str
    quantity: float
    unit: str
    value_inr: int
    agency: str
    fir_number: str | None
    police_station: str | None
    same_as: uuid.UUID | None = None

    def payload(self) -> JSON:
        return {
            "case_id": str(self.case_id),
            "seizure_id": str(self.seizure_id),
            "category": self.category,
            "quantity": self.quantity,
            "unit": self.unit,
            "value_inr": self.value_inr,
            "agency": self.agency,
            "fir_number": self.fir_number,
            "police_station": self.police_station,
            "same_as": str(self.same_as) if self.same_as else None,
        }

    @classmethod
    def parse(cls, p: Mapping[str, Any]) -> SeizureRecorded:
        return cls(
            uuid.UUID(p["case_id"]),
            uuid.UUID(p["seizure_id"]),
            p["category"],
            float(p["quantity"]),
            p["unit"],
            p["value_inr"],
            p["agency"],
            p["fir_number"],
            p["police_station"],
            uuid.UUID(p["same_as"]) if p["same_as"] else None,
        )


@dataclass(frozen=True, slots=True)
class Escalated:
    TYPE: ClassVar[str] = c.CASE_ESCALATED
    case_id: uuid.UUID
    from_level: str
    to_level: str
    reason: str

    def payload(self) -> JSON:
        return {
            "case_id": str(self.case_id),
            "from_level": self.from_level,
            "to_level": self.to_level,
            "reason": self.reason,
        }

    @classmethod
    def parse(cls, p: Mapping[str, Any]) -> Escalated:
        return cls(uuid.UUID(p["case_id"]), p["from_level"], p["to_level"], p["reason"])


@dataclass(frozen=True, slots=True)
class Shared:
    TYPE: ClassVar[str] = c.CASE_SHARED
    case_id: uuid.UUID
    partner: Area
    reason: str

    def payload(self) -> JSON:
        return {
            "case_id": str(self.case_id),
            "partner": area_json(self.partner),
            "reason": self.reason,
        }

    @classmethod
    def parse(cls, p: Mapping[str, Any]) -> Shared:
        return cls(uuid.UUID(p["case_id"]), area_from(p["partner"]), p["reason"])


@dataclass(frozen=True, slots=True)
class ShareRevoked:
    TYPE: ClassVar[str] = c.CASE_SHARE_REVOKED
    case_id: uuid.UUID
    partner: Area

    def payload(self) -> JSON:
        return {"case_id": str(self.case_id), "partner": area_json(self.partner)}

    @classmethod
    def parse(cls, p: Mapping[str, Any]) -> ShareRevoked:
        return cls(uuid.UUID(p["case_id"]), area_from(p["partner"]))


@dataclass(frozen=True, slots=True)
class TransferRequested:
    TYPE: ClassVar[str] = c.CASE_TRANSFER_REQUESTED
    case_id: uuid.UUID
    to: Area
    reason: str

    def payload(self) -> JSON:
        return {"case_id": str(self.case_id), "to": area_json(self.to), "reason": self.reason}

    @classmethod
    def parse(cls, p: Mapping[str, Any]) -> TransferRequested:
        return cls(uuid.UUID(p["case_id"]), area_from(p["to"]), p["reason"])


@dataclass(frozen=True, slots=True)
class TransferWithdrawn:
    TYPE: ClassVar[str] = c.CASE_TRANSFER_WITHDRAWN
    case_id: uuid.UUID
    to: Area
    reason: str | None

    def payload(self) -> JSON:
        return {"case_id": str(self.case_id), "to": area_json(self.to), "reason": self.reason}

    @classmethod
    def parse(cls, p: Mapping[str, Any]) -> TransferWithdrawn:
        return cls(uuid.UUID(p["case_id"]), area_from(p["to"]), p["reason"])


@dataclass(frozen=True, slots=True)
class Transferred:
    TYPE: ClassVar[str] = c.CASE_TRANSFERRED
    case_id: uuid.UUID
    origin: Area
    to: Area

    def payload(self) -> JSON:
        return {
            "case_id": str(self.case_id),
            "from": area_json(self.origin),
            "to": area_json(self.to),
        }

    @classmethod
    def parse(cls, p: Mapping[str, Any]) -> Transferred:
        return cls(uuid.UUID(p["case_id"]), area_from(p["from"]), area_from(p["to"]))


@dataclass(frozen=True, slots=True)
class TransferRefused:
    TYPE: ClassVar[str] = c.CASE_TRANSFER_REFUSED
    case_id: uuid.UUID
    to: Area
    reason: str

    def payload(self) -> JSON:
        return {"case_id": str(self.case_id), "to": area_json(self.to), "reason": self.reason}

    @classmethod
    def parse(cls, p: Mapping[str, Any]) -> TransferRefused:
        return cls(uuid.UUID(p["case_id"]), area_from(p["to"]), p["reason"])


@dataclass(frozen=True, slots=True)
class Closed:
    TYPE: ClassVar[str] = c.CASE_CLOSED
    case_id: uuid.UUID
    disposition: str
    summary: str
    duplicate_of: uuid.UUID | None

    def payload(self) -> JSON:
        return {
            "case_id": str(self.case_id),
            "disposition": self.disposition,
            "summary": self.summary,
            "duplicate_of": str(self.duplicate_of) if self.duplicate_of else None,
        }

    @classmethod
    def parse(cls, p: Mapping[str, Any]) -> Closed:
        duplicate_of = p["duplicate_of"]
        return cls(
            uuid.UUID(p["case_id"]),
            p["disposition"],
            p["summary"],
            uuid.UUID(duplicate_of) if duplicate_of else None,
        )


@dataclass(frozen=True, slots=True)
class Reopened:
    TYPE: ClassVar[str] = c.CASE_REOPENED
    case_id: uuid.UUID
    reason: str

    def payload(self) -> JSON:
        return {"case_id": str(self.case_id), "reason": self.reason}

    @classmethod
    def parse(cls, p: Mapping[str, Any]) -> Reopened:
        return cls(uuid.UUID(p["case_id"]), p["reason"])


@dataclass(frozen=True, slots=True)
class LinkedReport:
    """A report attached to a case it did not open: enough of it to open its own case,
    should the attachment prove wrong."""

    report_id: uuid.UUID
    report_type: str
    description: str
    place: Area
    reported_by: Reporter
    reported_at: datetime
    estimated_reach: int | None
    identifiers: tuple[Identifier, ...] = ()
    source: Source | None = None  # the thread message it was made from

    def to_json(self) -> JSON:
        return {
            "report_id": str(self.report_id),
            "report_type": self.report_type,
            "description": self.description,
            "state": self.place.state,
            "district": self.place.district,
            "reported_by": self.reported_by.to_json(),
            "reported_at": iso(self.reported_at),
            "estimated_reach": self.estimated_reach,
            "identifiers": [i.to_json() for i in self.identifiers],
            "source": self.source.to_json() if self.source else None,
        }

    @classmethod
    def from_json(cls, p: Mapping[str, Any]) -> LinkedReport:
        return cls(
            uuid.UUID(p["report_id"]),
            p["report_type"],
            p["description"],
            Area(p["state"], p["district"]),
            Reporter.from_json(p["reported_by"]),
            datetime.fromisoformat(p["reported_at"]),
            p["estimated_reach"],
            tuple(Identifier.from_json(i) for i in p["identifiers"]),
            Source.from_json(p.get("source")),
        )


@dataclass(frozen=True, slots=True)
class ReportLinked:
    TYPE: ClassVar[str] = c.CASE_REPORT_LINKED
    case_id: uuid.UUID
    report: LinkedReport
    matched: Identifier

    def payload(self) -> JSON:
        return {
            "case_id": str(self.case_id),
            "report": self.report.to_json(),
            "matched": self.matched.to_json(),
        }

    @classmethod
    def parse(cls, p: Mapping[str, Any]) -> ReportLinked:
        return cls(
            uuid.UUID(p["case_id"]),
            LinkedReport.from_json(p["report"]),
            Identifier.from_json(p["matched"]),
        )


@dataclass(frozen=True, slots=True)
class ReportUnlinked:
    TYPE: ClassVar[str] = c.CASE_REPORT_UNLINKED
    case_id: uuid.UUID
    report: LinkedReport
    reason: str

    def payload(self) -> JSON:
        return {
            "case_id": str(self.case_id),
            "report": self.report.to_json(),
            "reason": self.reason,
        }

    @classmethod
    def parse(cls, p: Mapping[str, Any]) -> ReportUnlinked:
        return cls(uuid.UUID(p["case_id"]), LinkedReport.from_json(p["report"]), p["reason"])


@dataclass(frozen=True, slots=True)
class CaseLinked:
    TYPE: ClassVar[str] = c.CASE_LINKED
    case_id: uuid.UUID
    other_case_id: uuid.UUID
    other_state: int
    identifier: Identifier

    def payload(self) -> JSON:
        return {
            "case_id": str(self.case_id),
            "other_case_id": str(self.other_case_id),
            "other_state": self.other_state,
            "identifier": self.identifier.to_json(),
        }

    @classmethod
    def parse(cls, p: Mapping[str, Any]) -> CaseLinked:
        return cls(
            uuid.UUID(p["case_id"]),
            uuid.UUID(p["other_case_id"]),
            p["other_state"],
            Identifier.from_json(p["identifier"]),
        )


@dataclass(frozen=True, slots=True)
class SlaBreached:
    TYPE: ClassVar[str] = c.CASE_SLA_BREACHED
    case_id: uuid.UUID
    stage: str
    due_at: datetime
    level: str

    def payload(self) -> JSON:
        return {
            "case_id": str(self.case_id),
            "stage": self.stage,
            "due_at": iso(self.due_at),
            "level": self.level,
        }

    @classmethod
    def parse(cls, p: Mapping[str, Any]) -> SlaBreached:
        return cls(
            uuid.UUID(p["case_id"]), p["stage"], datetime.fromisoformat(p["due_at"]), p["level"]
        )


@dataclass(frozen=True, slots=True)
class WatchlistHit:
    TYPE: ClassVar[str] = c.CASE_WATCHLIST_HIT
    case_id: uuid.UUID
    entry_id: uuid.UUID
    owner: UnitRef
    identifier: Identifier

    def payload(self) -> JSON:
        return {
            "case_id": str(self.case_id),
            "entry_id": str(self.entry_id),
            "owner": ref_json(self.owner),
            "identifier": self.identifier.to_json(),
        }

    @classmethod
    def parse(cls, p: Mapping[str, Any]) -> WatchlistHit:
        return cls(
            uuid.UUID(p["case_id"]),
            uuid.UUID(p["entry_id"]),
            ref_from(p["owner"]),
            Identifier.from_json(p["identifier"]),
        )


@dataclass(frozen=True, slots=True)
class TakedownRequested:
    TYPE: ClassVar[str] = c.CASE_TAKEDOWN_REQUESTED
    case_id: uuid.UUID
    request_id: uuid.UUID
    platform: str
    url: str
    legal_basis: str
    nodal_officer: str
    due_at: datetime

    def payload(self) -> JSON:
        return {
            "case_id": str(self.case_id),
            "request_id": str(self.request_id),
            "platform": self.platform,
            "url": self.url,
            "legal_basis": self.legal_basis,
            "nodal_officer": self.nodal_officer,
            "due_at": iso(self.due_at),
        }

    @classmethod
    def parse(cls, p: Mapping[str, Any]) -> TakedownRequested:
        return cls(
            uuid.UUID(p["case_id"]),
            uuid.UUID(p["request_id"]),
            p["platform"],
            p["url"],
            p["legal_basis"],
            p["nodal_officer"],
            datetime.fromisoformat(p["due_at"]),
        )


@dataclass(frozen=True, slots=True)
class TakedownConfirmed:
    TYPE: ClassVar[str] = c.CASE_TAKEDOWN_CONFIRMED
    case_id: uuid.UUID
    request_id: uuid.UUID
    platform_reference: str

    def payload(self) -> JSON:
        return {
            "case_id": str(self.case_id),
            "request_id": str(self.request_id),
            "platform_reference": self.platform_reference,
        }

    @classmethod
    def parse(cls, p: Mapping[str, Any]) -> TakedownConfirmed:
        return cls(uuid.UUID(p["case_id"]), uuid.UUID(p["request_id"]), p["platform_reference"])


@dataclass(frozen=True, slots=True)
class TakedownRefused:
    TYPE: ClassVar[str] = c.CASE_TAKEDOWN_REFUSED
    case_id: uuid.UUID
    request_id: uuid.UUID
    platform_reference: str | None
    reason: str

    def payload(self) -> JSON:
        return {
            "case_id": str(self.case_id),
            "request_id": str(self.request_id),
            "platform_reference": self.platform_reference,
            "reason": self.reason,
        }

    @classmethod
    def parse(cls, p: Mapping[str, Any]) -> TakedownRefused:
        return cls(
            uuid.UUID(p["case_id"]),
            uuid.UUID(p["request_id"]),
            p["platform_reference"],
            p["reason"],
        )


@dataclass(frozen=True, slots=True)
class FactCheckPublished:
    TYPE: ClassVar[str] = c.CASE_FACT_CHECK_PUBLISHED
    case_id: uuid.UUID
    fact_check_id: uuid.UUID
    url: str
    text_en: str
    text_hi: str

    def payload(self) -> JSON:
        return {
            "case_id": str(self.case_id),
            "fact_check_id": str(self.fact_check_id),
            "url": self.url,
            "text_en": self.text_en,
            "text_hi": self.text_hi,
        }

    @classmethod
    def parse(cls, p: Mapping[str, Any]) -> FactCheckPublished:
        return cls(
            uuid.UUID(p["case_id"]),
            uuid.UUID(p["fact_check_id"]),
            p["url"],
            p["text_en"],
            p["text_hi"],
        )


@dataclass(frozen=True, slots=True)
class SourceActionTaken:
    TYPE: ClassVar[str] = c.CASE_SOURCE_ACTION_TAKEN
    case_id: uuid.UUID
    action_id: uuid.UUID
    fir_number: str
    sections: tuple[str, ...]
    police_station: str | None

    def payload(self) -> JSON:
        return {
            "case_id": str(self.case_id),
            "action_id": str(self.action_id),
            "fir_number": self.fir_number,
            "sections": list(self.sections),
            "police_station": self.police_station,
        }

    @classmethod
    def parse(cls, p: Mapping[str, Any]) -> SourceActionTaken:
        return cls(
            uuid.UUID(p["case_id"]),
            uuid.UUID(p["action_id"]),
            p["fir_number"],
            tuple(p["sections"]),
            p["police_station"],
        )


CaseEvent = (
    CaseOpened
    | CaseAssigned
    | CaseAcknowledged
    | NoteAdded
    | FieldReportFiled
    | SeizureRecorded
    | Escalated
    | Shared
    | ShareRevoked
    | TransferRequested
    | TransferWithdrawn
    | Transferred
    | TransferRefused
    | Closed
    | Reopened
    | ReportLinked
    | CaseLinked
    | ReportUnlinked
    | SlaBreached
    | WatchlistHit
    | TakedownRequested
    | TakedownConfirmed
    | TakedownRefused
    | FactCheckPublished
    | SourceActionTaken
)

_PARSERS: dict[str, Callable[[Mapping[str, Any]], CaseEvent]] = {
    cls.TYPE: cls.parse
    for cls in (
        CaseOpened,
        CaseAssigned,
        CaseAcknowledged,
        NoteAdded,
        FieldReportFiled,
        SeizureRecorded,
        Escalated,
        Shared,
        ShareRevoked,
        TransferRequested,
        TransferWithdrawn,
        Transferred,
        TransferRefused,
        Closed,
        Reopened,
        ReportLinked,
        CaseLinked,
        ReportUnlinked,
        SlaBreached,
        WatchlistHit,
        TakedownRequested,
        TakedownConfirmed,
        TakedownRefused,
        FactCheckPublished,
        SourceActionTaken,
    )
}
CASE_EVENT_TYPES = frozenset(_PARSERS)
RESPONSE_EVENT_TYPES = frozenset(
    {
        c.CASE_TAKEDOWN_REQUESTED,
        c.CASE_TAKEDOWN_CONFIRMED,
        c.CASE_TAKEDOWN_REFUSED,
        c.CASE_FACT_CHECK_PUBLISHED,
        c.CASE_SOURCE_ACTION_TAKEN,
    }
)


def parse(event_type: str, payload: Mapping[str, Any]) -> CaseEvent:
    try:
        parser = _PARSERS[event_type]
    except KeyError:
        raise ValueError(f"{event_type} is not a case event") from None
    return parser(payload)

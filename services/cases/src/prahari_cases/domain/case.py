"""The case aggregate. `decide(case, command, now)` gives the events a command causes, or
refuses it with a domain error; `evolve(case, event)` folds one stored event into the case
and always advances its version. A case is a fold over its events; no I/O here.

Statuses: open -> assigned -> acknowledged -> reported (field report in) -> closed, and
reopened goes back to open. Escalation is a level on the case (district, state), not a
status. Who may issue each command is the access policy's business
(`prahari_events.policy`), checked before `decide` is asked.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Generic, TypeVar

from prahari_cases.domain import commands as cmd
from prahari_cases.domain import events as ev
from prahari_cases.domain import sla
from prahari_cases.domain.identifiers import Identifier
from prahari_cases.domain.sla import Durations
from prahari_events.envelope import JSON, Actor, Envelope, iso
from prahari_events.errors import InvalidTransition, Unprocessable
from prahari_events.policy import Area, CaseAccess

# Case ids are derived from report ids, so however often a report is delivered, it can only
# ever name one case.
_CASE_IDS = uuid.UUID("6f1c3a52-9e1e-4c43-8a51-3a7d0c1b2e90")


def case_id_for(report_id: uuid.UUID) -> uuid.UUID:
    return uuid.uuid5(_CASE_IDS, str(report_id))


def stream_for(case_id: uuid.UUID) -> str:
    return f"case-{case_id}"


class Status(StrEnum):
    OPEN = "open"
    ASSIGNED = "assigned"
    ACKNOWLEDGED = "acknowledged"
    REPORTED = "reported"
    CLOSED = "closed"


class Level(StrEnum):
    DISTRICT = "district"
    STATE = "state"


_ACTIVE = frozenset({Status.OPEN, Status.ASSIGNED, Status.ACKNOWLEDGED, Status.REPORTED})
_ANY = frozenset(Status)

# From which statuses each command may be given. A status missing here is a refusal that
# names the current status and what is allowed from it.
TRANSITIONS: dict[type[Any], frozenset[Status]] = {
    cmd.Assign: _ACTIVE,
    cmd.Acknowledge: frozenset({Status.ASSIGNED}),
    cmd.AddNote: _ANY,
    cmd.FileFieldReport: frozenset({Status.ACKNOWLEDGED, Status.REPORTED}),
    cmd.RecordSeizure: _ACTIVE,
    cmd.Escalate: _ACTIVE,
    cmd.Share: _ACTIVE,
    cmd.RevokeShare: _ANY,
    cmd.RequestTransfer: _ACTIVE,
    cmd.WithdrawTransfer: _ACTIVE,
    cmd.AcceptTransfer: _ACTIVE,
    cmd.RefuseTransfer: _ACTIVE,
    cmd.Close: _ACTIVE,
    cmd.Reopen: frozenset({Status.CLOSED}),
    cmd.AttachReport: _ACTIVE,
    cmd.LinkCase: _ACTIVE,
    cmd.UnlinkReport: _ANY,
    cmd.FireTimer: _ANY,
    cmd.HitWatchlist: _ACTIVE,
    cmd.RequestTakedown: _ACTIVE,
    # A platform may answer after the case is closed, and an FIR may follow a closure; both
    # still go on the record.
    cmd.RecordTakedownOutcome: _ANY,
    cmd.PublishFactCheck: _ACTIVE,
    cmd.RecordSourceAction: _ANY,
}
COMMAND_NAMES: dict[type[Any], str] = {
    cmd.Assign: "assign",
    cmd.Acknowledge: "acknowledge",
    cmd.AddNote: "add_note",
    cmd.FileFieldReport: "file_field_report",
    cmd.RecordSeizure: "record_seizure",
    cmd.Escalate: "escalate",
    cmd.Share: "share",
    cmd.RevokeShare: "revoke_share",
    cmd.RequestTransfer: "request_transfer",
    cmd.WithdrawTransfer: "withdraw_transfer",
    cmd.AcceptTransfer: "accept_transfer",
    cmd.RefuseTransfer: "refuse_transfer",
    cmd.Close: "close",
    cmd.Reopen: "reopen",
    cmd.AttachReport: "attach_report",
    cmd.LinkCase: "link_case",
    cmd.UnlinkReport: "unlink_report",
    cmd.FireTimer: "fire_timer",
    cmd.HitWatchlist: "hit_watchlist",
    cmd.RequestTakedown: "request_takedown",
    cmd.RecordTakedownOutcome: "record_takedown_outcome",
    cmd.PublishFactCheck: "publish_fact_check",
    cmd.RecordSourceAction: "record_source_action",
}
# What only a rumour case has: its response.
_RUMOUR_ONLY = (
    cmd.RequestTakedown,
    cmd.RecordTakedownOutcome,
    cmd.PublishFactCheck,
    cmd.RecordSourceAction,
)


@dataclass(frozen=True, slots=True)
class Note:
    note_id: uuid.UUID
    text: str
    attachments: tuple[ev.Attachment, ...]
    by: Actor
    at: datetime

    def to_json(self) -> JSON:
        return {
            "note_id": str(self.note_id),
            "text": self.text,
            "attachments": [a.to_json() for a in self.attachments],
            "by": self.by.to_json(),
            "at": iso(self.at),
        }

    @classmethod
    def from_json(cls, p: Mapping[str, Any]) -> Note:
        return cls(
            uuid.UUID(p["note_id"]),
            p["text"],
            tuple(ev.Attachment.from_json(a) for a in p["attachments"]),
            Actor(**p["by"]),
            datetime.fromisoformat(p["at"]),
        )


# The events a case keeps as they came, with who and when: its seizures, fact-checks and
# actions against a rumour's source.
Kept_E = TypeVar("Kept_E", ev.SeizureRecorded, ev.FactCheckPublished, ev.SourceActionTaken)


@dataclass(frozen=True, slots=True)
class Kept(Generic[Kept_E]):
    event: Kept_E
    by: Actor
    at: datetime

    def to_json(self) -> JSON:
        body = self.event.payload()
        del body["case_id"]
        return {**body, "by": self.by.to_json(), "at": iso(self.at)}

    @staticmethod
    def from_json(
        parse: Callable[[Mapping[str, Any]], Kept_E], case_id: uuid.UUID, p: Mapping[str, Any]
    ) -> Kept[Kept_E]:
        event = parse({**p, "case_id": str(case_id)})
        return Kept(event, Actor(**p["by"]), datetime.fromisoformat(p["at"]))


@dataclass(frozen=True, slots=True)
class FieldReport:
    findings: str
    action_taken: str
    by: Actor
    at: datetime

    def to_json(self) -> JSON:
        return {
            "findings": self.findings,
            "action_taken": self.action_taken,
            "by": self.by.to_json(),
            "at": iso(self.at),
        }

    @classmethod
    def from_json(cls, p: Mapping[str, Any]) -> FieldReport:
        return cls(
            p["findings"], p["action_taken"], Actor(**p["by"]), datetime.fromisoformat(p["at"])
        )


@dataclass(frozen=True, slots=True)
class ShareGrant:
    partner: Area
    reason: str
    since: datetime

    def to_json(self) -> JSON:
        return {**ev.area_json(self.partner), "reason": self.reason, "since": iso(self.since)}

    @classmethod
    def from_json(cls, p: Mapping[str, Any]) -> ShareGrant:
        return cls(ev.area_from(p), p["reason"], datetime.fromisoformat(p["since"]))


@dataclass(frozen=True, slots=True)
class PendingTransfer:
    to: Area
    reason: str
    requested_at: datetime

    def to_json(self) -> JSON:
        return {
            "to": ev.area_json(self.to),
            "reason": self.reason,
            "requested_at": iso(self.requested_at),
        }

    @classmethod
    def from_json(cls, p: Mapping[str, Any]) -> PendingTransfer:
        return cls(ev.area_from(p["to"]), p["reason"], datetime.fromisoformat(p["requested_at"]))


@dataclass(frozen=True, slots=True)
class Closure:
    disposition: str
    summary: str
    duplicate_of: uuid.UUID | None
    at: datetime

    def to_json(self) -> JSON:
        return {
            "disposition": self.disposition,
            "summary": self.summary,
            "duplicate_of": str(self.duplicate_of) if self.duplicate_of else None,
            "at": iso(self.at),
        }

    @classmethod
    def from_json(cls, p: Mapping[str, Any]) -> Closure:
        return cls(
            p["disposition"],
            p["summary"],
            uuid.UUID(p["duplicate_of"]) if p["duplicate_of"] else None,
            datetime.fromisoformat(p["at"]),
        )


@dataclass(frozen=True, slots=True)
class Breach:
    stage: str
    due_at: datetime
    level: str
    at: datetime

    def to_json(self) -> JSON:
        return {
            "stage": self.stage,
            "due_at": iso(self.due_at),
            "level": self.level,
            "at": iso(self.at),
        }

    @classmethod
    def from_json(cls, p: Mapping[str, Any]) -> Breach:
        return cls(
            p["stage"],
            datetime.fromisoformat(p["due_at"]),
            p["level"],
            datetime.fromisoformat(p["at"]),
        )


@dataclass(frozen=True, slots=True)
class CaseLink:
    """Another case that shares an identifier: its id and state, never its contents."""

    case_id: uuid.UUID
    state: int
    identifier: Identifier

    def to_json(self) -> JSON:
        return {
            "case_id": str(self.case_id),
            "state": self.state,
            "identifier": self.identifier.to_json(),
        }

    @classmethod
    def from_json(cls, p: Mapping[str, Any]) -> CaseLink:
        return cls(uuid.UUID(p["case_id"]), p["state"], Identifier.from_json(p["identifier"]))


@dataclass(frozen=True, slots=True)
class Takedown:
    """A takedown request and, once the platform answers, its outcome."""

    request: ev.TakedownRequested
    by: Actor
    at: datetime
    outcome: str | None = None  # confirmed, refused
    platform_reference: str | None = None
    reason: str | None = None
    answered_at: datetime | None = None

    def to_json(self) -> JSON:
        body = self.request.payload()
        del body["case_id"]
        return {
            **body,
            "by": self.by.to_json(),
            "at": iso(self.at),
            "outcome": self.outcome,
            "platform_reference": self.platform_reference,
            "reason": self.reason,
            "answered_at": iso(self.answered_at) if self.answered_at else None,
        }

    @classmethod
    def from_json(cls, case_id: uuid.UUID, p: Mapping[str, Any]) -> Takedown:
        return cls(
            ev.TakedownRequested.parse({**p, "case_id": str(case_id)}),
            Actor(**p["by"]),
            datetime.fromisoformat(p["at"]),
            p["outcome"],
            p["platform_reference"],
            p["reason"],
            _moment(p["answered_at"]),
        )


@dataclass(frozen=True, slots=True)
class Case:
    case_id: uuid.UUID
    version: int
    status: Status
    level: Level
    report_id: uuid.UUID
    report_ids: tuple[uuid.UUID, ...]
    report_type: str
    description: str
    place: Area  # the owner's jurisdiction: moves with a transfer
    reported_by: ev.Reporter
    opened_at: datetime
    updated_at: datetime
    assign_by: datetime
    decide_by: datetime
    correlation_id: uuid.UUID
    trace_id: str | None
    assignee: ev.Assignee | None = None
    assigned_at: datetime | None = None
    acknowledged_at: datetime | None = None
    field_report: FieldReport | None = None
    notes: tuple[Note, ...] = ()
    seizures: tuple[Kept[ev.SeizureRecorded], ...] = ()
    shares: tuple[ShareGrant, ...] = ()
    former_owners: tuple[Area, ...] = ()
    transfer: PendingTransfer | None = None
    closure: Closure | None = None
    identifiers: tuple[Identifier, ...] = ()
    estimated_reach: int | None = None
    linked_reports: tuple[ev.LinkedReport, ...] = ()
    links: tuple[CaseLink, ...] = ()
    sla: Durations = field(default_factory=Durations)
    # The running clocks: (stage, due at), in stage order; a durable timer for each.
    deadlines: tuple[tuple[str, datetime], ...] = ()
    breaches: tuple[Breach, ...] = ()
    # Stages whose deadline passed and whose event has not come yet.
    overdue: frozenset[str] = frozenset()
    watchlist_hits: tuple[ev.WatchlistHit, ...] = ()
    source: ev.Source | None = None
    # A rumour's response: takedown requests, fact-checks, actions against the source.
    takedowns: tuple[Takedown, ...] = ()
    fact_checks: tuple[Kept[ev.FactCheckPublished], ...] = ()
    source_actions: tuple[Kept[ev.SourceActionTaken], ...] = ()

    def deadline(self, stage: str) -> datetime | None:
        return dict(self.deadlines).get(stage)

    @property
    def total_reach(self) -> int | None:
        """The summed estimated reach of every report the case holds, where known."""
        reaches = [self.estimated_reach, *(r.estimated_reach for r in self.linked_reports)]
        known = [r for r in reaches if r is not None]
        return sum(known) if known else None

    @property
    def state(self) -> int:
        return self.place.state

    @property
    def district(self) -> int:
        assert self.place.district is not None
        return self.place.district

    def access(self) -> CaseAccess:
        return CaseAccess(
            owner=self.place,
            reported_by=self.reported_by.ref,
            assignee=self.assignee.ref if self.assignee else None,
            shares=tuple(s.partner for s in self.shares),
            former_owners=self.former_owners,
            transfer_to=self.transfer.to if self.transfer else None,
        )

    def to_json(self) -> JSON:
        """The case as clients read it, and as the read model keeps it: `from_json` gives
        back exactly this case, so a command can start from the read model's row."""
        return {
            "case_id": str(self.case_id),
            "version": self.version,
            "status": self.status.value,
            "level": self.level.value,
            "report_id": str(self.report_id),
            "report_ids": [str(r) for r in self.report_ids],
            "report_type": self.report_type,
            "description": self.description,
            "state": self.place.state,
            "district": self.place.district,
            "reported_by": self.reported_by.to_json(),
            "opened_at": iso(self.opened_at),
            "updated_at": iso(self.updated_at),
            "assign_by": iso(self.assign_by),
            "decide_by": iso(self.decide_by),
            "correlation_id": str(self.correlation_id),
            "trace_id": self.trace_id,
            "assignee": self.assignee.to_json() if self.assignee else None,
            "assigned_at": iso(self.assigned_at) if self.assigned_at else None,
            "acknowledged_at": iso(self.acknowledged_at) if self.acknowledged_at else None,
            "field_report": self.field_report.to_json() if self.field_report else None,
            "notes": [n.to_json() for n in self.notes],
            "seizures": [s.to_json() for s in self.seizures],
            "shares": [s.to_json() for s in self.shares],
            "former_owners": [ev.area_json(a) for a in self.former_owners],
            "transfer": self.transfer.to_json() if self.transfer else None,
            "closure": self.closure.to_json() if self.closure else None,
            "identifiers": [i.to_json() for i in self.identifiers],
            "estimated_reach": self.estimated_reach,
            "linked_reports": [r.to_json() for r in self.linked_reports],
            "links": [link.to_json() for link in self.links],
            # Derived, for people; from_json ignores them.
            "reports": len(self.report_ids),
            "total_reach": self.total_reach,
            "sla": self.sla.to_json(),
            "deadlines": {stage: iso(due) for stage, due in self.deadlines},
            "breaches": [b.to_json() for b in self.breaches],
            "overdue": sorted(self.overdue),
            "watchlist_hits": [
                {k: v for k, v in h.payload().items() if k != "case_id"}
                for h in self.watchlist_hits
            ],
            "source": self.source.to_json() if self.source else None,
            "takedowns": [t.to_json() for t in self.takedowns],
            "fact_checks": [f.to_json() for f in self.fact_checks],
            "source_actions": [a.to_json() for a in self.source_actions],
        }

    @classmethod
    def from_json(cls, p: Mapping[str, Any]) -> Case:
        case_id = uuid.UUID(p["case_id"])
        return cls(
            case_id=case_id,
            version=p["version"],
            status=Status(p["status"]),
            level=Level(p["level"]),
            report_id=uuid.UUID(p["report_id"]),
            report_ids=tuple(uuid.UUID(r) for r in p["report_ids"]),
            report_type=p["report_type"],
            description=p["description"],
            place=Area(p["state"], p["district"]),
            reported_by=ev.Reporter.from_json(p["reported_by"]),
            opened_at=datetime.fromisoformat(p["opened_at"]),
            updated_at=datetime.fromisoformat(p["updated_at"]),
            assign_by=datetime.fromisoformat(p["assign_by"]),
            decide_by=datetime.fromisoformat(p["decide_by"]),
            correlation_id=uuid.UUID(p["correlation_id"]),
            trace_id=p["trace_id"],
            assignee=ev.Assignee.from_json(p["assignee"]) if p["assignee"] else None,
            assigned_at=_moment(p["assigned_at"]),
            acknowledged_at=_moment(p["acknowledged_at"]),
            field_report=FieldReport.from_json(p["field_report"]) if p["field_report"] else None,
            notes=tuple(Note.from_json(n) for n in p["notes"]),
            seizures=tuple(
                Kept.from_json(ev.SeizureRecorded.parse, case_id, s) for s in p["seizures"]
            ),
            shares=tuple(ShareGrant.from_json(s) for s in p["shares"]),
            former_owners=tuple(ev.area_from(a) for a in p["former_owners"]),
            transfer=PendingTransfer.from_json(p["transfer"]) if p["transfer"] else None,
            closure=Closure.from_json(p["closure"]) if p["closure"] else None,
            identifiers=tuple(Identifier.from_json(i) for i in p["identifiers"]),
            estimated_reach=p["estimated_reach"],
            linked_reports=tuple(ev.LinkedReport.from_json(r) for r in p["linked_reports"]),
            links=tuple(CaseLink.from_json(link) for link in p["links"]),
            sla=Durations.from_json(p["sla"]),
            deadlines=tuple(
                (stage, datetime.fromisoformat(due)) for stage, due in p["deadlines"].items()
            ),
            breaches=tuple(Breach.from_json(b) for b in p["breaches"]),
            overdue=frozenset(p["overdue"]),
            watchlist_hits=tuple(
                ev.WatchlistHit.parse({**h, "case_id": p["case_id"]}) for h in p["watchlist_hits"]
            ),
            source=ev.Source.from_json(p["source"]),
            takedowns=tuple(Takedown.from_json(case_id, t) for t in p["takedowns"]),
            fact_checks=tuple(
                Kept.from_json(ev.FactCheckPublished.parse, case_id, f) for f in p["fact_checks"]
            ),
            source_actions=tuple(
                Kept.from_json(ev.SourceActionTaken.parse, case_id, a) for a in p["source_actions"]
            ),
        )


def _moment(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


# --- decide ---------------------------------------------------------------------------------


def allowed_commands(status: Status, report_type: str) -> list[str]:
    """What a unit may ask of a case in this status (the system's own commands aside)."""
    return [
        COMMAND_NAMES[kind]
        for kind, allowed in TRANSITIONS.items()
        if status in allowed
        and kind.ACTION is not None
        and (report_type == "rumour" or kind not in _RUMOUR_ONLY)
    ]


def _refuse(case: Case, command: object, why: str | None = None) -> InvalidTransition:
    name = COMMAND_NAMES[type(command)]
    message = why or f"cannot {name.replace('_', ' ')} a case that is {case.status.value}"
    return InvalidTransition(
        message,
        fields={
            "status": case.status.value,
            "allowed_from": sorted(s.value for s in TRANSITIONS[type(command)]),
            "allowed_now": allowed_commands(case.status, case.report_type),
        },
    )


def decide(case: Case | None, command: cmd.Command, now: datetime) -> list[ev.CaseEvent]:
    """The events `command` causes on `case`; a domain error when it does not apply."""
    if isinstance(command, cmd.OpenCase):
        if case is not None:
            return []  # the report was seen before, under another delivery: nothing new
        return [
            ev.CaseOpened(
                case_id=command.case_id,
                report_id=command.report_id,
                report_type=command.report_type,
                description=command.description,
                place=command.place,
                reported_by=command.reported_by,
                reported_at=command.reported_at,
                assign_by=_assign_by(command, now),
                decide_by=now + command.sla.of(sla.CLOSE),
                identifiers=command.identifiers,
                estimated_reach=command.estimated_reach,
                sla=command.sla,
                source=command.source,
            )
        ]
    if case is None:
        raise InvalidTransition("no such case", fields={"status": None})
    if case.status not in TRANSITIONS[type(command)]:
        raise _refuse(case, command)
    if isinstance(command, _RUMOUR_ONLY):
        return _respond(case, command, now)
    return _decide(case, command)


def _respond(case: Case, command: cmd.Command, now: datetime) -> list[ev.CaseEvent]:
    """A rumour's response: takedowns, fact-checks, action against the source."""
    if case.report_type != "rumour":
        raise _refuse(case, command, f"a {case.report_type} case has no rumour response")
    cid = case.case_id
    match command:
        case cmd.RequestTakedown():
            if any(t.request.request_id == command.request_id for t in case.takedowns):
                return []
            due = command.due_at or now + case.sla.of(sla.TAKEDOWN)
            if due <= now:
                raise Unprocessable(
                    "a takedown's deadline is in the future",
                    fields={"deadline": [f"must be after {iso(now)}"]},
                )
            return [
                ev.TakedownRequested(
                    cid,
                    command.request_id,
                    command.platform,
                    command.url,
                    command.legal_basis,
                    command.nodal_officer,
                    due,
                )
            ]
        case cmd.RecordTakedownOutcome(request_id=request_id):
            asked = next((t for t in case.takedowns if t.request.request_id == request_id), None)
            if asked is None:
                raise Unprocessable(
                    "no such takedown request",
                    fields={"request_id": [f"{request_id} is not a request of this case"]},
                )
            if asked.outcome is not None:
                raise _refuse(case, command, f"the request was already {asked.outcome}")
            if command.confirmed:
                assert command.platform_reference is not None  # the schema requires it
                return [ev.TakedownConfirmed(cid, request_id, command.platform_reference)]
            assert command.reason is not None  # the schema requires it
            return [ev.TakedownRefused(cid, request_id, command.platform_reference, command.reason)]
        case cmd.PublishFactCheck():
            return [
                ev.FactCheckPublished(
                    cid, command.fact_check_id, command.url, command.text_en, command.text_hi
                )
            ]
        case cmd.RecordSourceAction():
            return [
                ev.SourceActionTaken(
                    cid,
                    command.action_id,
                    command.fir_number,
                    command.sections,
                    command.police_station,
                )
            ]
    raise TypeError(f"not a rumour response: {command!r}")  # pragma: no cover


def _decide(case: Case, command: cmd.Command) -> list[ev.CaseEvent]:  # noqa: PLR0912, PLR0915 (one branch per command)
    cid = case.case_id
    match command:
        case cmd.Assign(assignee=assignee, note=note):
            if assignee.ref.state != case.state:
                raise Unprocessable(
                    "a case is assigned to a unit of its owner's state",
                    fields={"unit_id": [f"{assignee.ref.unit_id} is not a unit of {case.state}"]},
                )
            return [ev.CaseAssigned(cid, assignee, note)]
        case cmd.Acknowledge():
            assert case.assignee is not None  # an assigned case always has its assignee
            return [ev.CaseAcknowledged(cid, case.assignee.ref)]
        case cmd.AddNote(note_id=note_id, text=text, attachments=attachments):
            return [ev.NoteAdded(cid, note_id, text, attachments)]
        case cmd.FileFieldReport(findings=findings, action_taken=action_taken):
            return [ev.FieldReportFiled(cid, findings, action_taken)]
        case cmd.RecordSeizure():
            return [
                ev.SeizureRecorded(
                    cid,
                    command.seizure_id,
                    command.category,
                    command.quantity,
                    command.unit,
                    command.value_inr,
                    command.agency,
                    command.fir_number,
                    command.police_station,
                    command.same_as,
                )
            ]
        case cmd.Escalate(reason=reason):
            if case.level is Level.STATE:
                raise _refuse(case, command, "the case is already escalated to the state level")
            return [ev.Escalated(cid, case.level.value, Level.STATE.value, reason)]
        case cmd.Share(partner=partner, reason=reason):
            if partner == case.place:
                raise Unprocessable(
                    "the case's owner already has it", fields={"state": ["the owner's own place"]}
                )
            if any(s.partner == partner for s in case.shares):
                return []  # shared so already: nothing changes
            return [ev.Shared(cid, partner, reason)]
        case cmd.RevokeShare(state=state):
            share = next((s for s in case.shares if s.partner.state == state), None)
            if share is None:
                raise _refuse(case, command, f"the case is not shared with state {state}")
            return [ev.ShareRevoked(cid, share.partner)]
        case cmd.RequestTransfer(to=to, reason=reason):
            if to == case.place:
                raise Unprocessable(
                    "the case is already owned there", fields={"district": ["the current owner"]}
                )
            if case.transfer is not None:
                raise _refuse(case, command, "a transfer is already pending: withdraw it first")
            return [ev.TransferRequested(cid, to, reason)]
        case cmd.WithdrawTransfer(reason=reason):
            pending = _pending(case, command)
            return [ev.TransferWithdrawn(cid, pending.to, reason)]
        case cmd.AcceptTransfer():
            pending = _pending(case, command)
            return [ev.Transferred(cid, case.place, pending.to)]
        case cmd.RefuseTransfer(reason=reason):
            pending = _pending(case, command)
            return [ev.TransferRefused(cid, pending.to, reason)]
        case cmd.Close(disposition=disposition, summary=summary, duplicate_of=duplicate_of):
            if case.transfer is not None:
                raise _refuse(case, command, "a transfer is pending: withdraw it before closing")
            if duplicate_of == cid:
                raise Unprocessable(
                    "a case is not a duplicate of itself", fields={"duplicate_of": ["this case"]}
                )
            return [ev.Closed(cid, disposition, summary, duplicate_of)]
        case cmd.Reopen(reason=reason):
            return [ev.Reopened(cid, reason)]
        case cmd.AttachReport(report=report, matched=matched):
            if report.report_id in case.report_ids:
                return []  # attached already
            return [ev.ReportLinked(cid, report, matched)]
        case cmd.UnlinkReport(report_id=report_id, reason=reason):
            if report_id == case.report_id:
                raise _refuse(case, command, "the report that opened the case stays with it")
            attached = next((r for r in case.linked_reports if r.report_id == report_id), None)
            if attached is None:
                raise Unprocessable(
                    "no such report in this case",
                    fields={"report_id": [f"{report_id} is not attached to this case"]},
                )
            return [ev.ReportUnlinked(cid, attached, reason)]
        case cmd.FireTimer(stage=stage, due_at=due_at):
            if case.status is Status.CLOSED or case.deadline(stage) != due_at:
                return []  # the clock was stopped or moved since the timer was set
            breached: list[ev.CaseEvent] = [ev.SlaBreached(cid, stage, due_at, case.level.value)]
            if case.level is Level.DISTRICT:
                reason = f"the {stage.replace('_', ' ')} deadline ({iso(due_at)}) passed"
                breached.append(ev.Escalated(cid, Level.DISTRICT.value, Level.STATE.value, reason))
            return breached
        case cmd.HitWatchlist(entry_id=entry_id, owner=owner, identifier=identifier):
            if any(h.entry_id == entry_id for h in case.watchlist_hits):
                return []  # this entry has hit this case already
            return [ev.WatchlistHit(cid, entry_id, owner, identifier)]
        case cmd.LinkCase(other_case_id=other, other_state=state, identifier=identifier):
            if other == cid or any(link.case_id == other for link in case.links):
                return []
            return [ev.CaseLinked(cid, other, state, identifier)]
    raise TypeError(f"not a case command: {command!r}")  # pragma: no cover


def _assign_by(command: cmd.OpenCase, now: datetime) -> datetime:
    """The normal assignment deadline, or a smuggling tip's expected crossing if earlier."""
    normal = now + command.sla.of(sla.ASSIGN)
    if command.expected_at is not None and command.expected_at < normal:
        return command.expected_at
    return normal


def _pending(case: Case, command: object) -> PendingTransfer:
    if case.transfer is None:
        raise _refuse(case, command, "no transfer is pending")
    return case.transfer


# --- evolve ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Recorded:
    """What the store adds to an event: its version in the stream, when it was recorded,
    who caused it, and the ids that tie it to its story."""

    version: int
    at: datetime
    by: Actor
    correlation_id: uuid.UUID
    trace_id: str | None = None


_CASE_FIELDS = tuple(f.name for f in dataclasses.fields(Case))
_SET = object.__setattr__


def _replace(case: Case, **changes: Any) -> Case:
    """dataclasses.replace for the fold's hot path: a replay of an election's history makes
    two or three new cases per event, and the generic replace (field introspection, then
    __init__ with every field) was most of a rebuild's time. Same result; an unknown field
    is still an error."""
    unknown = changes.keys() - _CASE_FIELDS_SET
    if unknown:
        raise TypeError(f"Case has no field {', '.join(sorted(unknown))}")
    new = object.__new__(Case)
    for name in _CASE_FIELDS:
        _SET(new, name, changes[name] if name in changes else getattr(case, name))
    return new


_CASE_FIELDS_SET = frozenset(_CASE_FIELDS)


def evolve(case: Case | None, envelope: Envelope) -> Case:
    """Fold one stored event into the case. Every event advances the version, whatever it
    changes, so the version is always the stream's."""
    recorded = Recorded(
        envelope.stream_version,
        envelope.recorded_at,
        envelope.actor,
        envelope.correlation_id,
        envelope.trace_id,
    )
    return evolve_event(case, ev.parse(envelope.type, envelope.payload), recorded)


def evolve_event(case: Case | None, event: ev.CaseEvent, recorded: Recorded) -> Case:
    """`evolve` for an event not stored yet: to decide a second command on the case the
    first one leaves (a case opened and linked in one go)."""
    at, by = recorded.at, recorded.by
    if isinstance(event, ev.CaseOpened):
        return Case(
            case_id=event.case_id,
            version=recorded.version,
            status=Status.OPEN,
            level=Level.DISTRICT,
            report_id=event.report_id,
            report_ids=(event.report_id,),
            report_type=event.report_type,
            description=event.description,
            place=event.place,
            reported_by=event.reported_by,
            opened_at=at,
            updated_at=at,
            assign_by=event.assign_by,
            decide_by=event.decide_by,
            correlation_id=recorded.correlation_id,
            trace_id=recorded.trace_id,
            identifiers=event.identifiers,
            estimated_reach=event.estimated_reach,
            sla=event.sla,
            deadlines=_clocks(_opening_clocks(event, at)),
            source=event.source,
        )
    if case is None:
        raise ValueError(f"{event.TYPE} before case.opened")
    case = _replace(case, version=recorded.version, updated_at=at)
    return _apply(case, event, at, by)


def _opening_clocks(event: ev.CaseOpened, at: datetime) -> dict[str, datetime]:
    """Every case must be assigned and decided in time; a rumour must also be answered by a
    fact-check and by action against its source."""
    clocks = {sla.ASSIGN: event.assign_by, sla.CLOSE: event.decide_by}
    if event.report_type == "rumour":
        clocks[sla.FACT_CHECK] = at + event.sla.of(sla.FACT_CHECK)
        clocks[sla.SOURCE_ACTION] = at + event.sla.of(sla.SOURCE_ACTION)
    return clocks


def _respond_evolve(case: Case, event: ev.CaseEvent, at: datetime, by: Actor) -> Case | None:
    """A rumour response's events, or None for any other."""
    r = _replace
    match event:
        case ev.TakedownRequested(due_at=due_at):
            # The takedown clock runs while any request waits for its answer, due at the
            # earliest requested deadline (a later request never moves it back).
            running = case.deadline(sla.TAKEDOWN)
            clocks = dict(case.deadlines)
            clocks[sla.TAKEDOWN] = min(running, due_at) if running else due_at
            return r(
                case,
                takedowns=(*case.takedowns, Takedown(event, by, at)),
                deadlines=_clocks(clocks),
            )
        case ev.TakedownConfirmed() | ev.TakedownRefused():
            confirmed = isinstance(event, ev.TakedownConfirmed)
            reason = None if isinstance(event, ev.TakedownConfirmed) else event.reason
            takedowns = tuple(
                dataclasses.replace(
                    t,
                    outcome="confirmed" if confirmed else "refused",
                    platform_reference=event.platform_reference,
                    reason=reason,
                    answered_at=at,
                )
                if t.request.request_id == event.request_id
                else t
                for t in case.takedowns
            )
            waiting = any(t.outcome is None for t in takedowns)
            answered = case if waiting else _clock(case, at, stops=(sla.TAKEDOWN,))
            return r(answered, takedowns=takedowns)
        case ev.FactCheckPublished():
            return r(
                _clock(case, at, stops=(sla.FACT_CHECK,)),
                fact_checks=(*case.fact_checks, Kept(event, by, at)),
            )
        case ev.SourceActionTaken():
            return r(
                _clock(case, at, stops=(sla.SOURCE_ACTION,)),
                source_actions=(*case.source_actions, Kept(event, by, at)),
            )
    return None


def _apply(case: Case, event: ev.CaseEvent, at: datetime, by: Actor) -> Case:  # noqa: PLR0912 (one branch per event type)
    responded = _respond_evolve(case, event, at, by)
    if responded is not None:
        return responded
    r = _replace
    match event:
        case ev.CaseAssigned(assignee=assignee):
            # A re-assignment restarts the acknowledge clock.
            return r(
                _clock(case, at, stops=(sla.ASSIGN, sla.FIELD_REPORT), starts=sla.ACKNOWLEDGE),
                status=Status.ASSIGNED,
                assignee=assignee,
                assigned_at=at,
                acknowledged_at=None,
            )
        case ev.CaseAcknowledged():
            return r(
                _clock(case, at, stops=(sla.ACKNOWLEDGE,), starts=sla.FIELD_REPORT),
                status=Status.ACKNOWLEDGED,
                acknowledged_at=at,
            )
        case ev.NoteAdded():
            note = Note(event.note_id, event.text, event.attachments, by, at)
            return r(case, notes=(*case.notes, note))
        case ev.FieldReportFiled():
            report = FieldReport(event.findings, event.action_taken, by, at)
            return r(
                _clock(case, at, stops=(sla.FIELD_REPORT,)),
                status=Status.REPORTED,
                field_report=report,
            )
        case ev.SeizureRecorded():
            return r(case, seizures=(*case.seizures, Kept(event, by, at)))
        case ev.Escalated(to_level=to_level):
            return r(case, level=Level(to_level))
        case ev.Shared(partner=partner, reason=reason):
            # One share per state: sharing again with the same state replaces the first.
            kept = tuple(s for s in case.shares if s.partner.state != partner.state)
            return r(case, shares=(*kept, ShareGrant(partner, reason, at)))
        case ev.ShareRevoked(partner=partner):
            return r(case, shares=tuple(s for s in case.shares if s.partner != partner))
        case ev.TransferRequested(to=to, reason=reason):
            return r(case, transfer=PendingTransfer(to, reason, at))
        case ev.TransferWithdrawn() | ev.TransferRefused():
            return r(case, transfer=None)
        case ev.Transferred(origin=origin, to=to):
            # The new owner assigns its own units and works from its own level; the old
            # owner keeps read access. A field report already in stays in.
            formers = tuple(a for a in case.former_owners if a not in (origin, to))
            in_field = case.status in (Status.ASSIGNED, Status.ACKNOWLEDGED)
            # The receiving control room gets a fresh assignment clock, if it must assign.
            restarted = (
                _clock(
                    case,
                    at,
                    stops=(sla.ASSIGN, sla.ACKNOWLEDGE, sla.FIELD_REPORT),
                    starts=sla.ASSIGN,
                )
                if case.status is Status.OPEN or in_field
                else case
            )
            return r(
                restarted,
                place=to,
                former_owners=(*formers, origin),
                transfer=None,
                level=Level.DISTRICT,
                status=Status.OPEN if in_field else case.status,
                assignee=None,
                assigned_at=None,
                acknowledged_at=None,
            )
        case ev.Closed():
            closure = Closure(event.disposition, event.summary, event.duplicate_of, at)
            return r(case, status=Status.CLOSED, closure=closure, deadlines=(), overdue=frozenset())
        case ev.ReportLinked(report=report):
            return r(
                case,
                report_ids=(*case.report_ids, report.report_id),
                linked_reports=(*case.linked_reports, report),
            )
        case ev.ReportUnlinked(report=report):
            gone = report.report_id
            return r(
                case,
                report_ids=tuple(i for i in case.report_ids if i != gone),
                linked_reports=tuple(x for x in case.linked_reports if x.report_id != gone),
            )
        case ev.CaseLinked(other_case_id=other, other_state=state, identifier=identifier):
            return r(case, links=(*case.links, CaseLink(other, state, identifier)))
        case ev.WatchlistHit():
            return r(case, watchlist_hits=(*case.watchlist_hits, event))
        case ev.SlaBreached(stage=stage, due_at=due_at, level=level):
            # At the district level the escalation that follows gives the stage a new
            # deadline at the state level; a breach there is the last word.
            clocks = dict(case.deadlines)
            clocks.pop(stage, None)
            if level == Level.DISTRICT.value:
                clocks[stage] = at + case.sla.of(stage)
            return r(
                case,
                deadlines=_clocks(clocks),
                breaches=(*case.breaches, Breach(stage, due_at, level, at)),
                overdue=case.overdue | {stage},
            )
        case ev.Reopened():
            # A reopened case runs fresh clocks: to be assigned again, and to be closed.
            fresh = {
                sla.ASSIGN: at + case.sla.of(sla.ASSIGN),
                sla.CLOSE: at + case.sla.of(sla.CLOSE),
            }
            return r(
                case,
                deadlines=_clocks(fresh),
                overdue=frozenset(),
                status=Status.OPEN,
                closure=None,
                assignee=None,
                assigned_at=None,
                acknowledged_at=None,
            )
    raise ValueError(f"{type(event).__name__} does not apply to an open case")


def _clocks(due: Mapping[str, datetime]) -> tuple[tuple[str, datetime], ...]:
    return tuple((stage, due[stage]) for stage in sla.STAGES if stage in due)


def _clock(
    case: Case, at: datetime, *, stops: tuple[str, ...] = (), starts: str | None = None
) -> Case:
    """Stop some stages' clocks (their event came) and start one, from `at`."""
    clocks = {stage: due for stage, due in case.deadlines if stage not in stops}
    if starts is not None:
        clocks[starts] = at + case.sla.of(starts)
    stopped = set(stops) | ({starts} if starts else set())
    return _replace(case, deadlines=_clocks(clocks), overdue=case.overdue - stopped)


def replay(events: Iterable[Envelope]) -> Case | None:
    case: Case | None = None
    for event in events:
        case = evolve(case, event)
    return case

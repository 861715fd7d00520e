"""What a unit asks of a case: imperative commands, one per thing a control room or a
field unit does. Each names the policy action it needs and whether it changes the case's
state (those need If-Match; notes and seizures add to the case and never conflict)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from prahari_cases.domain.events import Assignee, Attachment, LinkedReport, Reporter, Source
from prahari_cases.domain.identifiers import Identifier
from prahari_cases.domain.sla import Durations
from prahari_events.policy import Action, Area, UnitRef


@dataclass(frozen=True, slots=True)
class OpenCase:
    ACTION: ClassVar[Action | None] = None  # the system opens cases from reports
    STATE_CHANGE: ClassVar[bool] = True
    case_id: uuid.UUID
    report_id: uuid.UUID
    report_type: str
    description: str
    place: Area
    reported_by: Reporter
    reported_at: datetime
    sla: Durations
    identifiers: tuple[Identifier, ...] = ()
    estimated_reach: int | None = None
    # A smuggling tip's expected crossing: the case must be assigned before it.
    expected_at: datetime | None = None
    # The thread message the report was made from.
    source: Source | None = None


@dataclass(frozen=True, slots=True)
class AttachReport:
    """Triage found this case already holds the report's real-world event."""

    ACTION: ClassVar[Action | None] = None  # the system attaches, from triage
    STATE_CHANGE: ClassVar[bool] = True
    report: LinkedReport
    matched: Identifier


@dataclass(frozen=True, slots=True)
class UnlinkReport:
    """The control room says triage was wrong: this report is another event."""

    ACTION: ClassVar[Action | None] = Action.UNLINK_REPORT
    STATE_CHANGE: ClassVar[bool] = True
    report_id: uuid.UUID
    reason: str


@dataclass(frozen=True, slots=True)
class FireTimer:
    """A stage's deadline came: the timer loop asks the case whether it was missed."""

    ACTION: ClassVar[Action | None] = None
    STATE_CHANGE: ClassVar[bool] = True
    stage: str
    due_at: datetime


@dataclass(frozen=True, slots=True)
class HitWatchlist:
    """The case names an identifier that a watchlist entry watches for."""

    ACTION: ClassVar[Action | None] = None
    STATE_CHANGE: ClassVar[bool] = True
    entry_id: uuid.UUID
    owner: UnitRef
    identifier: Identifier


@dataclass(frozen=True, slots=True)
class LinkCase:
    """Triage found another open case that shares an identifier with this one."""

    ACTION: ClassVar[Action | None] = None
    STATE_CHANGE: ClassVar[bool] = True
    other_case_id: uuid.UUID
    other_state: int
    identifier: Identifier


@dataclass(frozen=True, slots=True)
class Assign:
    ACTION: ClassVar[Action | None] = Action.ASSIGN
    STATE_CHANGE: ClassVar[bool] = True
    assignee: Assignee
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Acknowledge:
    """The assigned unit says it has the case (the policy checks that it is the assignee)."""

    ACTION: ClassVar[Action | None] = Action.ACKNOWLEDGE
    STATE_CHANGE: ClassVar[bool] = True


@dataclass(frozen=True, slots=True)
class AddNote:
    ACTION: ClassVar[Action | None] = Action.ADD_NOTE
    STATE_CHANGE: ClassVar[bool] = False
    note_id: uuid.UUID
    text: str
    attachments: tuple[Attachment, ...] = ()


@dataclass(frozen=True, slots=True)
class FileFieldReport:
    ACTION: ClassVar[Action | None] = Action.FILE_FIELD_REPORT
    STATE_CHANGE: ClassVar[bool] = True
    findings: str
    action_taken: str


@dataclass(frozen=True, slots=True)
class RecordSeizure:
    ACTION: ClassVar[Action | None] = Action.RECORD_SEIZURE
    STATE_CHANGE: ClassVar[bool] = False
    seizure_id: uuid.UUID
    category: str
    quantity: float
    unit: str
    value_inr: int
    agency: str
    fir_number: str | None = None
    police_station: str | None = None
    same_as: uuid.UUID | None = None


@dataclass(frozen=True, slots=True)
class Escalate:
    ACTION: ClassVar[Action | None] = Action.ESCALATE
    STATE_CHANGE: ClassVar[bool] = True
    reason: str


@dataclass(frozen=True, slots=True)
class Share:
    ACTION: ClassVar[Action | None] = Action.SHARE
    STATE_CHANGE: ClassVar[bool] = True
    partner: Area
    reason: str


@dataclass(frozen=True, slots=True)
class RevokeShare:
    ACTION: ClassVar[Action | None] = Action.REVOKE_SHARE
    STATE_CHANGE: ClassVar[bool] = True
    state: int


@dataclass(frozen=True, slots=True)
class RequestTransfer:
    ACTION: ClassVar[Action | None] = Action.REQUEST_TRANSFER
    STATE_CHANGE: ClassVar[bool] = True
    to: Area
    reason: str


@dataclass(frozen=True, slots=True)
class WithdrawTransfer:
    ACTION: ClassVar[Action | None] = Action.WITHDRAW_TRANSFER
    STATE_CHANGE: ClassVar[bool] = True
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class AcceptTransfer:
    ACTION: ClassVar[Action | None] = Action.ANSWER_TRANSFER
    STATE_CHANGE: ClassVar[bool] = True


@dataclass(frozen=True, slots=True)
class RefuseTransfer:
    ACTION: ClassVar[Action | None] = Action.ANSWER_TRANSFER
    STATE_CHANGE: ClassVar[bool] = True
    reason: str


@dataclass(frozen=True, slots=True)
class Close:
    ACTION: ClassVar[Action | None] = Action.CLOSE
    STATE_CHANGE: ClassVar[bool] = True
    disposition: str
    summary: str
    duplicate_of: uuid.UUID | None = None


@dataclass(frozen=True, slots=True)
class Reopen:
    ACTION: ClassVar[Action | None] = Action.REOPEN
    STATE_CHANGE: ClassVar[bool] = True
    reason: str


@dataclass(frozen=True, slots=True)
class RequestTakedown:
    """Ask a platform, through the state's nodal officer, to take a rumour's post down; by
    `due_at` (None: the case's takedown duration from now)."""

    ACTION: ClassVar[Action | None] = Action.REQUEST_TAKEDOWN
    STATE_CHANGE: ClassVar[bool] = False  # requests add to the case; each has its own id
    request_id: uuid.UUID
    platform: str
    url: str
    legal_basis: str
    nodal_officer: str
    due_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class RecordTakedownOutcome:
    """The platform's answer to a takedown request: taken down (confirmed) or refused."""

    ACTION: ClassVar[Action | None] = Action.RECORD_TAKEDOWN_OUTCOME
    STATE_CHANGE: ClassVar[bool] = False  # one answer per request: a second is refused
    request_id: uuid.UUID
    confirmed: bool
    platform_reference: str | None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class PublishFactCheck:
    ACTION: ClassVar[Action | None] = Action.PUBLISH_FACT_CHECK
    STATE_CHANGE: ClassVar[bool] = False
    fact_check_id: uuid.UUID
    url: str
    text_en: str
    text_hi: str


@dataclass(frozen=True, slots=True)
class RecordSourceAction:
    ACTION: ClassVar[Action | None] = Action.RECORD_SOURCE_ACTION
    STATE_CHANGE: ClassVar[bool] = False
    action_id: uuid.UUID
    fir_number: str
    sections: tuple[str, ...]
    police_station: str | None = None


Command = (
    OpenCase
    | Assign
    | Acknowledge
    | AddNote
    | FileFieldReport
    | RecordSeizure
    | Escalate
    | Share
    | RevokeShare
    | RequestTransfer
    | WithdrawTransfer
    | AcceptTransfer
    | RefuseTransfer
    | Close
    | Reopen
    | AttachReport
    | LinkCase
    | UnlinkReport
    | FireTimer
    | HitWatchlist
    | RequestTakedown
    | RecordTakedownOutcome
    | PublishFactCheck
    | RecordSourceAction
)

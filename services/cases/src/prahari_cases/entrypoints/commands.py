"""One HTTP path per command: the table that routes them, builds their commands from the
checked bodies and documents them in the OpenAPI document."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from marshmallow import Schema

from prahari_cases.domain import commands as cmd
from prahari_cases.domain.events import Attachment
from prahari_cases.entrypoints import schemas as s
from prahari_cases.service_layer.commands import AssignTo, Request
from prahari_events.errors import InvalidInput, Unprocessable
from prahari_events.lgd import Directory
from prahari_events.policy import Area

NewId = Callable[[], uuid.UUID]
Build = Callable[[dict[str, Any], Mapping[str, str], NewId], Request]


@dataclass(frozen=True, slots=True)
class Endpoint:
    method: str
    path: str  # below /v1/cases/{case_id}
    schema: Schema
    request: type[Request]
    build: Build
    summary: str
    who: str
    event: str
    body_optional: bool = False

    @property
    def state_change(self) -> bool:
        """Needs If-Match: the command's own word, so the document cannot disagree."""
        return self.request.STATE_CHANGE


def _area(data: dict[str, Any], places: Directory) -> Area:
    problems = places.problems(data["state"], data.get("district"))
    if problems:
        raise Unprocessable("unknown state or district", fields=problems)
    return Area(data["state"], data.get("district"))


def _revoked_state(path: Mapping[str, str]) -> int:
    text = path["state"]
    # As the document says: an integer from 1 to 99999 (an LGD code's range).
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= 99_999:
        raise InvalidInput("not a state code", fields={"state": ["an LGD state code"]})
    return int(text)


def _path_id(path: Mapping[str, str], name: str) -> uuid.UUID:
    try:
        return uuid.UUID(path[name])
    except ValueError:
        raise InvalidInput(f"not a {name}", fields={name: ["a UUID"]}) from None


def _outcome(d: dict[str, Any], p: Mapping[str, str]) -> cmd.RecordTakedownOutcome:
    return cmd.RecordTakedownOutcome(
        _path_id(p, "request_id"), d["outcome"] == "confirmed", d["platform_reference"], d["reason"]
    )


def endpoints(places: Directory) -> list[Endpoint]:
    return [
        Endpoint(
            "POST",
            "/assignment",
            s.AssignmentRequest(),
            AssignTo,
            lambda d, _p, _i: AssignTo(d["unit_id"], d["note"]),
            "Assign the case to a unit of the owner's state (re-assign until closed)",
            "owner",
            "case.assigned",
        ),
        Endpoint(
            "POST",
            "/acknowledgement",
            s.Empty(),
            cmd.Acknowledge,
            lambda _d, _p, _i: cmd.Acknowledge(),
            "The assigned unit acknowledges the case",
            "the assigned unit",
            "case.acknowledged",
            body_optional=True,
        ),
        Endpoint(
            "POST",
            "/notes",
            s.NoteRequest(),
            cmd.AddNote,
            lambda d, _p, new_id: cmd.AddNote(
                new_id(),
                d["text"],
                tuple(
                    Attachment(a["sha256"], a["media_type"], a["size"]) for a in d["attachments"]
                ),
            ),
            "Add a note, with references to attachments",
            "owner, assignee, sharing partner",
            "case.note_added",
        ),
        Endpoint(
            "POST",
            "/field-report",
            s.FieldReportRequest(),
            cmd.FileFieldReport,
            lambda d, _p, _i: cmd.FileFieldReport(d["findings"], d["action_taken"]),
            "File the field report",
            "the assigned unit",
            "case.field_report_filed",
        ),
        Endpoint(
            "POST",
            "/seizures",
            s.SeizureRequest(),
            cmd.RecordSeizure,
            lambda d, _p, new_id: cmd.RecordSeizure(
                new_id(),
                d["category"],
                d["quantity"],
                d["unit"],
                d["value_inr"],
                d["agency"],
                d["fir_number"],
                d["police_station"],
                d["same_as"],
            ),
            "Record a seizure (the Election Commission's categories and units)",
            "owner, assignee, sharing partner",
            "case.seizure_recorded",
        ),
        Endpoint(
            "POST",
            "/escalation",
            s.ReasonRequest(),
            cmd.Escalate,
            lambda d, _p, _i: cmd.Escalate(d["reason"]),
            "Escalate from the district to the state level (adds notifications, not access)",
            "owner",
            "case.escalated",
        ),
        Endpoint(
            "POST",
            "/shares",
            s.ShareRequest(),
            cmd.Share,
            lambda d, _p, _i: cmd.Share(_area(d, places), d["reason"]),
            "Share with another state's (or district's) control rooms",
            "owner",
            "case.shared",
        ),
        Endpoint(
            "DELETE",
            "/shares/{state}",
            s.Empty(),
            cmd.RevokeShare,
            lambda _d, p, _i: cmd.RevokeShare(_revoked_state(p)),
            "Stop sharing with a state",
            "owner",
            "case.share_revoked",
            body_optional=True,
        ),
        Endpoint(
            "POST",
            "/transfer",
            s.TransferRequest(),
            cmd.RequestTransfer,
            lambda d, _p, _i: cmd.RequestTransfer(_area(d, places), d["reason"]),
            "Ask another district or state to take the case over",
            "owner",
            "case.transfer_requested",
        ),
        Endpoint(
            "POST",
            "/transfer/withdrawal",
            s.OptionalReasonRequest(),
            cmd.WithdrawTransfer,
            lambda d, _p, _i: cmd.WithdrawTransfer(d["reason"]),
            "Withdraw a pending transfer",
            "owner",
            "case.transfer_withdrawn",
            body_optional=True,
        ),
        Endpoint(
            "POST",
            "/transfer/acceptance",
            s.Empty(),
            cmd.AcceptTransfer,
            lambda _d, _p, _i: cmd.AcceptTransfer(),
            "Accept a transfer: ownership and jurisdiction move; the old owner keeps reading",
            "the receiving control room",
            "case.transferred",
            body_optional=True,
        ),
        Endpoint(
            "POST",
            "/transfer/refusal",
            s.ReasonRequest(),
            cmd.RefuseTransfer,
            lambda d, _p, _i: cmd.RefuseTransfer(d["reason"]),
            "Refuse a transfer",
            "the receiving control room",
            "case.transfer_refused",
        ),
        Endpoint(
            "POST",
            "/closure",
            s.ClosureRequest(),
            cmd.Close,
            lambda d, _p, _i: cmd.Close(d["disposition"], d["summary"], d["duplicate_of"]),
            "Close the case with a disposition",
            "owner",
            "case.closed",
        ),
        Endpoint(
            "POST",
            "/unlinking",
            s.UnlinkRequest(),
            cmd.UnlinkReport,
            lambda d, _p, _i: cmd.UnlinkReport(d["report_id"], d["reason"]),
            "Undo a wrong attachment: the report leaves, and opens a case of its own",
            "owner",
            "case.report_unlinked",
        ),
        Endpoint(
            "POST",
            "/takedown-requests",
            s.TakedownRequest(),
            cmd.RequestTakedown,
            lambda d, _p, new_id: cmd.RequestTakedown(
                new_id(),
                d["platform"],
                d["url"],
                d["legal_basis"],
                d["nodal_officer"],
                d["deadline"],
            ),
            "A rumour case: ask a platform to take a post down (its deadline runs as an SLA)",
            "owner",
            "case.takedown_requested",
        ),
        Endpoint(
            "POST",
            "/takedown-requests/{request_id}/outcome",
            s.TakedownOutcomeRequest(),
            cmd.RecordTakedownOutcome,
            lambda d, p, _i: _outcome(d, p),
            "The platform's answer to a takedown request: confirmed or refused",
            "owner",
            "case.takedown_confirmed, case.takedown_refused",
        ),
        Endpoint(
            "POST",
            "/fact-checks",
            s.FactCheckRequest(),
            cmd.PublishFactCheck,
            lambda d, _p, new_id: cmd.PublishFactCheck(
                new_id(), d["url"], d["text_en"], d["text_hi"]
            ),
            "A rumour case: the fact-check published, in English and Hindi",
            "owner",
            "case.fact_check_published",
        ),
        Endpoint(
            "POST",
            "/source-actions",
            s.SourceActionRequest(),
            cmd.RecordSourceAction,
            lambda d, _p, new_id: cmd.RecordSourceAction(
                new_id(), d["fir_number"], tuple(d["sections"]), d["police_station"]
            ),
            "A rumour case: action against its source (the FIR and its sections)",
            "owner, assignee",
            "case.source_action_taken",
        ),
        Endpoint(
            "POST",
            "/reopening",
            s.ReasonRequest(),
            cmd.Reopen,
            lambda d, _p, _i: cmd.Reopen(d["reason"]),
            "Reopen a closed case",
            "owner",
            "case.reopened",
        ),
    ]

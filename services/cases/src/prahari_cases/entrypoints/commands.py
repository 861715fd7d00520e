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
from prahari_events.errors import InvalidInput
from prahari_events.lgd import Directory
from prahari_events.policy import Area

NewId = Callable[[], uuid.UUID]
Build = Callable[[dict[str, Any], Mapping[str, str], NewId], Request]


@dataclass(frozen=True, slots=True)
class Endpoint:
    method: str
    path: str  # below /v1/cases/{case_id}
    schema: Schema
    build: Build
    summary: str
    who: str
    event: str
    state_change: bool
    body_optional: bool = False


def _area(data: dict[str, Any], places: Directory) -> Area:
    problems = places.problems(data["state"], data.get("district"))
    if problems:
        raise InvalidInput("unknown state or district", fields=problems)
    return Area(data["state"], data.get("district"))


def _revoked_state(path: Mapping[str, str]) -> int:
    text = path["state"]
    if not text.isdigit() or len(text) > 5:
        raise InvalidInput("not a state code", fields={"state": ["an LGD state code"]})
    return int(text)


def endpoints(places: Directory) -> list[Endpoint]:
    return [
        Endpoint(
            "POST",
            "/assignment",
            s.AssignmentRequest(),
            lambda d, _p, _i: AssignTo(d["unit_id"], d["note"]),
            "Assign the case to a unit of the owner's state (re-assign until closed)",
            "owner",
            "case.assigned",
            state_change=True,
        ),
        Endpoint(
            "POST",
            "/acknowledgement",
            s.Empty(),
            lambda _d, _p, _i: cmd.Acknowledge(),
            "The assigned unit acknowledges the case",
            "the assigned unit",
            "case.acknowledged",
            state_change=True,
            body_optional=True,
        ),
        Endpoint(
            "POST",
            "/notes",
            s.NoteRequest(),
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
            state_change=False,
        ),
        Endpoint(
            "POST",
            "/field-report",
            s.FieldReportRequest(),
            lambda d, _p, _i: cmd.FileFieldReport(d["findings"], d["action_taken"]),
            "File the field report",
            "the assigned unit",
            "case.field_report_filed",
            state_change=True,
        ),
        Endpoint(
            "POST",
            "/seizures",
            s.SeizureRequest(),
            lambda d, _p, new_id: cmd.RecordSeizure(
                new_id(),
                d["category"],
                d["quantity"],
                d["unit"],
                d["value_inr"],
                d["agency"],
                d["fir_number"],
                d["police_station"],
            ),
            "Record a seizure (the Election Commission's categories and units)",
            "owner, assignee, sharing partner",
            "case.seizure_recorded",
            state_change=False,
        ),
        Endpoint(
            "POST",
            "/escalation",
            s.ReasonRequest(),
            lambda d, _p, _i: cmd.Escalate(d["reason"]),
            "Escalate from the district to the state level (adds notifications, not access)",
            "owner",
            "case.escalated",
            state_change=True,
        ),
        Endpoint(
            "POST",
            "/shares",
            s.ShareRequest(),
            lambda d, _p, _i: cmd.Share(_area(d, places), d["reason"]),
            "Share with another state's (or district's) control rooms",
            "owner",
            "case.shared",
            state_change=True,
        ),
        Endpoint(
            "DELETE",
            "/shares/{state}",
            s.Empty(),
            lambda _d, p, _i: cmd.RevokeShare(_revoked_state(p)),
            "Stop sharing with a state",
            "owner",
            "case.share_revoked",
            state_change=True,
            body_optional=True,
        ),
        Endpoint(
            "POST",
            "/transfer",
            s.TransferRequest(),
            lambda d, _p, _i: cmd.RequestTransfer(_area(d, places), d["reason"]),
            "Ask another district or state to take the case over",
            "owner",
            "case.transfer_requested",
            state_change=True,
        ),
        Endpoint(
            "POST",
            "/transfer/withdrawal",
            s.OptionalReasonRequest(),
            lambda d, _p, _i: cmd.WithdrawTransfer(d["reason"]),
            "Withdraw a pending transfer",
            "owner",
            "case.transfer_withdrawn",
            state_change=True,
            body_optional=True,
        ),
        Endpoint(
            "POST",
            "/transfer/acceptance",
            s.Empty(),
            lambda _d, _p, _i: cmd.AcceptTransfer(),
            "Accept a transfer: ownership and jurisdiction move; the old owner keeps reading",
            "the receiving control room",
            "case.transferred",
            state_change=True,
            body_optional=True,
        ),
        Endpoint(
            "POST",
            "/transfer/refusal",
            s.ReasonRequest(),
            lambda d, _p, _i: cmd.RefuseTransfer(d["reason"]),
            "Refuse a transfer",
            "the receiving control room",
            "case.transfer_refused",
            state_change=True,
        ),
        Endpoint(
            "POST",
            "/closure",
            s.ClosureRequest(),
            lambda d, _p, _i: cmd.Close(d["disposition"], d["summary"], d["duplicate_of"]),
            "Close the case with a disposition",
            "owner",
            "case.closed",
            state_change=True,
        ),
        Endpoint(
            "POST",
            "/reopening",
            s.ReasonRequest(),
            lambda d, _p, _i: cmd.Reopen(d["reason"]),
            "Reopen a closed case",
            "owner",
            "case.reopened",
            state_change=True,
        ),
    ]

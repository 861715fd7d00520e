"""The public JSON contract of cases' HTTP API: command bodies, list queries and answers.
Unknown fields are refused, not dropped. The OpenAPI document is generated from these."""

from __future__ import annotations

import re
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from prahari_cases.domain.tallies import DIMENSIONS
from prahari_events.catalogue import (
    AGENCIES,
    COMMODITIES,
    DISPOSITIONS,
    ESCALATION_LEVELS,
    LEGAL_BASES,
    PLATFORMS,
    REPORT_TYPES,
    SEIZURE_UNITS,
    THREAD_KINDS,
    WATCHLIST_KINDS,
)
from prahari_events.web import HTTP_URL, Day, Moment, Rule, WholeNumber

STATUSES = ("open", "assigned", "acknowledged", "reported", "closed")
LGD_CODE = validate.Range(min=1, max=99_999)
_TEXT = validate.Length(min=1, max=5000)
_REASON = validate.Length(min=1, max=2000)


class Strict(Schema):
    class Meta:
        unknown = RAISE


def _state(*, strict: bool = True, **kwargs: Any) -> fields.Integer:
    kwargs.setdefault("metadata", {"description": "LGD state code"})
    return (WholeNumber if strict else fields.Integer)(validate=LGD_CODE, **kwargs)


def _district(*, strict: bool = True, **kwargs: Any) -> fields.Integer:
    """strict: in a JSON body a number must be a number; a query string is all text."""
    kwargs.setdefault("metadata", {"description": "LGD district code"})
    return (WholeNumber if strict else fields.Integer)(validate=LGD_CODE, **kwargs)


class AssignmentRequest(Strict):
    unit_id = fields.String(
        required=True,
        validate=validate.Length(min=1, max=128),
        metadata={"description": "a unit of the case owner's state, e.g. UP-SON-FS-1"},
    )
    note = fields.String(load_default=None, validate=_REASON)


class Empty(Strict):
    """No fields: the command says it all. An empty body or {} both do."""


class Attachment(Strict):
    sha256 = fields.String(
        required=True,
        validate=validate.Regexp(r"^[0-9a-f]{64}$", error="a SHA-256 in lower-case hex"),
    )
    media_type = fields.String(
        required=True,
        validate=validate.Regexp(r"^[a-z]+/[a-z0-9.+-]+$", error="a media type, e.g. image/jpeg"),
    )
    size = WholeNumber(required=True, validate=validate.Range(min=0, max=10**12))


class NoteRequest(Strict):
    text = fields.String(
        required=True, validate=_TEXT, metadata={"description": "Hindi or English"}
    )
    attachments = fields.List(
        fields.Nested(Attachment),
        load_default=list,
        validate=validate.Length(max=20),
        metadata={"description": "references to evidence kept elsewhere; never the bytes"},
    )


class FieldReportRequest(Strict):
    findings = fields.String(required=True, validate=_TEXT)
    action_taken = fields.String(required=True, validate=_TEXT)


class SeizureRequest(Strict):
    category = fields.String(required=True, validate=validate.OneOf(COMMODITIES))
    quantity = fields.Float(
        required=True,
        allow_nan=False,
        validate=validate.Range(min=0, min_inclusive=False),
        metadata={"exclusiveMinimum": 0},  # apispec drops min_inclusive
    )
    unit = fields.String(
        required=True,
        validate=validate.OneOf(sorted(set(SEIZURE_UNITS.values()))),
        metadata={"description": "the category's unit: liquor in litres, drugs in kg, ..."},
    )
    value_inr = WholeNumber(required=True, validate=validate.Range(min=0, max=10**13))
    agency = fields.String(required=True, validate=validate.OneOf(AGENCIES))
    fir_number = fields.String(load_default=None, validate=validate.Length(min=1, max=50))
    police_station = fields.String(load_default=None, validate=validate.Length(min=1, max=200))
    same_as = fields.UUID(
        load_default=None,
        metadata={
            "description": "the seizure this is, if recorded before: a seizure report's id or"
            " another record's seizure_id (counted once in the tallies)"
        },
    )

    @validates_schema
    def _unit_fits_category(self, data: dict[str, Any], **_: Any) -> None:
        expected = SEIZURE_UNITS.get(data.get("category", ""))
        if expected and data.get("unit") != expected:
            raise ValidationError(Rule(f"{data['category']} is counted in {expected}"), "unit")


class ReasonRequest(Strict):
    reason = fields.String(required=True, validate=_REASON)


class OptionalReasonRequest(Strict):
    reason = fields.String(load_default=None, validate=_REASON)


class ShareRequest(Strict):
    state = _state(required=True)
    district = _district(
        load_default=None,
        metadata={"description": "only this district's control room (and the state's)"},
    )
    reason = fields.String(required=True, validate=_REASON)


def _url(description: str) -> fields.String:
    return fields.String(
        required=True,
        validate=[
            validate.Length(min=1, max=2048),
            validate.Regexp(HTTP_URL, error="an http or https URL"),
        ],
        metadata={"description": description},
    )


class TakedownRequest(Strict):
    platform = fields.String(required=True, validate=validate.OneOf(PLATFORMS))
    url = _url("the post to take down")
    legal_basis = fields.String(
        required=True,
        validate=validate.OneOf(LEGAL_BASES),
        metadata={"description": "IT Act s.69A (a blocking order) or s.79(3)(b) (notice)"},
    )
    nodal_officer = fields.String(
        required=True,
        validate=validate.Length(min=1, max=200),
        metadata={"description": "the state's nodal officer who sends the request"},
    )
    deadline = Moment(
        load_default=None,
        metadata={"description": "when the platform must answer by; default: the SLA's"},
    )


class TakedownOutcomeRequest(Strict):
    outcome = fields.String(required=True, validate=validate.OneOf(["confirmed", "refused"]))
    platform_reference = fields.String(
        load_default=None,
        validate=validate.Length(min=1, max=200),
        metadata={"description": "the platform's own reference; required when confirmed"},
    )
    reason = fields.String(
        load_default=None,
        validate=_REASON,
        metadata={"description": "why the platform refused; required when refused"},
    )

    @validates_schema
    def _says_enough(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("outcome") == "confirmed" and data.get("platform_reference") is None:
            raise ValidationError(
                Rule("required when the takedown is confirmed"), "platform_reference"
            )
        if data.get("outcome") == "refused" and data.get("reason") is None:
            raise ValidationError(Rule("required when the takedown is refused"), "reason")


class FactCheckRequest(Strict):
    url = _url("where the fact-check is published")
    text_en = fields.String(required=True, validate=_TEXT, metadata={"description": "English"})
    text_hi = fields.String(required=True, validate=_TEXT, metadata={"description": "Hindi"})


class SourceActionRequest(Strict):
    fir_number = fields.String(required=True, validate=validate.Length(min=1, max=50))
    sections = fields.List(
        fields.String(validate=validate.Length(min=1, max=100)),
        required=True,
        validate=validate.Length(min=1, max=20),
        metadata={"description": 'the sections invoked, e.g. "BNS 353", "IT Act 66"'},
    )
    police_station = fields.String(load_default=None, validate=validate.Length(min=1, max=200))


class TransferRequest(Strict):
    state = _state(required=True)
    district = _district(required=True)
    reason = fields.String(required=True, validate=_REASON)


class ClosureRequest(Strict):
    disposition = fields.String(required=True, validate=validate.OneOf(DISPOSITIONS))
    summary = fields.String(required=True, validate=_TEXT)
    duplicate_of = fields.UUID(
        load_default=None, metadata={"description": "required when the disposition is duplicate"}
    )

    @validates_schema
    def _duplicate_names_its_original(self, data: dict[str, Any], **_: Any) -> None:
        duplicate = data.get("disposition") == "duplicate"
        if duplicate and data.get("duplicate_of") is None:
            raise ValidationError(Rule("a duplicate names the case it duplicates"), "duplicate_of")
        if not duplicate and data.get("duplicate_of") is not None:
            raise ValidationError(Rule("only a duplicate names another case"), "duplicate_of")


class UnlinkRequest(Strict):
    report_id = fields.UUID(
        required=True, metadata={"description": "a report triage attached to this case"}
    )
    reason = fields.String(required=True, validate=_REASON)


class CaseListQuery(Strict):
    status = fields.String(load_default=None, validate=validate.OneOf(STATUSES))
    report_type = fields.String(load_default=None, validate=validate.OneOf(REPORT_TYPES))
    state = _state(strict=False, load_default=None)
    district = _district(strict=False, load_default=None)
    assigned_to = fields.String(
        load_default=None,
        validate=validate.Length(min=1, max=128),
        metadata={"description": "unit id of the assignee (a unit of the case's state)"},
    )
    shared_with_me = fields.Boolean(load_default=False)
    overdue = fields.Boolean(
        load_default=None,
        metadata={"description": "true: cases with a missed deadline whose stage is not done"},
    )
    opened_from = Moment(load_default=None)
    opened_to = Moment(load_default=None)
    q = fields.String(
        load_default=None,
        validate=validate.Length(min=1, max=200),
        metadata={"description": "words of the description, Hindi or English; prefixes match"},
    )
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    cursor = fields.String(
        load_default=None,
        validate=validate.Length(min=1, max=200),
        metadata={"description": "the `next` of the previous page"},
    )


class _MentionRef(Strict):
    state = _state(required=True)
    unit_id = fields.String(required=True, validate=validate.Length(min=1, max=128))


class MessageRequest(NoteRequest):
    """A note's text and attachment references, and the units it mentions."""

    mentions = fields.List(
        fields.Nested(_MentionRef),
        load_default=list,
        validate=validate.Length(max=20),
        metadata={"description": "units of the thread to tell at once, by SMS"},
    )


class MessagesQuery(Strict):
    after = fields.Integer(
        load_default=0,
        validate=validate.Range(min=0, max=2_000_000_000),
        metadata={"description": "the `next` of the previous page (a message's version)"},
    )
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    q = fields.String(
        load_default=None,
        validate=validate.Length(min=1, max=200),
        metadata={"description": "words of the messages, Hindi or English; prefixes match"},
    )


class ThreadSearchQuery(Strict):
    q = fields.String(
        required=True,
        validate=validate.Length(min=1, max=200),
        metadata={"description": "words of the messages, Hindi or English; prefixes match"},
    )
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


_DIMENSION = "(?:" + "|".join(DIMENSIONS) + ")"
GROUP_BY = f"^{_DIMENSION}(?:,{_DIMENSION}){{0,{len(DIMENSIONS) - 1}}}$"


class _GroupBy(fields.String):
    """A comma-separated subset of the tally's dimensions: category,state,district,day."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("metadata", {})["pattern"] = GROUP_BY
        super().__init__(**kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text: str = super()._deserialize(value, attr, data, **kwargs)
        if not re.fullmatch(GROUP_BY, text):
            raise ValidationError(f"a comma-separated subset of {', '.join(DIMENSIONS)}")
        names = text.split(",")
        if len(set(names)) != len(names):
            raise ValidationError(Rule("each dimension at most once"))
        return text


class SeizureStatsQuery(Strict):
    day_from = Day(load_default=None, data_key="from", metadata={"description": "first IST day"})
    day_to = Day(load_default=None, data_key="to", metadata={"description": "last IST day"})
    state = _state(strict=False, load_default=None)
    district = _district(strict=False, load_default=None)
    group_by = _GroupBy(
        load_default="category",
        metadata={"description": "category, state, district, day; comma-separated"},
    )


class AsOfQuery(Strict):
    as_of = Moment(
        load_default=None, metadata={"description": "the case as it stood at this moment"}
    )


# --- answers (documentation only: the handlers answer with the domain's JSON) ---------------


class _UnitJson(Schema):
    unit_id = fields.String(required=True)
    role = fields.String(required=True)
    kind = fields.String(required=True)
    state = fields.Integer(required=True, allow_none=True)
    district = fields.Integer(required=True, allow_none=True)
    issuer = fields.String(
        metadata={"description": "the token issuer that vouched for the unit, when one did"}
    )


class _AreaJson(Schema):
    state = fields.Integer(required=True)
    district = fields.Integer(required=True, allow_none=True)


class _AssigneeJson(Schema):
    state = fields.Integer(required=True)
    unit_id = fields.String(required=True)
    kind = fields.String(required=True)
    name = fields.String(required=True)


class _NoteJson(Schema):
    note_id = fields.UUID(required=True)
    text = fields.String(required=True)
    attachments = fields.List(fields.Nested(Attachment), required=True)
    by = fields.Nested(_UnitJson, required=True)
    at = fields.AwareDateTime(required=True)


class _SeizureJson(Schema):
    seizure_id = fields.UUID(required=True)
    category = fields.String(required=True)
    quantity = fields.Float(required=True)
    unit = fields.String(required=True)
    value_inr = fields.Integer(required=True)
    agency = fields.String(required=True)
    fir_number = fields.String(required=True, allow_none=True)
    police_station = fields.String(required=True, allow_none=True)
    same_as = fields.UUID(required=True, allow_none=True)
    by = fields.Nested(_UnitJson, required=True)
    at = fields.AwareDateTime(required=True)


class _FieldReportJson(Schema):
    findings = fields.String(required=True)
    action_taken = fields.String(required=True)
    by = fields.Nested(_UnitJson, required=True)
    at = fields.AwareDateTime(required=True)


class _ShareJson(Schema):
    state = fields.Integer(required=True)
    district = fields.Integer(required=True, allow_none=True)
    reason = fields.String(required=True)
    since = fields.AwareDateTime(required=True)


class _TransferJson(Schema):
    to = fields.Nested(_AreaJson, required=True)
    reason = fields.String(required=True)
    requested_at = fields.AwareDateTime(required=True)


class _ClosureJson(Schema):
    disposition = fields.String(required=True, validate=validate.OneOf(DISPOSITIONS))
    summary = fields.String(required=True)
    duplicate_of = fields.UUID(required=True, allow_none=True)
    at = fields.AwareDateTime(required=True)


class _IdentifierJson(Schema):
    kind = fields.String(required=True)
    value = fields.String(required=True)


class _SourceJson(Schema):
    thread_id = fields.UUID(required=True)
    message_id = fields.UUID(required=True)


class _LinkedReportJson(Schema):
    report_id = fields.UUID(required=True)
    identifiers = fields.List(fields.Nested(_IdentifierJson), required=True)
    report_type = fields.String(required=True, validate=validate.OneOf(REPORT_TYPES))
    description = fields.String(required=True)
    state = fields.Integer(required=True)
    district = fields.Integer(required=True)
    reported_by = fields.Nested(_UnitJson, required=True)
    reported_at = fields.AwareDateTime(required=True)
    estimated_reach = fields.Integer(required=True, allow_none=True)
    source = fields.Nested(
        _SourceJson,
        required=True,
        allow_none=True,
        metadata={"description": "the thread message the report was made from"},
    )


class _LinkJson(Schema):
    case_id = fields.UUID(required=True)
    state = fields.Integer(required=True)
    identifier = fields.Nested(_IdentifierJson, required=True)


class _SlaJson(Schema):
    assign = fields.Float(required=True)
    acknowledge = fields.Float(required=True)
    field_report = fields.Float(required=True)
    close = fields.Float(required=True)
    takedown = fields.Float(required=True)
    fact_check = fields.Float(required=True)
    source_action = fields.Float(required=True)


class _DeadlinesJson(Schema):
    assign = fields.AwareDateTime()
    acknowledge = fields.AwareDateTime()
    field_report = fields.AwareDateTime()
    close = fields.AwareDateTime()
    takedown = fields.AwareDateTime(metadata={"description": "the earliest unanswered request's"})
    fact_check = fields.AwareDateTime(metadata={"description": "a rumour case's"})
    source_action = fields.AwareDateTime(metadata={"description": "a rumour case's"})


class _TakedownJson(Schema):
    request_id = fields.UUID(required=True)
    platform = fields.String(required=True, validate=validate.OneOf(PLATFORMS))
    url = fields.String(required=True)
    legal_basis = fields.String(required=True, validate=validate.OneOf(LEGAL_BASES))
    nodal_officer = fields.String(required=True)
    due_at = fields.AwareDateTime(required=True)
    by = fields.Nested(_UnitJson, required=True)
    at = fields.AwareDateTime(required=True)
    outcome = fields.String(
        required=True, allow_none=True, validate=validate.OneOf(["confirmed", "refused"])
    )
    platform_reference = fields.String(required=True, allow_none=True)
    reason = fields.String(required=True, allow_none=True)
    answered_at = fields.AwareDateTime(required=True, allow_none=True)


class _FactCheckJson(Schema):
    fact_check_id = fields.UUID(required=True)
    url = fields.String(required=True)
    text_en = fields.String(required=True)
    text_hi = fields.String(required=True)
    by = fields.Nested(_UnitJson, required=True)
    at = fields.AwareDateTime(required=True)


class _SourceActionJson(Schema):
    action_id = fields.UUID(required=True)
    fir_number = fields.String(required=True)
    sections = fields.List(fields.String(), required=True)
    police_station = fields.String(required=True, allow_none=True)
    by = fields.Nested(_UnitJson, required=True)
    at = fields.AwareDateTime(required=True)


class _BreachJson(Schema):
    stage = fields.String(required=True)
    due_at = fields.AwareDateTime(required=True)
    level = fields.String(required=True)
    at = fields.AwareDateTime(required=True)


class _RefJson(Schema):
    state = fields.Integer(required=True)
    unit_id = fields.String(required=True)


class _WatchlistHitJson(Schema):
    entry_id = fields.UUID(required=True)
    owner = fields.Nested(_RefJson, required=True)
    identifier = fields.Nested(_IdentifierJson, required=True)


class CaseJson(Schema):
    case_id = fields.UUID(required=True)
    version = fields.Integer(required=True, metadata={"description": "also the ETag"})
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    level = fields.String(required=True, validate=validate.OneOf(ESCALATION_LEVELS))
    report_id = fields.UUID(required=True)
    report_ids = fields.List(fields.UUID(), required=True)
    report_type = fields.String(required=True, validate=validate.OneOf(REPORT_TYPES))
    description = fields.String(required=True)
    state = fields.Integer(required=True, metadata={"description": "the owner's LGD state"})
    district = fields.Integer(required=True, metadata={"description": "the owner's district"})
    reported_by = fields.Nested(_UnitJson, required=True)
    opened_at = fields.AwareDateTime(required=True)
    updated_at = fields.AwareDateTime(required=True)
    assign_by = fields.AwareDateTime(required=True)
    decide_by = fields.AwareDateTime(required=True)
    correlation_id = fields.UUID(required=True)
    trace_id = fields.String(required=True, allow_none=True)
    assignee = fields.Nested(_AssigneeJson, required=True, allow_none=True)
    assigned_at = fields.AwareDateTime(required=True, allow_none=True)
    acknowledged_at = fields.AwareDateTime(required=True, allow_none=True)
    field_report = fields.Nested(_FieldReportJson, required=True, allow_none=True)
    notes = fields.List(fields.Nested(_NoteJson), required=True)
    seizures = fields.List(fields.Nested(_SeizureJson), required=True)
    shares = fields.List(fields.Nested(_ShareJson), required=True)
    former_owners = fields.List(fields.Nested(_AreaJson), required=True)
    transfer = fields.Nested(_TransferJson, required=True, allow_none=True)
    closure = fields.Nested(_ClosureJson, required=True, allow_none=True)
    identifiers = fields.List(fields.Nested(_IdentifierJson), required=True)
    estimated_reach = fields.Integer(required=True, allow_none=True)
    linked_reports = fields.List(
        fields.Nested(_LinkedReportJson),
        required=True,
        metadata={"description": "reports of the same event that triage attached"},
    )
    links = fields.List(
        fields.Nested(_LinkJson),
        required=True,
        metadata={"description": "other open cases sharing an identifier: id and state only"},
    )
    sla = fields.Nested(
        _SlaJson, required=True, metadata={"description": "seconds each stage may take"}
    )
    deadlines = fields.Nested(
        _DeadlinesJson, required=True, metadata={"description": "the running clocks"}
    )
    breaches = fields.List(fields.Nested(_BreachJson), required=True)
    overdue = fields.List(
        fields.String(), required=True, metadata={"description": "stages past their deadline"}
    )
    watchlist_hits = fields.List(
        fields.Nested(_WatchlistHitJson),
        required=True,
        metadata={
            "description": "watchlist entries the case names (their reasons stay with"
            " the watchlist)"
        },
    )
    source = fields.Nested(
        _SourceJson,
        required=True,
        allow_none=True,
        metadata={"description": "the thread message the case's report was made from"},
    )
    takedowns = fields.List(
        fields.Nested(_TakedownJson),
        required=True,
        metadata={"description": "a rumour case's takedown requests and their outcomes"},
    )
    fact_checks = fields.List(fields.Nested(_FactCheckJson), required=True)
    source_actions = fields.List(fields.Nested(_SourceActionJson), required=True)
    reports = fields.Integer(required=True, metadata={"description": "reports the case holds"})
    total_reach = fields.Integer(
        required=True, allow_none=True, metadata={"description": "their summed estimated reach"}
    )


class _SideJson(Schema):
    state = fields.Integer(required=True)
    district = fields.Integer(required=True)


class ThreadJson(Schema):
    thread_id = fields.UUID(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(THREAD_KINDS))
    title = fields.String(required=True)
    case_id = fields.UUID(
        required=True, allow_none=True, metadata={"description": "a case thread's case"}
    )
    sides = fields.List(
        fields.Nested(_SideJson),
        required=True,
        allow_none=True,
        metadata={"description": "a border thread's two districts"},
    )
    messages = fields.Integer(required=True)
    last_at = fields.AwareDateTime(required=True, allow_none=True)


class ThreadList(Schema):
    threads = fields.List(fields.Nested(ThreadJson), required=True)


class _MentionJson(Schema):
    state = fields.Integer(required=True)
    unit_id = fields.String(required=True)


class MessageJson(Schema):
    message_id = fields.UUID(required=True)
    thread_id = fields.UUID(required=True)
    version = fields.Integer(required=True, metadata={"description": "its place in the thread"})
    text = fields.String(required=True)
    attachments = fields.List(fields.Nested(Attachment), required=True)
    mentions = fields.List(fields.Nested(_MentionJson), required=True)
    by = fields.Nested(_UnitJson, required=True)
    at = fields.AwareDateTime(required=True)
    cases = fields.List(
        fields.UUID(),
        required=True,
        metadata={"description": "cases holding a report made from this message"},
    )


class MessagePage(Schema):
    thread = fields.Nested(ThreadJson, required=True)
    messages = fields.List(fields.Nested(MessageJson), required=True)
    next = fields.Integer(metadata={"description": "pass as `after` for the next page"})


class MessageList(Schema):
    messages = fields.List(fields.Nested(MessageJson), required=True)


class CaseList(Schema):
    cases = fields.List(fields.Nested(CaseJson), required=True)
    next = fields.String(metadata={"description": "the cursor of the next page, if any"})


class TimelineLine(Schema):
    version = fields.Integer(required=True)
    type = fields.String(required=True)
    at = fields.AwareDateTime(required=True)
    at_ist = fields.String(required=True, metadata={"example": "2024-04-11 18:05:12 IST"})
    who = fields.Nested(_UnitJson, required=True)
    unit = fields.String(required=True, metadata={"description": "the unit, as people name it"})
    what = fields.String(required=True)
    line = fields.String(required=True, metadata={"description": "when, who, what: one line"})


class Timeline(Schema):
    case_id = fields.UUID(required=True)
    timeline = fields.List(fields.Nested(TimelineLine), required=True)


class EventList(Schema):
    case_id = fields.UUID(required=True)
    events = fields.List(fields.Dict(), required=True)


class WatchlistRequest(Strict):
    kind = fields.String(required=True, validate=validate.OneOf(WATCHLIST_KINDS))
    value = fields.String(
        required=True,
        validate=validate.Length(min=1, max=300),
        metadata={"description": "a registration, a phone, platform:handle, or a name"},
    )
    reason = fields.String(required=True, validate=_REASON)
    expires_at = fields.AwareDateTime(required=True)


class WatchlistChange(Strict):
    reason = fields.String(load_default=None, validate=_REASON)
    expires_at = fields.AwareDateTime(load_default=None)


class WatchlistQuery(Strict):
    inactive = fields.Boolean(
        load_default=False, metadata={"description": "also removed and expired entries"}
    )


class WatchlistEntryJson(Schema):
    entry_id = fields.UUID(required=True)
    version = fields.Integer(required=True)
    kind = fields.String(required=True)
    value = fields.String(required=True)
    owner = fields.Nested(_RefJson, required=True)
    reason = fields.String(required=True)
    expires_at = fields.AwareDateTime(required=True)
    added_at = fields.AwareDateTime(required=True)
    removed = fields.Boolean(required=True)


class WatchlistJson(Schema):
    entries = fields.List(fields.Nested(WatchlistEntryJson), required=True)

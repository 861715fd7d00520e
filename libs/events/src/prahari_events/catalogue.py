"""The event catalogue: every event type that crosses a service boundary, its versions and
its upcasters. `docs/architecture.md` lists the same catalogue for people.

To change a payload: add a new schema version and an upcaster from the previous version;
never edit a schema whose events are already stored.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from prahari_events.registry import Registry

REPORT_TYPES = ("rumour", "smuggling_tip", "seizure", "intelligence", "incident")
CHANNELS = ("sms", "email")
# Seizure vocabulary (the Election Commission's ESMS): reports and cases record seizures in
# the same words, so a total never has to translate between them.
COMMODITIES = ("cash", "liquor", "drugs", "precious_metals", "freebies", "arms", "other")
# The unit each seizure category is counted in (ESMS: liquor in litres, drugs in kg).
SEIZURE_UNITS = {
    "cash": "inr",
    "liquor": "litres",
    "drugs": "kg",
    "precious_metals": "grams",
    "freebies": "count",
    "arms": "count",
    "other": "count",
}
AGENCIES = (
    "state_police",
    "excise",
    "income_tax",
    "rbi",
    "dri",
    "gst",
    "customs",
    "ed",
    "ncb",
    "rpf",
    "cisf",
    "ssb",
    "bsf",
    "forest",
    "flying_squad",
    "static_surveillance_team",
    "other",
)
ESCALATION_LEVELS = ("district", "state")
# Where a rumour was posted (reports, takedown requests).
PLATFORMS = (
    "whatsapp",
    "facebook",
    "x",
    "instagram",
    "youtube",
    "telegram",
    "sharechat",
    "koo",
    "other",
)
# The legal route of a takedown: a blocking order through the state's nodal officer (IT Act
# s.69A), or notice to the platform that loses its safe harbour if it does not act (s.79(3)(b)).
LEGAL_BASES = ("it_act_69a", "it_act_79_3_b")
THREAD_KINDS = ("border", "case")
DISPOSITIONS = (
    "action_taken",
    "fir_registered",
    "seizure_made",
    "dropped_false",
    "dropped_no_evidence",
    "duplicate",
    "referred",
)

REPORT_RECEIVED = "report.received"
CASE_OPENED = "case.opened"
CASE_ASSIGNED = "case.assigned"
CASE_ACKNOWLEDGED = "case.acknowledged"
CASE_NOTE_ADDED = "case.note_added"
CASE_FIELD_REPORT_FILED = "case.field_report_filed"
CASE_SEIZURE_RECORDED = "case.seizure_recorded"
CASE_ESCALATED = "case.escalated"
CASE_SHARED = "case.shared"
CASE_SHARE_REVOKED = "case.share_revoked"
CASE_TRANSFER_REQUESTED = "case.transfer_requested"
CASE_TRANSFER_WITHDRAWN = "case.transfer_withdrawn"
CASE_TRANSFERRED = "case.transferred"
CASE_TRANSFER_REFUSED = "case.transfer_refused"
CASE_CLOSED = "case.closed"
CASE_REOPENED = "case.reopened"
CASE_REPORT_LINKED = "case.report_linked"
CASE_LINKED = "case.linked"
CASE_REPORT_UNLINKED = "case.report_unlinked"
CASE_SLA_BREACHED = "case.sla_breached"
CASE_WATCHLIST_HIT = "case.watchlist_hit"
CASE_TAKEDOWN_REQUESTED = "case.takedown_requested"
CASE_TAKEDOWN_CONFIRMED = "case.takedown_confirmed"
CASE_TAKEDOWN_REFUSED = "case.takedown_refused"
CASE_FACT_CHECK_PUBLISHED = "case.fact_check_published"
CASE_SOURCE_ACTION_TAKEN = "case.source_action_taken"
THREAD_MESSAGE_POSTED = "thread.message_posted"
# Published on a partner state's feed only (prahari.share.<state>), never stored in a stream.
CASE_SNAPSHOT = "case.snapshot"
SNAPSHOT_REASONS = ("shared", "transfer")
WATCHLIST_ENTRY_ADDED = "watchlist.entry_added"
WATCHLIST_ENTRY_CHANGED = "watchlist.entry_changed"
WATCHLIST_ENTRY_REMOVED = "watchlist.entry_removed"
WATCHLIST_KINDS = ("vehicle", "phone", "handle", "person")
SLA_STAGES = ("assign", "acknowledge", "field_report", "close")
# A rumour case's response stages (case.sla_breached v2 and case.opened v3 name them).
RESPONSE_STAGES = ("takedown", "fact_check", "source_action")
RESPONSE_SLA = {"takedown": 129600, "fact_check": 21600, "source_action": 259200}
# The cVIGIL budget in seconds, for cases opened before durations were recorded with them.
CVIGIL_SLA = {"assign": 300, "acknowledge": 900, "field_report": 1800, "close": 6000}
IDENTIFIER_KINDS = ("vehicle", "phone", "url", "media", "handle", "rumour", "person")
NOTIFICATION_QUEUED = "notification.queued"
NOTIFICATION_SENT = "notification.sent"
NOTIFICATION_FAILED = "notification.failed"
NOTIFICATION_ATTEMPT_FAILED = "notification.attempt_failed"
NOTIFICATION_DELIVERED = "notification.delivered"
NOTIFICATION_EXPIRED = "notification.expired"
NOTIFICATION_UNDELIVERABLE = "notification.undeliverable"
# Intake asks notify to answer an SMS it received: every outbound SMS leaves through notify.
SMS_REPLY_REQUESTED = "sms.reply_requested"
NOTIFICATION_STATES = ("queued", "sent", "delivered", "failed", "expired")

# Which service produces each family of events: the CloudEvents `source` of its messages.
PRODUCERS = {
    "report": "intake",
    "sms": "intake",
    "case": "cases",
    "watchlist": "cases",
    "thread": "cases",
    "notification": "notify",
}


def source_of(event_type: str) -> str:
    """`/prahari/<service>`, the CloudEvents source of an event type."""
    return f"/prahari/{PRODUCERS.get(event_type.split('.', 1)[0], 'unknown')}"


def dataschema_of(event_type: str, version: int) -> str:
    """The URI naming an event type's schema at a version (docs/versioning.md)."""
    return f"urn:prahari:event:{event_type}:v{version}"


class _UnitSchema(Schema):
    unit_id = fields.String(required=True)
    role = fields.String(required=True)
    kind = fields.String(required=True)
    state = fields.Integer(required=True, allow_none=True)
    district = fields.Integer(required=True, allow_none=True)


class ReportReceivedV1(Schema):
    report_id = fields.UUID(required=True)
    report_type = fields.String(required=True, validate=validate.OneOf(REPORT_TYPES))
    description = fields.String(required=True, validate=validate.Length(min=1, max=5000))
    state = fields.Integer(required=True)
    district = fields.Integer(required=True)
    occurred_at = fields.AwareDateTime(required=True, allow_none=True)
    details = fields.Dict(keys=fields.String(), required=True)


class _SourceSchema(Schema):
    """The message in a thread a report was made from."""

    thread_id = fields.UUID(required=True)
    message_id = fields.UUID(required=True)


class ReportReceivedV2(ReportReceivedV1):
    """v2: the thread message the report was made from, if any."""

    source = fields.Nested(_SourceSchema, required=True, allow_none=True)


def report_received_v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    return {**payload, "source": None}


class CaseOpenedV1(Schema):
    case_id = fields.UUID(required=True)
    report_id = fields.UUID(required=True)
    report_type = fields.String(required=True, validate=validate.OneOf(REPORT_TYPES))
    description = fields.String(required=True)
    state = fields.Integer(required=True)
    district = fields.Integer(required=True)
    reported_by = fields.Nested(_UnitSchema, required=True)
    reported_at = fields.AwareDateTime(required=True)
    # The cVIGIL time budget: assign within 5 minutes, decide within 100.
    assign_by = fields.AwareDateTime(required=True)
    decide_by = fields.AwareDateTime(required=True)


class _UnitRefSchema(Schema):
    """A unit as the directory names it: unit ids are unique within a state only."""

    state = fields.Integer(required=True)
    unit_id = fields.String(required=True, validate=validate.Length(min=1, max=128))


class _AssigneeSchema(_UnitRefSchema):
    kind = fields.String(required=True)
    name = fields.String(required=True)


class _AreaSchema(Schema):
    state = fields.Integer(required=True)
    district = fields.Integer(required=True, allow_none=True)


class _AttachmentSchema(Schema):
    sha256 = fields.String(required=True, validate=validate.Regexp(r"^[0-9a-f]{64}$"))
    media_type = fields.String(required=True, validate=validate.Length(min=3, max=127))
    size = fields.Integer(required=True, validate=validate.Range(min=0))


class CaseAssignedV1(Schema):
    case_id = fields.UUID(required=True)
    assignee = fields.Nested(_AssigneeSchema, required=True)
    note = fields.String(required=True, allow_none=True)


class CaseAcknowledgedV1(Schema):
    case_id = fields.UUID(required=True)
    assignee = fields.Nested(_UnitRefSchema, required=True)


class CaseNoteAddedV1(Schema):
    case_id = fields.UUID(required=True)
    note_id = fields.UUID(required=True)
    text = fields.String(required=True, validate=validate.Length(min=1))
    attachments = fields.List(fields.Nested(_AttachmentSchema), required=True)


class CaseFieldReportFiledV1(Schema):
    case_id = fields.UUID(required=True)
    findings = fields.String(required=True, validate=validate.Length(min=1))
    action_taken = fields.String(required=True, validate=validate.Length(min=1))


class CaseSeizureRecordedV1(Schema):
    case_id = fields.UUID(required=True)
    seizure_id = fields.UUID(required=True)
    category = fields.String(required=True, validate=validate.OneOf(COMMODITIES))
    quantity = fields.Float(required=True, allow_nan=False)
    unit = fields.String(
        required=True, validate=validate.OneOf(sorted(set(SEIZURE_UNITS.values())))
    )
    value_inr = fields.Integer(required=True, validate=validate.Range(min=0))
    agency = fields.String(required=True, validate=validate.OneOf(AGENCIES))
    fir_number = fields.String(required=True, allow_none=True)
    police_station = fields.String(required=True, allow_none=True)


class CaseSeizureRecordedV2(CaseSeizureRecordedV1):
    # The seizure this record is, recorded before (a report id or another seizure id): so
    # that one seizure recorded by two agencies, or reported and then recorded, counts once.
    same_as = fields.UUID(required=True, allow_none=True)


def case_seizure_recorded_v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    return {**payload, "same_as": None}


class CaseEscalatedV1(Schema):
    case_id = fields.UUID(required=True)
    from_level = fields.String(required=True, validate=validate.OneOf(ESCALATION_LEVELS))
    to_level = fields.String(required=True, validate=validate.OneOf(ESCALATION_LEVELS))
    reason = fields.String(required=True, validate=validate.Length(min=1))


class CaseSharedV1(Schema):
    case_id = fields.UUID(required=True)
    partner = fields.Nested(_AreaSchema, required=True)
    reason = fields.String(required=True, validate=validate.Length(min=1))


class CaseShareRevokedV1(Schema):
    case_id = fields.UUID(required=True)
    partner = fields.Nested(_AreaSchema, required=True)


class CaseTransferRequestedV1(Schema):
    case_id = fields.UUID(required=True)
    to = fields.Nested(_AreaSchema, required=True)
    reason = fields.String(required=True, validate=validate.Length(min=1))


class CaseTransferWithdrawnV1(Schema):
    case_id = fields.UUID(required=True)
    to = fields.Nested(_AreaSchema, required=True)
    reason = fields.String(required=True, allow_none=True)


class CaseTransferredV1(Schema):
    case_id = fields.UUID(required=True)
    origin = fields.Nested(_AreaSchema, required=True, data_key="from")
    to = fields.Nested(_AreaSchema, required=True)


class CaseTransferRefusedV1(Schema):
    case_id = fields.UUID(required=True)
    to = fields.Nested(_AreaSchema, required=True)
    reason = fields.String(required=True, validate=validate.Length(min=1))


class CaseClosedV1(Schema):
    case_id = fields.UUID(required=True)
    disposition = fields.String(required=True, validate=validate.OneOf(DISPOSITIONS))
    summary = fields.String(required=True, validate=validate.Length(min=1))
    duplicate_of = fields.UUID(required=True, allow_none=True)


class CaseReopenedV1(Schema):
    case_id = fields.UUID(required=True)
    reason = fields.String(required=True, validate=validate.Length(min=1))


class _IdentifierSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(IDENTIFIER_KINDS))
    value = fields.String(required=True, validate=validate.Length(min=1, max=2500))


class _SlaSchema(Schema):
    """Seconds each stage may take (see prahari_cases.domain.sla)."""

    assign = fields.Float(required=True, validate=validate.Range(min=0))
    acknowledge = fields.Float(required=True, validate=validate.Range(min=0))
    field_report = fields.Float(required=True, validate=validate.Range(min=0))
    close = fields.Float(required=True, validate=validate.Range(min=0))


class CaseOpenedV2(CaseOpenedV1):
    """v2: the identifiers triage took from the report, a rumour's estimated reach, and the
    service-level durations the case keeps for its life."""

    identifiers = fields.List(fields.Nested(_IdentifierSchema), required=True)
    estimated_reach = fields.Integer(required=True, allow_none=True)
    sla = fields.Nested(_SlaSchema, required=True)


def case_opened_v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    # Cases opened before triage took no identifiers and kept no reach; they ran on the
    # cVIGIL budget.
    return {**payload, "identifiers": [], "estimated_reach": None, "sla": dict(CVIGIL_SLA)}


class _SlaV3Schema(_SlaSchema):
    takedown = fields.Float(required=True, validate=validate.Range(min=0))
    fact_check = fields.Float(required=True, validate=validate.Range(min=0))
    source_action = fields.Float(required=True, validate=validate.Range(min=0))


class CaseOpenedV3(CaseOpenedV2):
    """v3: the durations of a rumour's response, and the thread message the report was made
    from (None for most)."""

    sla = fields.Nested(_SlaV3Schema, required=True)
    source = fields.Nested(_SourceSchema, required=True, allow_none=True)


def case_opened_v2_to_v3(payload: dict[str, Any]) -> dict[str, Any]:
    return {**payload, "sla": {**RESPONSE_SLA, **payload["sla"]}, "source": None}


class CaseSlaBreachedV1(Schema):
    """A stage's deadline passed without the event that ends it."""

    case_id = fields.UUID(required=True)
    stage = fields.String(required=True, validate=validate.OneOf(SLA_STAGES))
    due_at = fields.AwareDateTime(required=True)
    level = fields.String(required=True, validate=validate.OneOf(ESCALATION_LEVELS))


class CaseSlaBreachedV2(CaseSlaBreachedV1):
    """v2: a rumour response's stages can be breached too (same fields)."""

    stage = fields.String(required=True, validate=validate.OneOf(SLA_STAGES + RESPONSE_STAGES))


def case_sla_breached_v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    return dict(payload)  # v1's stages are all v2's


class CaseTakedownRequestedV1(Schema):
    """A rumour case asks a platform, through the state's nodal officer, to take a post down."""

    case_id = fields.UUID(required=True)
    request_id = fields.UUID(required=True)
    platform = fields.String(required=True, validate=validate.OneOf(PLATFORMS))
    url = fields.String(required=True, validate=validate.Length(min=1, max=2048))
    legal_basis = fields.String(required=True, validate=validate.OneOf(LEGAL_BASES))
    nodal_officer = fields.String(required=True, validate=validate.Length(min=1, max=200))
    due_at = fields.AwareDateTime(required=True)


class CaseTakedownConfirmedV1(Schema):
    case_id = fields.UUID(required=True)
    request_id = fields.UUID(required=True)
    platform_reference = fields.String(required=True, validate=validate.Length(min=1, max=200))


class CaseTakedownRefusedV1(Schema):
    case_id = fields.UUID(required=True)
    request_id = fields.UUID(required=True)
    platform_reference = fields.String(required=True, allow_none=True)
    reason = fields.String(required=True, validate=validate.Length(min=1))


class CaseFactCheckPublishedV1(Schema):
    """A published fact-check: where, and what it says in English and in Hindi."""

    case_id = fields.UUID(required=True)
    fact_check_id = fields.UUID(required=True)
    url = fields.String(required=True, validate=validate.Length(min=1, max=2048))
    text_en = fields.String(required=True, validate=validate.Length(min=1))
    text_hi = fields.String(required=True, validate=validate.Length(min=1))


class CaseSourceActionTakenV1(Schema):
    """Action against whoever spread the rumour: the FIR and its sections."""

    case_id = fields.UUID(required=True)
    action_id = fields.UUID(required=True)
    fir_number = fields.String(required=True, validate=validate.Length(min=1, max=50))
    sections = fields.List(
        fields.String(validate=validate.Length(min=1, max=100)),
        required=True,
        validate=validate.Length(min=1),
    )
    police_station = fields.String(required=True, allow_none=True)


class ThreadMessagePostedV1(Schema):
    """A message in a thread: a border pair's standing thread, or a case's. Members are
    units, not persons. `audience` is the control rooms' areas the thread had when the
    message was posted (whom notify digests it to); `mentions` are told at once."""

    thread_id = fields.UUID(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(THREAD_KINDS))
    message_id = fields.UUID(required=True)
    text = fields.String(required=True, validate=validate.Length(min=1))
    attachments = fields.List(fields.Nested(_AttachmentSchema), required=True)
    mentions = fields.List(fields.Nested(_UnitRefSchema), required=True)
    audience = fields.List(fields.Nested(_AreaSchema), required=True)
    case_id = fields.UUID(required=True, allow_none=True)


class _LinkedReportSchema(Schema):
    report_id = fields.UUID(required=True)
    report_type = fields.String(required=True, validate=validate.OneOf(REPORT_TYPES))
    description = fields.String(required=True)
    state = fields.Integer(required=True)
    district = fields.Integer(required=True)
    reported_by = fields.Nested(_UnitSchema, required=True)
    reported_at = fields.AwareDateTime(required=True)
    estimated_reach = fields.Integer(required=True, allow_none=True)
    identifiers = fields.List(fields.Nested(_IdentifierSchema), required=True)


class CaseReportLinkedV1(Schema):
    """A report of the same real-world event, attached to this case instead of opening one."""

    case_id = fields.UUID(required=True)
    report = fields.Nested(_LinkedReportSchema, required=True)
    matched = fields.Nested(_IdentifierSchema, required=True)


class _LinkedReportV2Schema(_LinkedReportSchema):
    source = fields.Nested(_SourceSchema, required=True, allow_none=True)


class CaseReportLinkedV2(CaseReportLinkedV1):
    """v2: the report's thread message, if it was made from one."""

    report = fields.Nested(_LinkedReportV2Schema, required=True)


def _report_without_source(payload: dict[str, Any]) -> dict[str, Any]:
    return {**payload, "report": {**payload["report"], "source": None}}


case_report_linked_v1_to_v2 = _report_without_source


class CaseReportUnlinkedV1(Schema):
    """A control room undid an attachment: the report leaves, and cases opens its own case
    from what this event carries."""

    case_id = fields.UUID(required=True)
    report = fields.Nested(_LinkedReportSchema, required=True)
    reason = fields.String(required=True, validate=validate.Length(min=1))


class CaseReportUnlinkedV2(CaseReportUnlinkedV1):
    """v2: the report's thread message, if it was made from one."""

    report = fields.Nested(_LinkedReportV2Schema, required=True)


case_report_unlinked_v1_to_v2 = _report_without_source


class CaseLinkedV1(Schema):
    """Another open case shares an identifier with this one (possibly in another state)."""

    case_id = fields.UUID(required=True)
    other_case_id = fields.UUID(required=True)
    other_state = fields.Integer(required=True)
    identifier = fields.Nested(_IdentifierSchema, required=True)


class CaseWatchlistHitV1(Schema):
    """A report or an open case names an identifier on a watchlist. The entry's reason is
    not here: it stays with the watchlist, for the owner's state and auditors."""

    case_id = fields.UUID(required=True)
    entry_id = fields.UUID(required=True)
    owner = fields.Nested(_UnitRefSchema, required=True)
    identifier = fields.Nested(_IdentifierSchema, required=True)


class CaseSnapshotV1(Schema):
    """The whole case as it stood when a partner state started to see it (a share, or a
    transfer offered to it): the object `GET /v1/cases/{id}` returns, at the version of the
    event that let the state in. Only on that state's feed, `prahari.share.<state>`; the
    feed's later events of the case apply on top of it.

    Its ce_id is derived from the event that let the state in, so a redelivered snapshot
    keeps its id."""

    case_id = fields.UUID(required=True)
    for_state = fields.Integer(required=True)
    reason = fields.String(required=True, validate=validate.OneOf(SNAPSHOT_REASONS))
    case = fields.Dict(required=True, metadata={"description": "as GET /v1/cases/{id}"})


class WatchlistEntryAddedV1(Schema):
    entry_id = fields.UUID(required=True)
    identifier = fields.Nested(_IdentifierSchema, required=True)
    owner = fields.Nested(_UnitRefSchema, required=True)
    reason = fields.String(required=True, validate=validate.Length(min=1))
    expires_at = fields.AwareDateTime(required=True)


class WatchlistEntryChangedV1(Schema):
    entry_id = fields.UUID(required=True)
    reason = fields.String(required=True, validate=validate.Length(min=1))
    expires_at = fields.AwareDateTime(required=True)


class WatchlistEntryRemovedV1(Schema):
    entry_id = fields.UUID(required=True)
    reason = fields.String(required=True, allow_none=True)


class _RecipientSchema(Schema):
    name = fields.String(required=True)
    address = fields.String(required=True)


class NotificationQueuedV1(Schema):
    notification_id = fields.UUID(required=True)
    case_id = fields.UUID(required=True)
    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    recipient = fields.Nested(_RecipientSchema, required=True)
    subject = fields.String(required=True, allow_none=True)
    body = fields.String(required=True)
    template_id = fields.String(required=True, allow_none=True)
    segments = fields.Integer(required=True, allow_none=True)


class NotificationSentV1(Schema):
    notification_id = fields.UUID(required=True)
    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    attempt = fields.Integer(required=True, validate=validate.Range(min=1))
    provider_reference = fields.String(required=True, allow_none=True)


class NotificationFailedV1(Schema):
    notification_id = fields.UUID(required=True)
    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    attempt = fields.Integer(required=True, validate=validate.Range(min=1))
    reason = fields.String(required=True)
    permanent = fields.Boolean(required=True)


class _RecipientV2Schema(_RecipientSchema):
    # The unit told, as the directory names it (None for a number that is not a unit's,
    # such as a reply to an SMS).
    state = fields.Integer(required=True, allow_none=True)
    unit_id = fields.String(required=True, allow_none=True)


class NotificationQueuedV2(Schema):
    """v2: what caused it (a case event, a reply, an expiry), by which template, for which
    unit, until when it is worth delivering, and how many events a digest stands for."""

    notification_id = fields.UUID(required=True)
    case_id = fields.UUID(required=True, allow_none=True)
    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    recipient = fields.Nested(_RecipientV2Schema, required=True)
    subject = fields.String(required=True, allow_none=True)
    body = fields.String(required=True)
    template_id = fields.String(required=True, allow_none=True)
    segments = fields.Integer(required=True, allow_none=True)
    cause = fields.String(required=True)
    template = fields.String(required=True)
    expires_at = fields.AwareDateTime(required=True, allow_none=True)
    digest_of = fields.Integer(required=True, allow_none=True)


def notification_queued_v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    # Before routing, notify told control rooms of opened cases only, and nothing expired.
    recipient = {**payload["recipient"], "state": None, "unit_id": None}
    return {
        **payload,
        "recipient": recipient,
        "cause": CASE_OPENED,
        "template": "case_opened",
        "expires_at": None,
        "digest_of": None,
    }


class NotificationSentV2(NotificationSentV1):
    provider = fields.String(required=True)


def notification_sent_v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    return {**payload, "provider": "primary"}


class NotificationAttemptFailedV1(Schema):
    """One attempt that did not end it: refused for now (`outcome` failed) or a timeout after
    sending (`unknown`: the provider may have it, so only that provider is asked again)."""

    notification_id = fields.UUID(required=True)
    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    attempt = fields.Integer(required=True, validate=validate.Range(min=1))
    provider = fields.String(required=True)
    outcome = fields.String(required=True, validate=validate.OneOf(["failed", "unknown"]))
    reason = fields.String(required=True)
    retry_at = fields.AwareDateTime(required=True)


class NotificationDeliveredV1(Schema):
    notification_id = fields.UUID(required=True)
    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    provider = fields.String(required=True)
    provider_reference = fields.String(required=True, allow_none=True)
    delivered_at = fields.AwareDateTime(required=True)


class NotificationExpiredV1(Schema):
    """Not delivered within its route's time to live; `escalated_to` is the alert sent to
    the next level's control room instead (None when there is no level above)."""

    notification_id = fields.UUID(required=True)
    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    expires_at = fields.AwareDateTime(required=True)
    state = fields.String(required=True, validate=validate.OneOf(NOTIFICATION_STATES))
    escalated_to = fields.List(fields.UUID(), required=True)


class NotificationUndeliverableV1(Schema):
    """A routing rule named a recipient that the unit directory cannot reach."""

    notification_id = fields.UUID(required=True)
    case_id = fields.UUID(required=True, allow_none=True)
    cause = fields.String(required=True)
    recipient = fields.String(required=True)
    reason = fields.String(required=True)


class SmsReplyRequestedV1(Schema):
    """Intake's answer to an SMS it received, by template name and values; notify renders
    and sends it."""

    message_id = fields.String(required=True, validate=validate.Length(min=1, max=100))
    to = fields.String(required=True)
    template = fields.String(required=True)
    values = fields.List(fields.String(), required=True)
    report_id = fields.UUID(required=True, allow_none=True)


def build_registry() -> Registry:
    registry = Registry()
    registry.register(
        REPORT_RECEIVED,
        {1: ReportReceivedV1, 2: ReportReceivedV2},
        {1: report_received_v1_to_v2},
    )
    registry.register(
        CASE_OPENED,
        {1: CaseOpenedV1, 2: CaseOpenedV2, 3: CaseOpenedV3},
        {1: case_opened_v1_to_v2, 2: case_opened_v2_to_v3},
    )
    registry.register(CASE_ASSIGNED, {1: CaseAssignedV1})
    registry.register(CASE_ACKNOWLEDGED, {1: CaseAcknowledgedV1})
    registry.register(CASE_NOTE_ADDED, {1: CaseNoteAddedV1})
    registry.register(CASE_FIELD_REPORT_FILED, {1: CaseFieldReportFiledV1})
    registry.register(
        CASE_SEIZURE_RECORDED,
        {1: CaseSeizureRecordedV1, 2: CaseSeizureRecordedV2},
        {1: case_seizure_recorded_v1_to_v2},
    )
    registry.register(CASE_ESCALATED, {1: CaseEscalatedV1})
    registry.register(CASE_SHARED, {1: CaseSharedV1})
    registry.register(CASE_SHARE_REVOKED, {1: CaseShareRevokedV1})
    registry.register(CASE_TRANSFER_REQUESTED, {1: CaseTransferRequestedV1})
    registry.register(CASE_TRANSFER_WITHDRAWN, {1: CaseTransferWithdrawnV1})
    registry.register(CASE_TRANSFERRED, {1: CaseTransferredV1})
    registry.register(CASE_TRANSFER_REFUSED, {1: CaseTransferRefusedV1})
    registry.register(CASE_CLOSED, {1: CaseClosedV1})
    registry.register(CASE_REOPENED, {1: CaseReopenedV1})
    registry.register(
        CASE_REPORT_LINKED,
        {1: CaseReportLinkedV1, 2: CaseReportLinkedV2},
        {1: case_report_linked_v1_to_v2},
    )
    registry.register(CASE_LINKED, {1: CaseLinkedV1})
    registry.register(
        CASE_REPORT_UNLINKED,
        {1: CaseReportUnlinkedV1, 2: CaseReportUnlinkedV2},
        {1: case_report_unlinked_v1_to_v2},
    )
    registry.register(
        CASE_SLA_BREACHED,
        {1: CaseSlaBreachedV1, 2: CaseSlaBreachedV2},
        {1: case_sla_breached_v1_to_v2},
    )
    registry.register(CASE_TAKEDOWN_REQUESTED, {1: CaseTakedownRequestedV1})
    registry.register(CASE_TAKEDOWN_CONFIRMED, {1: CaseTakedownConfirmedV1})
    registry.register(CASE_TAKEDOWN_REFUSED, {1: CaseTakedownRefusedV1})
    registry.register(CASE_FACT_CHECK_PUBLISHED, {1: CaseFactCheckPublishedV1})
    registry.register(CASE_SOURCE_ACTION_TAKEN, {1: CaseSourceActionTakenV1})
    registry.register(THREAD_MESSAGE_POSTED, {1: ThreadMessagePostedV1})
    registry.register(CASE_WATCHLIST_HIT, {1: CaseWatchlistHitV1})
    registry.register(CASE_SNAPSHOT, {1: CaseSnapshotV1})
    registry.register(WATCHLIST_ENTRY_ADDED, {1: WatchlistEntryAddedV1})
    registry.register(WATCHLIST_ENTRY_CHANGED, {1: WatchlistEntryChangedV1})
    registry.register(WATCHLIST_ENTRY_REMOVED, {1: WatchlistEntryRemovedV1})
    registry.register(
        NOTIFICATION_QUEUED,
        {1: NotificationQueuedV1, 2: NotificationQueuedV2},
        {1: notification_queued_v1_to_v2},
    )
    registry.register(
        NOTIFICATION_SENT,
        {1: NotificationSentV1, 2: NotificationSentV2},
        {1: notification_sent_v1_to_v2},
    )
    registry.register(NOTIFICATION_FAILED, {1: NotificationFailedV1})
    registry.register(NOTIFICATION_ATTEMPT_FAILED, {1: NotificationAttemptFailedV1})
    registry.register(NOTIFICATION_DELIVERED, {1: NotificationDeliveredV1})
    registry.register(NOTIFICATION_EXPIRED, {1: NotificationExpiredV1})
    registry.register(NOTIFICATION_UNDELIVERABLE, {1: NotificationUndeliverableV1})
    registry.register(SMS_REPLY_REQUESTED, {1: SmsReplyRequestedV1})
    return registry

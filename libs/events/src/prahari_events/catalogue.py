"""The event catalogue: every event type that crosses a service boundary, its versions and
its upcasters. `docs/architecture.md` lists the same catalogue for people.

To change a payload: add a new schema version and an upcaster from the previous version;
never edit a schema whose events are already stored.
"""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from prahari_events.registry import Registry

REPORT_TYPES = ("rumour", "smuggling_tip", "seizure", "intelligence", "incident")
CHANNELS = ("sms", "email")

REPORT_RECEIVED = "report.received"
CASE_OPENED = "case.opened"
NOTIFICATION_QUEUED = "notification.queued"
NOTIFICATION_SENT = "notification.sent"
NOTIFICATION_FAILED = "notification.failed"


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


def build_registry() -> Registry:
    registry = Registry()
    registry.register(REPORT_RECEIVED, {1: ReportReceivedV1})
    registry.register(CASE_OPENED, {1: CaseOpenedV1})
    registry.register(NOTIFICATION_QUEUED, {1: NotificationQueuedV1})
    registry.register(NOTIFICATION_SENT, {1: NotificationSentV1})
    registry.register(NOTIFICATION_FAILED, {1: NotificationFailedV1})
    return registry

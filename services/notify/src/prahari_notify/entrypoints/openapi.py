"""notify's OpenAPI 3 document, from the same marshmallow schemas that validate its queries
and delivery reports. Served at GET /v1/openapi.json."""

from __future__ import annotations

from typing import Any

from marshmallow import INCLUDE, Schema, fields

from prahari_events.web import api_spec, error_response, finished, signed_webhook_headers, uuid_path


class _Open(Schema):
    """An object whose fields this document does not pin down one by one."""

    class Meta:
        unknown = INCLUDE


class NotificationList(Schema):
    case_id = fields.UUID(metadata={"description": "when asked by case"})
    state = fields.String(metadata={"description": "when asked by state: failed or expired"})
    notifications = fields.List(
        fields.Nested(_Open),
        required=True,
        metadata={"description": "each message: channel, recipient, status, attempts ..."},
    )


class NotificationEvents(Schema):
    notification_id = fields.UUID(required=True)
    events = fields.List(fields.Nested(_Open), required=True)


class ReceiptApplied(Schema):
    applied = fields.List(fields.String(), required=True)


def build(query: Schema, receipt: Schema) -> dict[str, Any]:
    spec = api_spec(
        "Prahari notify",
        "Who was told what about a case, by SMS and email, and whether it arrived; and the"
        " SMS gateway's delivery reports.",
        {
            "NotificationList": NotificationList,
            "NotificationEvents": NotificationEvents,
            "ReceiptApplied": ReceiptApplied,
            "Receipt": receipt,
        },
    )
    unit_errors = {
        "401": error_response("no token, or a token that is expired, revoked or not valid"),
    }
    spec.path(
        path="/v1/notifications",
        operations={
            "get": {
                "summary": "A case's notifications, or those that failed or expired",
                "security": [{"unitToken": []}],
                "parameters": [{"in": "query", "schema": query}],
                "responses": {
                    "200": {
                        "description": "the notifications the unit may see",
                        "content": {"application/json": {"schema": "NotificationList"}},
                    },
                    "400": error_response("give case_id or state; each bad field named"),
                    **unit_errors,
                    "404": error_response("no such case, or not one this unit may see"),
                },
            }
        },
    )
    spec.path(
        path="/v1/notifications/{notification_id}/events",
        operations={
            "get": {
                "summary": "A notification's history: queued, each attempt, sent, delivered",
                "security": [{"unitToken": []}],
                "parameters": [uuid_path("notification_id")],
                "responses": {
                    "200": {
                        "description": "its events, in order",
                        "content": {"application/json": {"schema": "NotificationEvents"}},
                    },
                    **unit_errors,
                    "404": error_response("no such notification, or not one this unit may see"),
                },
            }
        },
    )
    spec.path(
        path="/v1/receipts/sms",
        operations={
            "post": {
                "summary": "The SMS gateway's delivery report (signed by the gateway)",
                "parameters": signed_webhook_headers(),
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": "Receipt"}},
                },
                "responses": {
                    "200": {
                        "description": "what the report changed (nothing for a late one)",
                        "content": {"application/json": {"schema": "ReceiptApplied"}},
                    },
                    "400": error_response("invalid fields, each named"),
                    "401": error_response("a bad signature, or a timestamp too far off"),
                    "404": error_response("delivery reports are not configured"),
                },
            }
        },
    )
    return finished(spec.to_dict())

"""intake's OpenAPI 3 document, generated from the same marshmallow schemas that validate
requests, with one example of each report type. Served at GET /v1/openapi.json."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from prahari_events.catalogue import REPORT_TYPES
from prahari_events.web import api_spec, error_response, uuid_path
from prahari_intake.entrypoints.examples import EXAMPLES
from prahari_intake.entrypoints.schemas import ReportRequest

STATUSES = ("received", "case_opened", "linked", "rejected")


class ReportAccepted(Schema):
    report_id = fields.UUID(required=True)
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    trace_id = fields.String(metadata={"description": "W3C trace id of this request"})
    replayed = fields.Boolean(metadata={"description": "true when an Idempotency-Key replay"})


class ReportStatus(Schema):
    report_id = fields.UUID(required=True)
    type = fields.String(required=True, validate=validate.OneOf(REPORT_TYPES))
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    state = fields.Integer(required=True)
    district = fields.Integer(required=True)
    reported_by = fields.String(required=True)
    received_at = fields.AwareDateTime(required=True)
    case_id = fields.UUID()
    reason = fields.String()


def build() -> dict[str, Any]:
    spec = api_spec(
        "Prahari intake",
        "Where police units file rumour reports, smuggling tips, seizures, intelligence and"
        " incidents. Every request carries a unit's bearer token.",
        {
            "ReportRequest": ReportRequest,
            "ReportAccepted": ReportAccepted,
            "ReportStatus": ReportStatus,
        },
    )
    common_errors = {
        "401": error_response("no token, or a token that is expired or not valid"),
        "403": error_response("outside the unit's jurisdiction or role"),
    }
    spec.path(
        path="/v1/reports",
        operations={
            "post": {
                "summary": "File a report",
                "security": [{"unitToken": []}],
                "parameters": [
                    {
                        "in": "header",
                        "name": "Idempotency-Key",
                        "required": True,
                        "description": "Required: a new key (a UUID) per report. Retry with the"
                        " same key and the same body: the same report, never a second one.",
                        "schema": {"type": "string", "pattern": r"^[\x21-\x7e]{1,255}$"},
                    }
                ],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": "ReportRequest",
                            "examples": {k: {"value": v} for k, v in EXAMPLES.items()},
                        }
                    },
                },
                "responses": {
                    "202": {
                        "description": "accepted: the report is durably on the event log",
                        "content": {"application/json": {"schema": "ReportAccepted"}},
                    },
                    "200": {
                        "description": "a replay of an Idempotency-Key already filed",
                        "content": {"application/json": {"schema": "ReportAccepted"}},
                    },
                    "400": error_response("invalid fields, each named"),
                    **common_errors,
                    "409": error_response("a request with this key is still in flight", retry=True),
                    "413": error_response("the body is too large"),
                    "415": error_response("the body is not application/json"),
                    "422": error_response("the Idempotency-Key was used for a different report"),
                    "428": error_response("no Idempotency-Key"),
                    "503": error_response("the event log did not acknowledge; retry", retry=True),
                },
            }
        },
    )
    spec.path(
        path="/v1/reports/{report_id}",
        operations={
            "get": {
                "summary": "What became of a report",
                "security": [{"unitToken": []}],
                "parameters": [uuid_path("report_id")],
                "responses": {
                    "200": {
                        "description": "the report's status",
                        "content": {"application/json": {"schema": "ReportStatus"}},
                    },
                    **common_errors,
                    "404": error_response("no such report, or not one this unit may see"),
                },
            }
        },
    )
    return spec.to_dict()

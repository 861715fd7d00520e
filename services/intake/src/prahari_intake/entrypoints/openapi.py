"""intake's OpenAPI 3 document, generated from the same marshmallow schemas that validate
requests, with one example of each report type. Served at GET /v1/openapi.json."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from prahari_events.catalogue import REPORT_TYPES
from prahari_events.web import api_spec, error_response, finished, signed_webhook_headers, uuid_path
from prahari_intake.entrypoints.examples import EXAMPLES
from prahari_intake.entrypoints.inbound_sms import InboundSms
from prahari_intake.entrypoints.schemas import ReportRequest

STATUSES = ("received", "case_opened", "linked", "rejected")


class ReportAccepted(Schema):
    report_id = fields.UUID(required=True)
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    trace_id = fields.String(metadata={"description": "W3C trace id of this request"})
    replayed = fields.Boolean(metadata={"description": "true when an Idempotency-Key replay"})


class SmsReply(Schema):
    template = fields.String(required=True, metadata={"description": "the reply notify sends"})
    values = fields.List(fields.String(), required=True)


class SmsAnswer(Schema):
    filed = fields.Boolean(required=True)
    report_id = fields.UUID(metadata={"description": "when filed"})
    reply = fields.Nested(SmsReply, required=True)


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
            "InboundSms": InboundSms,
            "SmsAnswer": SmsAnswer,
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
    spec.path(
        path="/v1/sms/inbound",
        operations={
            "post": {
                "summary": "A report by SMS, as the SMS gateway delivers it (signed by it)",
                "description": "From a registered number (normalised to E.164), which names"
                " the unit; `PR <TYPE> key=value ...` (HELP for the keys), after the unit's PIN"
                " where it has one. The gateway's message id is the Idempotency-Key. Every"
                " registered sender gets a reply through notify; nothing is sent to an"
                " unregistered number or in answer to a bad signature. Served when intake's"
                " SMS channel is configured.",
                "parameters": signed_webhook_headers(),
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": "InboundSms"}},
                },
                "responses": {
                    "200": {
                        "description": "filed (or HELP answered); the reply is on its way",
                        "content": {"application/json": {"schema": "SmsAnswer"}},
                    },
                    "400": error_response("not a valid inbound message, each field named"),
                    "401": error_response("no, a stale or a wrong signature: no reply is sent"),
                    "403": error_response("not a registered number: no reply is sent"),
                    "404": error_response("intake's SMS channel is not configured"),
                    "409": error_response("this exact request was answered already (a replay)"),
                    "422": {
                        "description": "not filed: the reply sent says why and how",
                        "content": {"application/json": {"schema": "SmsAnswer"}},
                    },
                    "503": error_response("the event log did not acknowledge; retry", retry=True),
                },
            }
        },
    )
    return finished(_one_schema_per_type(spec.to_dict()))


def _one_schema_per_type(doc: dict[str, Any]) -> dict[str, Any]:
    """The report as `oneOf` one schema per report type, with a `discriminator` on `type`:
    a rumour report carries its `rumour` object and no other type's (apispec builds no
    such thing; it is assembled here from the schema apispec built). What JSON Schema can
    say of a type's own object is said there too (a rumour names a post or a handle); the
    rules it cannot say are in the objects' descriptions."""
    schemas = doc["components"]["schemas"]
    base = schemas.pop("ReportRequest")
    mapping: dict[str, str] = {}
    for kind in REPORT_TYPES:
        detail = base["properties"][kind]["anyOf"][0]["$ref"]
        name = "".join(part.title() for part in kind.split("_")) + "Report"
        properties = {
            key: value
            for key, value in base["properties"].items()
            if key not in REPORT_TYPES or key == kind
        }
        properties["type"] = {"type": "string", "enum": [kind]}
        properties[kind] = {"$ref": detail}
        schemas[name] = {
            **base,
            "description": f"A {kind.replace('_', ' ')} report: its `{kind}` object is required"
            " and no other type's object may be sent.",
            "properties": properties,
            "required": sorted({*base.get("required", []), kind}),
            "additionalProperties": False,
        }
        mapping[kind] = f"#/components/schemas/{name}"
    schemas["ReportRequest"] = {
        "description": "A report: `type` says which of the five it is, and so which object"
        " (`rumour`, `smuggling_tip`, `seizure`, `intelligence`, `incident`) it carries.",
        "oneOf": [{"$ref": ref} for ref in mapping.values()],
        "discriminator": {"propertyName": "type", "mapping": mapping},
    }
    # Every object intake reads refuses fields it does not know (marshmallow's RAISE).
    for name in ("Location", "Rumour", "Person", "Place", "Route", "SmugglingTip",
                 "SeizurePlace", "Seizure", "Intelligence", "Incident"):  # fmt: skip
        schemas[name]["additionalProperties"] = False
    # A rumour names the post, or the account that spread it, or both.
    schemas["Rumour"]["anyOf"] = [
        {"required": ["post_url"], "properties": {"post_url": {"type": "string"}}},
        {"required": ["handle"], "properties": {"handle": {"type": "string"}}},
    ]
    schemas["Location"]["description"] = "latitude and longitude come together or not at all"
    schemas["Seizure"]["description"] = (
        "the quantity's unit follows the category (ESMS): cash in inr, liquor in litres,"
        " drugs in kg, precious metals in grams, the rest counted"
    )
    return doc

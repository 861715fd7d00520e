"""The public JSON contract of intake's HTTP API. Unknown fields are refused, not dropped.

A report has common fields and one object named after its type that carries what that kind
of report needs (`../shared/domain.md`): `{"type": "seizure", "seizure": {...}}`.
"""

from __future__ import annotations

import re
from typing import Any

from marshmallow import (
    RAISE,
    Schema,
    ValidationError,
    fields,
    post_load,
    validate,
    validates_schema,
)

from prahari_events.catalogue import AGENCIES, COMMODITIES, PLATFORMS, REPORT_TYPES, SEIZURE_UNITS
from prahari_events.web import HTTP_URL as POST_URL
from prahari_events.web import Moment, Rule, WholeNumber

INTELLIGENCE_SUBJECTS = (
    "naxal_activity",
    "inter_state_gang",
    "anti_social_elements",
    "suspicious_movement",
    "other",
)
INCIDENT_CATEGORIES = (
    "violence",
    "booth_capturing",
    "voter_intimidation",
    "code_of_conduct_violation",
    "rumour_led_unrest",
    "other",
)
# Indian registrations: state prefix, district number, series, number (UP64AB1234, DL3CAB1234).
_VEHICLE = re.compile(r"^[A-Z]{2}[0-9]{1,2}[A-Z]{0,3}[0-9]{1,4}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}$")  # ISO 639-1 or 639-2/3 codes: hi, en, ur, bho, mai


# LGD codes are small positive numbers; the range also keeps absurd integers out.
LGD_CODE = validate.Range(min=1, max=99_999)


class Strict(Schema):
    class Meta:
        unknown = RAISE


# What may separate a registration's parts as people write them: spaces, dots and dashes
# (only these: the document's pattern must accept exactly what this field does).
_SEPARATORS = r"[ .-]"


def _clean_vehicle(value: str) -> str:
    return re.sub(_SEPARATORS, "", value).upper()


# The same, as a JSON Schema pattern for what Vehicle accepts before it cleans the value.
_SEP = f"{_SEPARATORS}*"
VEHICLE_PATTERN = (
    rf"^(?:{_SEP}[A-Za-z]){{2}}(?:{_SEP}[0-9]){{1,2}}(?:{_SEP}[A-Za-z]){{0,3}}"
    rf"(?:{_SEP}[0-9]){{1,4}}{_SEP}$"
)


class Vehicle(fields.String):
    """A vehicle registration; spaces and dashes are dropped, letters upper-cased."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("metadata", {}).setdefault("pattern", VEHICLE_PATTERN)
        super().__init__(**kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        # ASCII first: upper() would make a Turkish dotless i an I.
        text = _clean_vehicle(text) if text.isascii() else ""
        if not _VEHICLE.match(text):
            raise ValidationError("not an Indian vehicle registration, e.g. UP64AB1234")
        return text


def vehicles() -> fields.List[str]:
    return fields.List(Vehicle(), load_default=list, validate=validate.Length(max=20))


class Person(Strict):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    description = fields.String(load_default=None, validate=validate.Length(max=1000))


def persons() -> fields.List[dict[str, Any]]:
    return fields.List(fields.Nested(Person), load_default=list, validate=validate.Length(max=50))


class Place(Strict):
    state = WholeNumber(
        required=True, validate=LGD_CODE, metadata={"description": "LGD state code"}
    )
    district = WholeNumber(
        required=True, validate=LGD_CODE, metadata={"description": "LGD district code"}
    )


class Location(Strict):
    latitude = fields.Float(
        load_default=None, allow_nan=False, validate=validate.Range(min=6.0, max=38.0)
    )
    longitude = fields.Float(
        load_default=None, allow_nan=False, validate=validate.Range(min=68.0, max=98.0)
    )
    place = fields.String(load_default=None, validate=validate.Length(max=300))

    @validates_schema
    def _both_or_neither(self, data: dict[str, Any], **_: Any) -> None:
        if (data.get("latitude") is None) != (data.get("longitude") is None):
            raise ValidationError(Rule("give latitude and longitude together"), "latitude")


class Rumour(Strict):
    platform = fields.String(required=True, validate=validate.OneOf(PLATFORMS))
    post_url = fields.String(
        load_default=None,
        validate=[
            validate.Length(max=2000),
            validate.Regexp(POST_URL, error="an http or https URL of the post"),
        ],
    )
    handle = fields.String(load_default=None, validate=validate.Length(min=1, max=200))
    language = fields.String(required=True, validate=validate.Regexp(_LANGUAGE))
    excerpt = fields.String(load_default=None, validate=validate.Length(max=2000))
    first_seen_at = Moment(required=True)
    estimated_reach = WholeNumber(
        load_default=None, validate=validate.Range(min=0, max=2_000_000_000)
    )
    screenshot_sha256 = fields.String(
        load_default=None,
        validate=validate.Regexp(_SHA256, error="a SHA-256 in lower-case hex, 64 characters"),
    )

    @validates_schema
    def _url_or_handle(self, data: dict[str, Any], **_: Any) -> None:
        if not data.get("post_url") and not data.get("handle"):
            raise ValidationError(Rule("give the post URL or the account handle"), "post_url")


class Route(Strict):
    origin = fields.Nested(Place, required=True, data_key="from")
    destination = fields.Nested(Place, required=True, data_key="to")


class SmugglingTip(Strict):
    commodity = fields.String(required=True, validate=validate.OneOf(COMMODITIES))
    vehicles = vehicles()
    persons = persons()
    route = fields.Nested(Route, load_default=None)
    expected_at = Moment(load_default=None)


class SeizurePlace(Strict):
    check_post = fields.String(load_default=None, validate=validate.Length(max=200))
    district = WholeNumber(
        required=True, validate=LGD_CODE, metadata={"description": "LGD district code"}
    )
    latitude = fields.Float(
        load_default=None, allow_nan=False, validate=validate.Range(min=6.0, max=38.0)
    )
    longitude = fields.Float(
        load_default=None, allow_nan=False, validate=validate.Range(min=68.0, max=98.0)
    )


class Seizure(Strict):
    category = fields.String(required=True, validate=validate.OneOf(COMMODITIES))
    quantity = fields.Float(
        required=True,
        allow_nan=False,
        validate=validate.Range(min=0, min_inclusive=False),
        metadata={"exclusiveMinimum": 0},  # apispec drops min_inclusive
    )
    unit = fields.String(
        required=True, validate=validate.OneOf(sorted(set(SEIZURE_UNITS.values())))
    )
    value_inr = WholeNumber(required=True, validate=validate.Range(min=0, max=10**13))
    place = fields.Nested(SeizurePlace, required=True)
    vehicles = vehicles()
    persons = persons()
    agency = fields.String(required=True, validate=validate.OneOf(AGENCIES))
    fir_number = fields.String(load_default=None, validate=validate.Length(min=1, max=50))
    police_station = fields.String(
        load_default=None,
        validate=validate.Length(min=1, max=200),
        metadata={"description": "where the FIR is registered: with it, the seizure's identity"},
    )
    gd_number = fields.String(
        load_default=None,
        validate=validate.Length(min=1, max=50),
        metadata={"description": "General Diary entry number"},
    )

    @validates_schema
    def _unit_fits_category(self, data: dict[str, Any], **_: Any) -> None:
        expected = SEIZURE_UNITS.get(data.get("category", ""))
        if expected and data.get("unit") != expected:
            raise ValidationError(Rule(f"{data['category']} is counted in {expected}"), "unit")


class Intelligence(Strict):
    subject = fields.String(required=True, validate=validate.OneOf(INTELLIGENCE_SUBJECTS))
    persons = persons()
    vehicles = vehicles()
    area = fields.String(
        load_default="normal", validate=validate.OneOf(["normal", "sensitive", "naxal_affected"])
    )


class Incident(Strict):
    category = fields.String(required=True, validate=validate.OneOf(INCIDENT_CATEGORIES))
    injured = WholeNumber(load_default=0, validate=validate.Range(min=0, max=100_000))
    persons = persons()


TYPE_SCHEMAS: dict[str, type[Schema]] = {
    "rumour": Rumour,
    "smuggling_tip": SmugglingTip,
    "seizure": Seizure,
    "intelligence": Intelligence,
    "incident": Incident,
}


class Source(Strict):
    """The thread message a report is made from: the case it opens links back to it."""

    thread_id = fields.UUID(required=True)
    message_id = fields.UUID(required=True)


class ReportRequest(Strict):
    type = fields.String(required=True, validate=validate.OneOf(REPORT_TYPES))
    description = fields.String(
        required=True,
        validate=validate.Length(min=1, max=5000),
        metadata={"description": "What happened, in Hindi or English"},
    )
    state = WholeNumber(
        required=True, validate=LGD_CODE, metadata={"description": "LGD state code"}
    )
    district = WholeNumber(
        required=True, validate=LGD_CODE, metadata={"description": "LGD district code"}
    )
    occurred_at = Moment(required=True)
    location = fields.Nested(Location, load_default=None)
    rumour = fields.Nested(Rumour, load_default=None)
    smuggling_tip = fields.Nested(SmugglingTip, load_default=None)
    seizure = fields.Nested(Seizure, load_default=None)
    intelligence = fields.Nested(Intelligence, load_default=None)
    incident = fields.Nested(Incident, load_default=None)
    source = fields.Nested(
        Source,
        load_default=None,
        metadata={"description": "the thread message this report is made from, if any"},
    )

    @validates_schema
    def _one_detail_object_matching_the_type(self, data: dict[str, Any], **_: Any) -> None:
        errors: dict[str, list[Rule]] = {}
        kind = data.get("type")
        for name in TYPE_SCHEMAS:
            if name == kind and data.get(name) is None:
                errors[name] = [Rule(f"a {name} report needs its {name} object")]
            elif name != kind and data.get(name) is not None:
                errors[name] = [Rule(f"only the {kind} object goes with a {kind} report")]
        if errors:
            raise ValidationError(errors)

    @post_load
    def _details(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        details = data.get(data["type"]) or {}
        return {
            "type": data["type"],
            "description": data["description"],
            "state": data["state"],
            "district": data["district"],
            "occurred_at": data["occurred_at"],
            "location": data["location"],
            "details": details,
            "source": data["source"],
        }

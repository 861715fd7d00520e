"""The unit directory: every police unit that works cases, with its kind, jurisdiction and
contacts. Reference data that each state keeps current, shared by cases (who can be
assigned), notify (whom to tell) and intake (which phones may file reports by SMS).

A JSON file {"units": [{"unit_id", "name", "kind", "state", "district", "phone", "email",
"language", "sms_pin"}]}, read once at start. Unit ids are unique within a state, so a
unit is always named by its state and its id together.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from prahari_events import lgd
from prahari_events.auth import UNIT_KINDS, Unit
from prahari_events.errors import ConfigError
from prahari_events.policy import UnitRef

CONTROL_ROOM_KINDS = ("district_control_room", "state_control_room")
AUDITOR_KINDS = ("audit_office",)


def role_of(kind: str) -> str:
    """A unit's role follows from its kind: control rooms own cases, audit offices audit,
    every other unit reports and works what it is assigned."""
    if kind in CONTROL_ROOM_KINDS:
        return "control_room"
    if kind in AUDITOR_KINDS:
        return "auditor"
    return "reporter"


@dataclass(frozen=True, slots=True)
class DirectoryUnit:
    unit_id: str
    name: str
    kind: str
    state: int | None
    district: int | None
    phone: str | None
    email: str | None
    language: str  # "hi" or "en": the language of its SMS; email is always bilingual
    # A PIN the unit's SMS reports must start with ("PIN 4321 PR ..."), for a phone that
    # may be lost or lent; None: the number alone identifies the unit.
    sms_pin: str | None = None

    @property
    def role(self) -> str:
        return role_of(self.kind)

    def as_unit(self) -> Unit:
        return Unit(self.unit_id, self.kind, self.role, self.state, self.district)


class UnitDirectory:
    def __init__(self, units: Sequence[DirectoryUnit]) -> None:
        self._units = list(units)
        self._by_ref: dict[tuple[int | None, str], DirectoryUnit] = {}
        self._by_phone: dict[str, DirectoryUnit] = {}
        for unit in self._units:
            key = (unit.state, unit.unit_id)
            if key in self._by_ref:
                raise ConfigError(f"unit {unit.unit_id} is listed twice in state {unit.state}")
            self._by_ref[key] = unit
            if unit.phone is not None:
                if unit.phone in self._by_phone:
                    raise ConfigError(f"phone {unit.phone} is listed for two units")
                self._by_phone[unit.phone] = unit

    def __iter__(self) -> Iterator[DirectoryUnit]:
        return iter(self._units)

    def __len__(self) -> int:
        return len(self._units)

    def get(self, ref: UnitRef) -> DirectoryUnit | None:
        return self._by_ref.get((ref.state, ref.unit_id))

    def by_phone(self, phone: str) -> DirectoryUnit | None:
        return self._by_phone.get(phone)

    def control_rooms(self, state: int, district: int | None) -> list[DirectoryUnit]:
        """The district's control room, or the state's when the district has none."""
        rooms = [u for u in self._units if u.state == state and u.kind in CONTROL_ROOM_KINDS]
        local = [u for u in rooms if district is not None and u.district == district]
        return local or [u for u in rooms if u.district is None]


class _UnitSchema(Schema):
    class Meta:
        unknown = RAISE

    unit_id = fields.String(
        required=True,
        validate=[validate.Length(min=1, max=128), validate.Regexp(r"^[A-Za-z0-9][\w.:-]*$")],
    )
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    kind = fields.String(required=True, validate=validate.OneOf(UNIT_KINDS))
    state = fields.Integer(required=True, allow_none=True)
    district = fields.Integer(required=True, allow_none=True)
    phone = fields.String(
        load_default=None, allow_none=True, validate=validate.Regexp(r"^\+91[6-9]\d{9}$")
    )
    email = fields.Email(load_default=None, allow_none=True)
    language = fields.String(load_default="hi", validate=validate.OneOf(["en", "hi"]))
    sms_pin = fields.String(
        load_default=None, allow_none=True, validate=validate.Regexp(r"^[0-9]{4,8}$")
    )


class _DirectorySchema(Schema):
    class Meta:
        unknown = RAISE

    units = fields.List(fields.Nested(_UnitSchema), required=True)


def parse_units(raw: object, places: lgd.Directory) -> UnitDirectory:
    """Validate a decoded directory: fields, LGD codes, and that only audit offices stand
    outside a state."""
    try:
        data = _DirectorySchema().load(raw)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise ConfigError(f"the unit directory is invalid: {exc.messages}") from None
    units = [DirectoryUnit(**entry) for entry in data["units"]]
    for unit in units:
        if unit.state is None and unit.role != "auditor":
            raise ConfigError(f"unit {unit.unit_id}: only audit offices may have no state")
        problems = places.problems(unit.state, unit.district)
        if problems:
            raise ConfigError(f"unit {unit.unit_id}: {problems}")
    return UnitDirectory(units)


def load_units(path: str, places: lgd.Directory) -> UnitDirectory:
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read the unit directory {path}: {exc}") from None
    return parse_units(raw, places)

"""Loads the control-room directory: a JSON file of {"control_rooms": [...]}, reference data
that each state keeps current."""

from __future__ import annotations

import json
from pathlib import Path

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from prahari_events.errors import ConfigError
from prahari_notify.domain.messages import ContactDirectory, ControlRoom


class _RoomSchema(Schema):
    class Meta:
        unknown = RAISE

    name = fields.String(required=True)
    state = fields.Integer(required=True)
    district = fields.Integer(load_default=None, allow_none=True)
    email = fields.Email(load_default=None, allow_none=True)
    phone = fields.String(
        load_default=None, allow_none=True, validate=validate.Regexp(r"^\+91[6-9]\d{9}$")
    )
    language = fields.String(load_default="en", validate=validate.OneOf(["en", "hi"]))


class _DirectorySchema(Schema):
    class Meta:
        unknown = RAISE

    control_rooms = fields.List(fields.Nested(_RoomSchema), required=True)


def load_directory(path: str) -> ContactDirectory:
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
        data = _DirectorySchema().load(raw)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read the control-room directory {path}: {exc}") from None
    except ValidationError as exc:
        raise ConfigError(f"the control-room directory {path} is invalid: {exc.messages}") from None
    return ContactDirectory([ControlRoom(**room) for room in data["control_rooms"]])

"""The registry of phone numbers allowed to file reports by SMS, each tied to its unit: a
JSON file {"senders": [{"phone", "unit_id", "kind", "role", "state", "district"}]} that each
state keeps current, loaded at start."""

from __future__ import annotations

import json
from pathlib import Path

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from prahari_events import lgd
from prahari_events.auth import ROLES, UNIT_KINDS, Unit, check_unit
from prahari_events.errors import ConfigError, InvalidInput


class _Sender(Schema):
    class Meta:
        unknown = RAISE

    phone = fields.String(required=True, validate=validate.Regexp(r"^\+91[6-9]\d{9}$"))
    unit_id = fields.String(required=True, validate=validate.Length(min=1, max=128))
    kind = fields.String(required=True, validate=validate.OneOf(UNIT_KINDS))
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    state = fields.Integer(required=True)
    district = fields.Integer(load_default=None, allow_none=True)


class _Registry(Schema):
    class Meta:
        unknown = RAISE

    senders = fields.List(fields.Nested(_Sender), required=True)


def load_senders(path: str, directory: lgd.Directory) -> dict[str, Unit]:
    try:
        data = _Registry().load(json.loads(Path(path).read_text(encoding="utf-8")))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read the SMS sender registry {path}: {exc}") from None
    except ValidationError as exc:
        raise ConfigError(f"the SMS sender registry {path} is invalid: {exc.messages}") from None
    senders: dict[str, Unit] = {}
    for entry in data["senders"]:
        unit = Unit(
            entry["unit_id"], entry["kind"], entry["role"], entry["state"], entry["district"]
        )
        try:
            check_unit(unit, directory)
        except InvalidInput as exc:
            raise ConfigError(
                f"SMS sender {entry['phone']}: {exc.message} {dict(exc.fields)}"
            ) from None
        senders[entry["phone"]] = unit
    return senders

"""Reads the SLA configuration file: {"default": {stage: seconds}, "by_report_type":
{type: {stage: seconds}}}; every case stage named (the rumour response's may be left to
their defaults), every duration in seconds."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from marshmallow import INCLUDE, RAISE, Schema, ValidationError, fields, validate

from prahari_cases.domain.sla import Durations, SlaPolicy
from prahari_events.catalogue import REPORT_TYPES
from prahari_events.errors import ConfigError


class _Durations(Schema):
    class Meta:
        unknown = RAISE

    assign = fields.Float(required=True, validate=validate.Range(min=0))
    acknowledge = fields.Float(required=True, validate=validate.Range(min=0))
    field_report = fields.Float(required=True, validate=validate.Range(min=0))
    close = fields.Float(required=True, validate=validate.Range(min=0))
    # A rumour case's response; a file from before it keeps the defaults (domain/sla.py).
    takedown = fields.Float(validate=validate.Range(min=0))
    fact_check = fields.Float(validate=validate.Range(min=0))
    source_action = fields.Float(validate=validate.Range(min=0))


class _Policy(Schema):
    class Meta:
        unknown = INCLUDE  # "_source" and other notes for people

    default = fields.Nested(_Durations, required=True)
    by_report_type = fields.Dict(
        keys=fields.String(validate=validate.OneOf(REPORT_TYPES)),
        values=fields.Nested(_Durations),
        load_default=dict,
    )


def load_sla_policy(path: str | None) -> SlaPolicy:
    """The file at `path`, or the package's own (the cVIGIL budget)."""
    try:
        text = (
            Path(path).read_text(encoding="utf-8")
            if path
            else (resources.files("prahari_cases") / "data" / "sla.json").read_text("utf-8")
        )
        data = _Policy().load(json.loads(text))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read the SLA file {path}: {exc}") from None
    except ValidationError as exc:
        raise ConfigError(f"the SLA file {path} is invalid: {exc.messages}") from None
    return SlaPolicy(
        Durations(**data["default"]),
        {kind: Durations(**d) for kind, d in data["by_report_type"].items()},
    )

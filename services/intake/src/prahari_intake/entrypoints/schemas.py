"""The public JSON contract of intake's HTTP API. Unknown fields are refused, not dropped."""

from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

from prahari_events.catalogue import REPORT_TYPES


class ReportRequest(Schema):
    class Meta:
        unknown = RAISE

    type = fields.String(required=True, validate=validate.OneOf(REPORT_TYPES))
    description = fields.String(required=True, validate=validate.Length(min=1, max=5000))
    state = fields.Integer(required=True, strict=True, metadata={"description": "LGD state code"})
    district = fields.Integer(
        required=True, strict=True, metadata={"description": "LGD district code"}
    )
    occurred_at = fields.AwareDateTime(load_default=None)
    details = fields.Dict(keys=fields.String(), load_default=dict)

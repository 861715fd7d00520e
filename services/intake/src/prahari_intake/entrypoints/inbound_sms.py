"""The SMS gateway's inbound webhook: a report filed by SMS from a registered number.

The webhook is signed by the gateway (HMAC-SHA256 of the body with a shared secret, in
`X-Prahari-Signature: sha256=<hex>`), and the sender must be a registered number, which
names the unit. The gateway's message id is the Idempotency-Key, so a webhook delivered
twice files one report. Every registered sender gets a reply: the report's reference, or
why it was not filed and the format. Intake names the reply (template and values) and
publishes it for notify, which renders and sends it: every outbound SMS leaves through one
place. The webhook answers 200 only once the reply request is on Kafka.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import uuid
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from marshmallow import RAISE, Schema, fields, validate

from prahari_events.auth import Unit
from prahari_events.envelope import utcnow
from prahari_events.errors import Forbidden, InvalidInput, NotFound, Unauthenticated
from prahari_events.web import Moment, json_response, load_input, parse_json_object
from prahari_intake.entrypoints import sms
from prahari_intake.entrypoints.common import DESK, report_command
from prahari_intake.service_layer.desk import request_hash

log = logging.getLogger("prahari.intake.sms")


@dataclass(frozen=True, slots=True)
class SmsChannel:
    senders: dict[str, Unit]
    secret: bytes


SMS_CHANNEL = web.AppKey("sms_channel", SmsChannel)


class _Inbound(Schema):
    class Meta:
        unknown = RAISE

    message_id = fields.String(required=True, validate=validate.Length(min=1, max=100))
    sender = fields.String(required=True, data_key="from", validate=validate.Length(max=20))
    text = fields.String(required=True, validate=validate.Length(min=1, max=1600))
    received_at = Moment(load_default=None)


_INBOUND = _Inbound()


def signature(secret: bytes, body: bytes) -> str:
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


async def receive(request: web.Request) -> web.Response:
    channel = request.app.get(SMS_CHANNEL)
    if channel is None:
        raise NotFound("the SMS channel is not configured")
    raw = await request.read()
    given = request.headers.get("X-Prahari-Signature", "")
    if not hmac.compare_digest(given, signature(channel.secret, raw)):
        raise Unauthenticated("the webhook signature does not match")
    message = load_input(_INBOUND, parse_json_object(raw), "invalid inbound SMS")
    unit = channel.senders.get(message["sender"])
    if unit is None or unit.state is None:
        # No reply: answering unknown numbers would make us a tool for spamming them.
        raise Forbidden("this number is not registered to file reports")
    filed, template, values = await _file(request, unit, message)
    await request.app[DESK].request_reply(
        unit,
        message["message_id"],
        message["sender"],
        template=template,
        values=values,
        report_id=uuid.UUID(filed) if filed else None,
    )
    answer: dict[str, Any] = {
        "filed": filed is not None,
        "reply": {"template": template, "values": values},
    }
    if filed is not None:
        answer["report_id"] = filed
    return json_response(answer)


async def _file(
    request: web.Request, unit: Unit, message: dict[str, Any]
) -> tuple[str | None, str, list[str]]:
    """The report id if filed, and the reply: its template and the template's values."""
    assert unit.state is not None
    try:
        body = sms.parse(
            message["text"], state=unit.state, received_at=message["received_at"] or utcnow()
        )
    except sms.SmsHelp as asked:
        if asked.report_type is None:
            return None, sms.NOT_FILED, ["help needs a type"]
        return None, sms.HELP[asked.report_type], []
    except sms.SmsFormatError as exc:
        return None, sms.NOT_FILED, [str(exc)]
    # The message, not the parsed body, is what a redelivered webhook repeats exactly.
    fingerprint = request_hash({"from": message["sender"], "text": message["text"]})
    try:
        command = report_command(body)
        filed = await request.app[DESK].file(
            unit, command, f"sms:{message['message_id']}", fingerprint
        )
    except InvalidInput as exc:
        return None, sms.NOT_FILED, [sms.first_problem(dict(exc.fields))]
    except Forbidden:
        return None, sms.NOT_FILED, ["district is not yours"]
    reference = str(filed.report_id).replace("-", "")[:8].upper()
    return str(filed.report_id), sms.FILED, [reference, str(command.district)]

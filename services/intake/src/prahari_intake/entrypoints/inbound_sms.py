"""The SMS gateway's inbound webhook: a report filed by SMS from a registered number.

The webhook is signed by the gateway (prahari_events.webhooks: HMAC-SHA256 over a timestamp
and the body); a timestamp off by more than the skew is refused, and so is an exact replay
of a request already answered (409). Nothing is sent in reply to a request whose signature
fails. The sender must be a registered number (normalised to E.164 first), which names the
unit, and, where the directory sets one, the message starts with the unit's PIN. The
gateway's message id is the Idempotency-Key, so a message delivered twice files one report.
Every registered sender gets a reply: the report's reference (200), or why it was not filed
and the format (422), or the keys of a type (200, for HELP). Intake names the reply
(template and values) and publishes it for notify, which renders and sends it: every
outbound SMS leaves through one place. The webhook answers only once the reply request is
on Kafka.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiohttp import web
from marshmallow import RAISE, Schema, fields, validate

from prahari_events.envelope import utcnow
from prahari_events.errors import Forbidden, InvalidInput, NotFound, Replayed
from prahari_events.runtime import POOL
from prahari_events.web import Moment, json_response, load_input, parse_json_object
from prahari_events.webhooks import check_signature
from prahari_intake.adapters import repository
from prahari_intake.adapters.senders import Sender
from prahari_intake.entrypoints import sms
from prahari_intake.entrypoints.common import DESK, report_command
from prahari_intake.service_layer.desk import request_hash

log = logging.getLogger("prahari.intake.sms")


@dataclass(frozen=True, slots=True)
class SmsChannel:
    senders: dict[str, Sender]
    secret: bytes
    skew_s: float = 300.0
    clock: Callable[[], datetime] = utcnow


SMS_CHANNEL = web.AppKey("sms_channel", SmsChannel)


class InboundSms(Schema):
    class Meta:
        unknown = RAISE

    message_id = fields.String(required=True, validate=validate.Length(min=1, max=100))
    sender = fields.String(required=True, data_key="from", validate=validate.Length(max=20))
    text = fields.String(required=True, validate=validate.Length(min=1, max=1600))
    received_at = Moment(load_default=None)


_INBOUND = InboundSms()


async def receive(request: web.Request) -> web.Response:
    channel = request.app.get(SMS_CHANNEL)
    if channel is None:
        raise NotFound("the SMS channel is not configured")
    raw = await request.read()
    given = request.headers.get("X-Prahari-Signature", "")
    check_signature(
        channel.secret,
        timestamp=request.headers.get("X-Prahari-Timestamp", ""),
        given=given,
        body=raw,
        now=channel.clock(),
        skew_s=channel.skew_s,
    )
    pool = request.app[POOL]
    if await repository.webhook_seen(pool, given):
        raise Replayed("this exact request was received already (a replay)")
    message = load_input(_INBOUND, parse_json_object(raw), "invalid inbound SMS")
    number = sms.e164(message["sender"])
    sender = channel.senders.get(number) if number else None
    if sender is None or sender.unit.state is None:
        # No reply: answering unknown numbers would make us a tool for spamming them.
        raise Forbidden("this number is not registered to file reports")
    assert number is not None  # a sender was found under it
    unit = sender.unit
    filed, template, values = await _file(request, sender, message)
    await request.app[DESK].request_reply(
        unit,
        message["message_id"],
        number,
        template=template,
        values=values,
        report_id=uuid.UUID(filed) if filed else None,
    )
    await repository.remember_webhook(pool, given, keep_s=2 * channel.skew_s)
    answer: dict[str, Any] = {
        "filed": filed is not None,
        "reply": {"template": template, "values": values},
    }
    if filed is not None:
        answer["report_id"] = filed
    # A message that could not be filed is the sender's to fix: 422, with the reply sent.
    return json_response(answer, status=200 if filed or template != sms.NOT_FILED else 422)


async def _file(
    request: web.Request, sender: Sender, message: dict[str, Any]
) -> tuple[str | None, str, list[str]]:
    """The report id if filed, and the reply: its template and the template's values."""
    unit = sender.unit
    assert unit.state is not None
    try:
        text = sms.without_pin(message["text"], sender.pin)
        body = sms.parse(text, state=unit.state, received_at=message["received_at"] or utcnow())
    except sms.SmsHelp as asked:
        if asked.report_type is None:
            return None, sms.NOT_FILED, ["help needs a type"]
        return None, sms.HELP[asked.report_type], []
    except sms.SmsFormatError as exc:
        return None, sms.NOT_FILED, [str(exc)]
    # The message, not the parsed body, is what a redelivered webhook repeats exactly.
    fingerprint = request_hash({"from": sender.unit.unit_id, "text": message["text"]})
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

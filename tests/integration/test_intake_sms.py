"""Reports by SMS through the gateway's inbound webhook, on the real Kafka and PostgreSQL.
Intake names each reply and publishes it on its replies topic for notify to send (notify's
side is in test_notify.py)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer

from prahari_events.kafka import Topics
from prahari_events.registry import Registry
from prahari_events.telemetry import no_op_tracer
from prahari_events.webhooks import signature
from prahari_intake.entrypoints.http import create_app
from tests.support import intake_settings, read_topic

pytestmark = pytest.mark.integration

SECRET = "webhook-secret-for-tests"
PHONE = "+919000000135"  # registered to an excise unit in Chandauli
PIN_PHONE = "+919000000136"  # a police station whose messages start with its PIN


@pytest.fixture
async def channel(
    topics: Topics, intake_schema: str, pool: asyncpg.Pool, tmp_path: Path
) -> AsyncIterator[tuple[TestClient[Any, Any], Replies]]:
    units = tmp_path / "units.json"
    units.write_text(
        json.dumps(
            {
                "units": [
                    {
                        "unit_id": "UP-CHA-EXCISE-1",
                        "name": "Excise Unit 1, Chandauli",
                        "kind": "excise_unit",
                        "state": 9,
                        "district": 135,
                        "phone": PHONE,
                        "email": None,
                    },
                    {
                        "unit_id": "UP-CHA-PS-SAKALDIHA",
                        "name": "Police Station Sakaldiha, Chandauli",
                        "kind": "police_station",
                        "state": 9,
                        "district": 135,
                        "phone": PIN_PHONE,
                        "email": None,
                        "sms_pin": "4321",
                    },
                ]
            }
        )
    )
    settings = intake_settings(
        topics, intake_schema, PRAHARI_UNIT_DIRECTORY=str(units), PRAHARI_SMS_WEBHOOK_SECRET=SECRET
    )
    async with TestClient(TestServer(create_app(settings, no_op_tracer()))) as client:
        yield client, Replies(topics.intake_replies)


class Replies:
    """What intake asked notify to send, read back from its replies topic."""

    def __init__(self, topic: str) -> None:
        self.topic = topic

    async def requested(self, at_least: int = 1, within: float = 10) -> list[dict[str, Any]]:
        found = await read_topic(self.topic, at_least=at_least, within=within)
        return [json.loads(m.value or b"")["payload"] for m in found]


async def deliver(
    client: TestClient[Any, Any],
    text: str,
    *,
    sender: str = PHONE,
    message_id: str = "",
    secret: str = SECRET,
    at: float | None = None,
) -> Any:
    body = json.dumps(
        {"message_id": message_id or str(uuid.uuid4()), "from": sender, "text": text},
        ensure_ascii=False,
    ).encode()
    return await client.post("/v1/sms/inbound", data=body, headers=signed(body, secret, at=at))


def signed(body: bytes, secret: str = SECRET, *, at: float | None = None) -> dict[str, str]:
    """The headers the gateway sends: a timestamp, and the signature over it and the body."""
    stamp = str(int(time.time() if at is None else at))
    return {
        "Content-Type": "application/json",
        "X-Prahari-Timestamp": stamp,
        "X-Prahari-Signature": signature(secret.encode(), stamp, body),
    }


SEIZURE = "PR SZR 135 c=liquor q=1200 val=480000 a=excise cp=Naubatpur ट्रक में अवैध शराब"


async def test_a_seizure_by_sms_is_filed_for_the_registered_unit_and_answered(
    channel: tuple[TestClient[Any, Any], Replies], topics: Topics, registry: Registry
) -> None:
    client, replies = channel
    response = await deliver(client, SEIZURE, message_id="gw-1")
    assert response.status == 200
    answer = await response.json()
    assert answer["filed"] is True
    [message] = await read_topic(topics.reports, at_least=1)
    event = registry.decode(message.value or b"")
    assert event.payload["report_id"] == answer["report_id"]
    assert event.actor.unit_id == "UP-CHA-EXCISE-1"
    assert event.payload["details"]["quantity"] == 1200
    assert event.payload["description"] == "ट्रक में अवैध शराब"
    [reply] = await replies.requested()
    assert reply["to"] == PHONE
    assert (reply["template"], reply["values"]) == ("reply_filed", [reply["values"][0], "135"])
    assert answer["reply"] == {"template": "reply_filed", "values": reply["values"]}


async def test_a_webhook_delivered_twice_files_one_report_and_sends_one_reply(
    channel: tuple[TestClient[Any, Any], Replies], topics: Topics
) -> None:
    client, replies = channel
    first = await (await deliver(client, SEIZURE, message_id="gw-2")).json()
    # The gateway's retry is signed anew: a later timestamp, so not a replay.
    again = await (await deliver(client, SEIZURE, message_id="gw-2", at=time.time() + 2)).json()
    assert first["report_id"] == again["report_id"]
    assert len(await read_topic(topics.reports, at_least=1)) == 1
    # Published twice with the same event id: notify's consumer takes it once, and the
    # reply's notification id derives from the message id besides.
    requested = await read_topic(replies.topic, at_least=2)
    assert len({json.loads(m.value or b"")["event_id"] for m in requested}) == 1


async def test_a_malformed_sms_gets_a_reply_that_explains_the_format(
    channel: tuple[TestClient[Any, Any], Replies], topics: Topics
) -> None:
    client, replies = channel
    response = await deliver(client, "seized liquor at naubatpur")
    assert response.status == 422  # the sender's to fix; the reply says how
    assert (await response.json())["filed"] is False
    [reply] = await replies.requested()
    assert reply["template"] == "reply_not_filed"
    assert "start with PR" in reply["values"][0]
    assert await read_topic(topics.reports, at_least=0, within=0.5) == []


async def test_help_replies_with_the_keys_of_a_type(
    channel: tuple[TestClient[Any, Any], Replies],
) -> None:
    client, replies = channel
    await deliver(client, "PR HELP SZR")
    [reply] = await replies.requested()
    assert reply["template"] == "reply_help_seizure"


async def test_a_report_outside_the_units_district_is_refused_by_reply(
    channel: tuple[TestClient[Any, Any], Replies], topics: Topics
) -> None:
    client, replies = channel
    await deliver(client, "PR INC 184 c=violence scuffle at a booth")
    [reply] = await replies.requested()
    assert reply["values"] == ["district is not yours"]
    assert await read_topic(topics.reports, at_least=0, within=0.5) == []


async def test_an_unregistered_number_is_refused_without_a_reply(
    channel: tuple[TestClient[Any, Any], Replies],
) -> None:
    client, replies = channel
    response = await deliver(client, SEIZURE, sender="+919999999999")
    assert response.status == 403
    assert await replies.requested(at_least=0, within=0.5) == []


async def test_a_webhook_with_a_bad_signature_is_refused(
    channel: tuple[TestClient[Any, Any], Replies],
) -> None:
    client, replies = channel
    response = await deliver(client, SEIZURE, secret="not-the-secret")
    assert response.status == 401
    assert await replies.requested(at_least=0, within=0.5) == []


async def test_a_signed_webhook_that_is_not_json_is_a_400_naming_the_body(
    channel: tuple[TestClient[Any, Any], Replies],
) -> None:
    client, replies = channel
    body = b"{not json"
    response = await client.post("/v1/sms/inbound", data=body, headers=signed(body))
    assert response.status == 400
    assert "_body" in (await response.json())["error"]["fields"]
    assert await replies.requested(at_least=0, within=0.5) == []


async def test_a_replayed_or_stale_or_oddly_signed_webhook_is_refused_and_never_answered(
    channel: tuple[TestClient[Any, Any], Replies], topics: Topics
) -> None:
    client, replies = channel
    body = json.dumps(
        {"message_id": "gw-replay", "from": PHONE, "text": SEIZURE}, ensure_ascii=False
    ).encode()
    headers = signed(body)
    assert (await client.post("/v1/sms/inbound", data=body, headers=headers)).status == 200
    # The same bytes again, captured and resent: refused, nothing sent.
    again = await client.post("/v1/sms/inbound", data=body, headers=headers)
    assert again.status == 409
    assert (await again.json())["error"]["code"] == "replayed"
    # Signed six minutes ago, or in six minutes: outside the 5-minute skew.
    for moved in (-360, 360):
        stale = await client.post(
            "/v1/sms/inbound", data=body, headers=signed(body, at=time.time() + moved)
        )
        assert stale.status == 401
    # A timestamp float() would read as NaN, and a signature header that is not ASCII.
    weird = {**signed(body), "X-Prahari-Timestamp": "NaN"}
    assert (await client.post("/v1/sms/inbound", data=body, headers=weird)).status == 401
    odd = {**signed(body), "X-Prahari-Signature": "sha256=क"}
    assert (await client.post("/v1/sms/inbound", data=body, headers=odd)).status == 401
    assert len(await replies.requested(at_least=1, within=1)) == 1  # the first one's only


@pytest.mark.parametrize(
    "sender", ["+91 90000 00135", "919000000135", "09000000135", "9000000135", "+91-9000000135"]
)
async def test_the_sender_is_read_as_e164_however_it_is_written(
    channel: tuple[TestClient[Any, Any], Replies], sender: str
) -> None:
    client, replies = channel
    response = await deliver(client, SEIZURE, sender=sender)
    assert response.status == 200, await response.text()
    [reply] = await replies.requested()
    assert reply["to"] == PHONE


@pytest.mark.parametrize(
    "text",
    [
        "PR SZR ²³ c=liquor q=1 val=1 a=excise text",
        "PR SZR 135 c=liquor q=NaN val=1 a=excise text",
        "PR SZR 135 c=liquor q=1 val=inf a=excise text",
    ],
)
async def test_a_malformed_message_is_422_with_a_reply_saying_why(
    channel: tuple[TestClient[Any, Any], Replies], topics: Topics, text: str
) -> None:
    client, replies = channel
    response = await deliver(client, text)
    assert response.status == 422
    [reply] = await replies.requested()
    assert reply["template"] == "reply_not_filed"
    assert reply["to"] == PHONE
    assert await read_topic(topics.reports, at_least=0, within=0.5) == []


async def test_a_unit_with_a_pin_files_only_with_it_and_the_pin_is_not_kept(
    channel: tuple[TestClient[Any, Any], Replies], topics: Topics, registry: Registry
) -> None:
    client, replies = channel
    for text in (SEIZURE, f"PIN 1234 {SEIZURE}", "PIN 4321"):
        refused = await deliver(client, text, sender=PIN_PHONE)
        assert refused.status == 422
    assert [r["values"] for r in await replies.requested(at_least=3)] == [
        ["PIN missing or wrong"]
    ] * 3
    filed = await deliver(client, f"pin 4321 {SEIZURE}", sender=PIN_PHONE)
    assert filed.status == 200
    [message] = await read_topic(topics.reports, at_least=1)
    event = registry.decode(message.value or b"")
    assert event.actor.unit_id == "UP-CHA-PS-SAKALDIHA"
    assert "4321" not in json.dumps(event.payload, ensure_ascii=False)

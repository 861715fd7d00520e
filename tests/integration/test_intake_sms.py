"""Reports by SMS through the gateway's inbound webhook, on the real Kafka and PostgreSQL,
with a local SMS gateway that receives the replies."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from prahari_devsinks.sms import SmsGateway
from prahari_events.kafka import Topics
from prahari_events.registry import Registry
from prahari_events.telemetry import no_op_tracer
from prahari_intake.entrypoints.http import create_app
from prahari_intake.entrypoints.inbound_sms import signature
from tests.support import free_port, intake_settings, read_topic

pytestmark = pytest.mark.integration

SECRET = "webhook-secret-for-tests"
PHONE = "+919000000135"  # registered to an excise unit in Chandauli


@pytest.fixture
async def channel(
    topics: Topics, schema: str, pool: asyncpg.Pool, tmp_path: Path
) -> AsyncIterator[tuple[TestClient[Any, Any], SmsGateway]]:
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
                    }
                ]
            }
        )
    )
    gateway = SmsGateway()
    runner = web.AppRunner(gateway.app())
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    settings = intake_settings(
        topics,
        schema,
        PRAHARI_UNIT_DIRECTORY=str(units),
        PRAHARI_SMS_WEBHOOK_SECRET=SECRET,
        PRAHARI_SMS_GATEWAY_URL=f"http://127.0.0.1:{port}/sms",
    )
    try:
        async with TestClient(TestServer(create_app(settings, no_op_tracer()))) as client:
            yield client, gateway
    finally:
        await runner.cleanup()


async def deliver(
    client: TestClient[Any, Any],
    text: str,
    *,
    sender: str = PHONE,
    message_id: str = "",
    secret: str = SECRET,
) -> Any:
    body = json.dumps(
        {"message_id": message_id or str(uuid.uuid4()), "from": sender, "text": text},
        ensure_ascii=False,
    ).encode()
    return await client.post(
        "/v1/sms/inbound",
        data=body,
        headers={
            "Content-Type": "application/json",
            "X-Prahari-Signature": signature(secret.encode(), body),
        },
    )


SEIZURE = "PR SZR 135 c=liquor q=1200 val=480000 a=excise cp=Naubatpur ट्रक में अवैध शराब"


async def test_a_seizure_by_sms_is_filed_for_the_registered_unit_and_answered(
    channel: tuple[TestClient[Any, Any], SmsGateway], topics: Topics, registry: Registry
) -> None:
    client, gateway = channel
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
    [reply] = gateway.requests
    assert reply["body"]["to"] == PHONE
    assert "received for district 135" in reply["body"]["text"]


async def test_a_webhook_delivered_twice_files_one_report_and_sends_one_reply(
    channel: tuple[TestClient[Any, Any], SmsGateway], topics: Topics
) -> None:
    client, gateway = channel
    first = await (await deliver(client, SEIZURE, message_id="gw-2")).json()
    again = await (await deliver(client, SEIZURE, message_id="gw-2")).json()
    assert first["report_id"] == again["report_id"]
    assert len(await read_topic(topics.reports, at_least=1)) == 1
    assert len(gateway.delivered()) == 1  # the same reply reference: one SMS to the phone


async def test_a_malformed_sms_gets_a_reply_that_explains_the_format(
    channel: tuple[TestClient[Any, Any], SmsGateway], topics: Topics
) -> None:
    client, gateway = channel
    response = await deliver(client, "seized liquor at naubatpur")
    assert response.status == 200
    assert (await response.json())["filed"] is False
    [reply] = gateway.requests
    assert "start with PR" in reply["body"]["text"]
    assert "Format: PR TYPE DISTRICT" in reply["body"]["text"]
    assert await read_topic(topics.reports, at_least=0, within=0.5) == []


async def test_help_replies_with_the_keys_of_a_type(
    channel: tuple[TestClient[Any, Any], SmsGateway],
) -> None:
    client, gateway = channel
    await deliver(client, "PR HELP SZR")
    assert "c=category q=quantity val=rupees a=agency" in gateway.requests[0]["body"]["text"]


async def test_a_report_outside_the_units_district_is_refused_by_reply(
    channel: tuple[TestClient[Any, Any], SmsGateway], topics: Topics
) -> None:
    client, gateway = channel
    await deliver(client, "PR INC 184 c=violence scuffle at a booth")
    assert "district is not yours" in gateway.requests[0]["body"]["text"]
    assert await read_topic(topics.reports, at_least=0, within=0.5) == []


async def test_an_unregistered_number_is_refused_without_a_reply(
    channel: tuple[TestClient[Any, Any], SmsGateway],
) -> None:
    client, gateway = channel
    response = await deliver(client, SEIZURE, sender="+919999999999")
    assert response.status == 403
    assert gateway.requests == []


async def test_a_webhook_with_a_bad_signature_is_refused(
    channel: tuple[TestClient[Any, Any], SmsGateway],
) -> None:
    client, gateway = channel
    response = await deliver(client, SEIZURE, secret="not-the-secret")
    assert response.status == 401
    assert gateway.requests == []


async def test_a_signed_webhook_that_is_not_json_is_a_400_naming_the_body(
    channel: tuple[TestClient[Any, Any], SmsGateway],
) -> None:
    client, gateway = channel
    body = b"{not json"
    response = await client.post(
        "/v1/sms/inbound",
        data=body,
        headers={
            "Content-Type": "application/json",
            "X-Prahari-Signature": signature(SECRET.encode(), body),
        },
    )
    assert response.status == 400
    assert "_body" in (await response.json())["error"]["fields"]
    assert gateway.requests == []

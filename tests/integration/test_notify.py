"""notify on the real PostgreSQL, real SMTP servers (aiosmtpd, stopped and started here) and
two development SMS gateways over HTTP: routing, fallback and the circuit breaker, a gateway
that times out after accepting, receipts, expiry and escalation, digests, replies, reads."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from prahari_events import catalogue as c
from prahari_events.auth import Unit
from prahari_events.catalogue import build_registry
from prahari_events.envelope import Draft, Jurisdiction
from prahari_events.kafka import Topics
from prahari_notify.domain.routing import DEFAULT_ROUTES, load_routes
from tests.factories import AUDITOR, BIHAR_ROOM, STATION
from tests.notify_support import Rig, notify_rig, until
from tests.support import bearer

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]

DCR_PHONE, DCR_MAIL = "+919000000184", "dcr-184@control-room.prahari.test"
SCR_PHONE = "+919001000009"
SQUAD_PHONE = "+919100000184"


@pytest.fixture
async def rig(topics: Topics, schema: str, tmp_path: Path) -> AsyncIterator[Rig]:
    async with notify_rig(topics, schema, tmp_path) as rig:
        yield rig


def sms_to(rig: Rig, phone: str, gateway: str = "primary") -> list[dict[str, Any]]:
    g = rig.sms if gateway == "primary" else rig.sms_fallback
    return [r["body"] for r in g.delivered() if r["body"]["to"] == phone]


def mail_to(rig: Rig, address: str) -> list[Any]:
    return [m for m in rig.smtp.sink.received() if address in str(m["To"])]


async def types_of(rig: Rig, notification_id: uuid.UUID) -> list[str]:
    return [e.type for e in await rig.events_of(notification_id)]


async def row_for(rig: Rig, address: str) -> dict[str, Any]:
    async def found() -> dict[str, Any] | None:
        return next((r for r in await rig.rows() if r["address"] == address), None)

    row: dict[str, Any] = await until(found, within=10)
    return row


async def test_an_opened_case_reaches_the_district_room_once_by_sms_and_bilingual_email(
    rig: Rig,
) -> None:
    opened = await rig.open_case()
    await until(lambda: len(sms_to(rig, DCR_PHONE)) == 1 and len(mail_to(rig, DCR_MAIL)) == 1)
    [sms] = sms_to(rig, DCR_PHONE)
    assert sms["template_id"] == "1007000000000000002"  # Hindi, the room's language
    assert "तस्करी सूचना" in sms["text"]
    assert sms["unicode"] is True
    [mail] = mail_to(rig, DCR_MAIL)
    body = mail.get_body(("plain",)).get_content()
    assert "New smuggling tip case" in body
    assert "नया तस्करी सूचना मामला" in body
    # Redelivered by Kafka: nothing new is queued or sent.
    await rig.deliver(opened)
    assert len(await rig.rows()) == 2
    row = await row_for(rig, DCR_PHONE)
    # The gateway has it; notify records that a moment after the gateway's answer.
    expected = [c.NOTIFICATION_QUEUED, c.NOTIFICATION_SENT]
    assert await until(lambda: _types_are(rig, row["notification_id"], expected))


async def _types_are(rig: Rig, notification_id: uuid.UUID, expected: list[str]) -> bool:
    return await types_of(rig, notification_id) == expected


ROUTED = [
    (
        c.CASE_ASSIGNED,
        {
            "assignee": {
                "state": 9,
                "unit_id": "UP-SON-FS-1",
                "kind": "flying_squad",
                "name": "Flying Squad 1",
            },
            "note": None,
        },
        [SQUAD_PHONE],
    ),
    (
        c.CASE_SHARED,
        {"partner": {"state": 10, "district": 200}, "reason": "गिरोह सीमा पार"},
        ["+919001000010", "+919000000200"],
    ),
    (
        c.CASE_TRANSFER_REQUESTED,
        {"to": {"state": 10, "district": None}, "reason": "truck in Bihar"},
        ["+919001000010"],
    ),
    (
        c.CASE_TRANSFERRED,
        {"from": {"state": 9, "district": 184}, "to": {"state": 10, "district": 200}},
        ["+919001000010", "+919000000200"],
    ),
    (
        c.CASE_SLA_BREACHED,
        {"stage": "assign", "due_at": "2024-04-11T10:05:00+00:00", "level": "district"},
        [SCR_PHONE],
    ),
    (
        c.CASE_ESCALATED,
        {"from_level": "district", "to_level": "state", "reason": "no unit free"},
        [SCR_PHONE],
    ),
    (
        c.CASE_WATCHLIST_HIT,
        {
            "entry_id": str(uuid.uuid4()),
            "owner": {"state": 10, "unit_id": "BR-SCR"},
            "identifier": {"kind": "vehicle", "value": "BR01AB1234"},
        },
        ["+919001000010"],
    ),
    (
        c.CASE_CLOSED,
        {"disposition": "seizure_made", "summary": "1200 l seized", "duplicate_of": None},
        ["+919200000184"],
    ),
]


TEMPLATE_OF = {name: route.template for name, route in load_routes(DEFAULT_ROUTES).routes.items()}


@pytest.mark.parametrize(("event_type", "payload", "phones"), ROUTED, ids=[r[0] for r in ROUTED])
async def test_each_routing_rule_reaches_its_recipients(
    rig: Rig, event_type: str, payload: dict[str, Any], phones: list[str]
) -> None:
    await rig.open_case()
    await rig.deliver(rig.event(event_type, payload))
    await until(lambda: all(len(sms_to(rig, p)) == 1 for p in phones))
    rows = [r for r in await rig.rows() if r["cause"] == event_type]
    assert {r["address"] for r in rows if r["channel"] == "sms"} == set(phones)
    assert rows[0]["template"] == TEMPLATE_OF[event_type]
    text = sms_to(rig, phones[0])[0]["text"]
    assert text.startswith(("PRAHARI", "प्रहरी"))


async def test_an_unknown_recipient_is_an_undeliverable_event_not_a_silent_skip(rig: Rig) -> None:
    await rig.open_case()
    unknown = {"state": 9, "unit_id": "UP-SON-GONE", "kind": "flying_squad", "name": "Gone"}
    no_contact = {"state": 9, "unit_id": "UP-SON-EXCISE-1", "kind": "excise_unit", "name": "Ex"}
    await rig.deliver(rig.event(c.CASE_ASSIGNED, {"assignee": unknown, "note": None}))
    await rig.deliver(rig.event(c.CASE_ASSIGNED, {"assignee": no_contact, "note": None}))
    rows = await rig.pool.fetch(
        "SELECT convert_from(body, 'UTF8')::jsonb -> 'payload' AS p FROM events WHERE type = $1",
        c.NOTIFICATION_UNDELIVERABLE,
    )
    reasons = sorted(r["p"]["reason"] for r in rows)
    assert reasons == ["not in the unit directory", "the unit has no phone or email"]


async def test_a_gateway_that_times_out_after_accepting_sends_one_sms(rig: Rig) -> None:
    rig.sms.timeout_next, rig.sms.hang_s = 1, 3.0  # longer than notify's 1 s timeout
    await rig.open_case()
    row = await row_for(rig, DCR_PHONE)

    async def sent() -> bool:
        return c.NOTIFICATION_SENT in await types_of(rig, row["notification_id"])

    await until(sent, within=15)
    events = await rig.events_of(row["notification_id"])
    unknown = [e for e in events if e.type == c.NOTIFICATION_ATTEMPT_FAILED]
    assert [e.payload["outcome"] for e in unknown] == ["unknown"]
    [sent_event] = [e for e in events if e.type == c.NOTIFICATION_SENT]
    assert sent_event.payload["provider"] == "sms-primary"  # pinned: never the fallback
    posts = [r for r in rig.sms.requests if r["body"]["to"] == DCR_PHONE]
    assert len(posts) == 1  # asked for the reference's status instead of sending again
    assert sms_to(rig, DCR_PHONE, "fallback") == []


async def test_a_failing_gateway_falls_back_opens_its_circuit_and_closes_it_again(
    rig: Rig,
) -> None:
    rig.sms.fail_next = 1000  # the primary gateway answers 503 to everything
    for n in (1, 2, 3):
        rig.case_id, rig._version = uuid.uuid4(), 0
        await rig.open_case()
        await until(partial(_count_is, rig, n), within=15)
    # Each of the first two was refused by the primary and then sent by the fallback; two
    # failures opened the breaker, so the third went straight to the fallback.
    assert len(rig.sms.requests) == 2
    rig.sms.fail_next = 0
    # After the cool-down (1.5 s in these tests; notify's clock is moved past it) a trial
    # goes to the primary again and closes the circuit.
    rig.clock.advance(1.6)
    rig.case_id, rig._version = uuid.uuid4(), 0
    await rig.open_case()
    await until(lambda: len(sms_to(rig, DCR_PHONE, "primary")) == 1, within=10)

    async def sms_sent() -> list[str] | None:
        rows = await rig.pool.fetch(
            "SELECT convert_from(body, 'UTF8')::jsonb -> 'payload' ->> 'provider' AS p"
            " FROM events WHERE type = $1",
            c.NOTIFICATION_SENT,
        )
        found = [r["p"] for r in rows if r["p"].startswith("sms")]
        return found if len(found) == 4 else None  # recorded a moment after the answers

    providers = sorted(await until(sms_sent))
    assert providers.count("sms-fallback") == 3
    assert "sms-primary" in providers


def _count_is(rig: Rig, n: int) -> bool:
    return len(sms_to(rig, DCR_PHONE, "fallback")) == n


async def test_with_every_smtp_relay_stopped_sms_still_go_out(rig: Rig) -> None:
    rig.smtp.stop()
    rig.smtp_fallback.stop()
    await rig.open_case()
    await until(lambda: len(sms_to(rig, DCR_PHONE)) == 1, within=10)
    mail_row = await row_for(rig, DCR_MAIL)
    assert mail_row["status"] == "queued"  # still trying: mail waits, SMS did not
    rig.smtp.start()

    async def mailed() -> bool:
        return len(mail_to(rig, DCR_MAIL)) == 1

    await until(mailed, within=20)


async def test_receipts_deliver_and_late_or_replayed_ones_change_nothing(rig: Rig) -> None:
    rig.sms.drop_receipts = False
    await rig.open_case()
    row = await row_for(rig, DCR_PHONE)

    async def delivered() -> bool:
        # The report may come before notify has recorded the gateway's answer: wait for both.
        kinds = await types_of(rig, row["notification_id"])
        return c.NOTIFICATION_DELIVERED in kinds and c.NOTIFICATION_SENT in kinds

    await until(delivered, within=10)
    before = await types_of(rig, row["notification_id"])
    at = datetime.now(UTC).isoformat()
    late_failure = {
        "reference": str(row["notification_id"]),
        "id": "x",
        "status": "failed",
        "reason": "late",
        "at": at,
    }
    assert (await rig.receipt(late_failure)).status == 200
    replay = {**late_failure, "status": "delivered", "reason": None}
    assert (await rig.receipt(replay)).status == 200
    assert await types_of(rig, row["notification_id"]) == before
    [found] = [r for r in await rig.rows() if r["notification_id"] == row["notification_id"]]
    assert found["status"] == "delivered"
    # Unsigned, stale or unknown: refused with a reason.
    stale = str(int((datetime.now(UTC) - timedelta(minutes=6)).timestamp()))
    assert (await rig.receipt(replay, timestamp=stale)).status == 401
    bad = await rig.client.post("/v1/receipts/sms", json=replay)
    assert bad.status == 401
    unknown = await rig.receipt({**replay, "reference": str(uuid.uuid4())})
    assert unknown.status == 404
    invalid = await rig.receipt({**replay, "status": "lost"})
    assert invalid.status == 400
    assert "status" in (await invalid.json())["error"]["fields"]


async def test_a_receipt_before_our_record_of_sending_stays_delivered(rig: Rig) -> None:
    rig.sms.drop_receipts = False
    rig.sms.delay_s = 0.3  # the report arrives while notify still waits for the answer
    rig.sms.receipt_delay_s = 0.0
    await rig.open_case()
    row = await row_for(rig, DCR_PHONE)

    async def both() -> bool:
        kinds = await types_of(rig, row["notification_id"])
        return c.NOTIFICATION_DELIVERED in kinds and c.NOTIFICATION_SENT in kinds

    await until(both, within=10)
    [found] = [r for r in await rig.rows() if r["notification_id"] == row["notification_id"]]
    assert found["status"] == "delivered"


async def test_an_alert_not_delivered_in_time_expires_and_the_next_level_is_told(
    topics: Topics, schema: str, tmp_path: Path
) -> None:
    routes = json.loads(DEFAULT_ROUTES.read_text())
    routes["routes"]["case.assigned"]["ttl_s"] = 1
    async with notify_rig(topics, schema, tmp_path, routes=routes) as rig:
        await rig.open_case()
        squad = {"state": 9, "unit_id": "UP-SON-FS-1", "kind": "flying_squad", "name": "FS 1"}
        await rig.deliver(rig.event(c.CASE_ASSIGNED, {"assignee": squad, "note": None}))
        # The gateway takes the SMS but no delivery report ever comes.
        await until(lambda: len(sms_to(rig, SQUAD_PHONE)) == 1)
        row = await row_for(rig, SQUAD_PHONE)

        async def expired() -> bool:
            await rig.sweep()
            return c.NOTIFICATION_EXPIRED in await types_of(rig, row["notification_id"])

        await until(expired, within=10)
        await until(lambda: len(sms_to(rig, SCR_PHONE)) == 1, within=10)
        assert "FS 1" not in sms_to(rig, SCR_PHONE)[0]["text"]
        assert "Flying Squad 1" in sms_to(rig, SCR_PHONE)[0]["text"]
        expired_event = (await rig.events_of(row["notification_id"]))[-1]
        assert len(expired_event.payload["escalated_to"]) == 2  # the SCR's SMS and email
        listed = await rig.client.get(
            "/v1/notifications", params={"state": "expired"}, headers=bearer(AUDITOR)
        )
        assert [n["address"] for n in (await listed.json())["notifications"]] == [SQUAD_PHONE]


async def test_fifty_linked_reports_send_one_message_and_one_digest(rig: Rig) -> None:
    await rig.open_case(report_type="rumour")
    linked = [
        rig.event(
            c.CASE_REPORT_LINKED,
            {
                "report": {
                    "report_id": str(uuid.uuid4()),
                    "report_type": "rumour",
                    "description": f"मतदान की तारीख बदली: संदेश {i}",
                    "state": 9,
                    "district": 184,
                    "reported_by": {
                        "unit_id": "UP-SON-PS-ROBERTSGANJ",
                        "role": "reporter",
                        "kind": "police_station",
                        "state": 9,
                        "district": 184,
                    },
                    "reported_at": datetime.now(UTC).isoformat(),
                    "estimated_reach": None,
                    "identifiers": [],
                    "source": None,
                },
                "matched": {"kind": "rumour", "value": "poll-date"},
            },
        )
        for i in range(50)
    ]
    await rig.deliver(*linked)

    async def digest_sent() -> bool:
        await rig.sweep()
        return len(sms_to(rig, DCR_PHONE)) == 3  # opened, first follow-up, digest

    await until(digest_sent, within=15)
    texts = [s["text"] for s in sms_to(rig, DCR_PHONE)]
    assert "49" in texts[2]
    digest_rows = [r for r in await rig.rows() if r["cause"] == c.CASE_REPORT_LINKED]
    assert len(digest_rows) == 4  # first follow-up and digest, by SMS and by email


async def test_a_reply_requested_by_intake_goes_out_through_notify(rig: Rig) -> None:
    draft = Draft(
        type=c.SMS_REPLY_REQUESTED,
        payload={
            "message_id": "gw-77",
            "to": "+919200000184",
            "template": "reply_filed",
            "values": ["8786C783", "184"],
            "report_id": None,
        },
        actor=STATION.actor(),
        jurisdiction=Jurisdiction(9, 184),
        correlation_id=uuid.uuid4(),
    )
    event = build_registry().stamp(
        draft,
        stream_id="sms-reply-gw-77",
        stream_version=1,
        recorded_at=datetime.now(UTC),
        trace={},
    )
    await rig.deliver(event, event)
    await until(lambda: len(sms_to(rig, "+919200000184")) == 1)
    assert sms_to(rig, "+919200000184")[0]["text"] == (
        "PRAHARI: report 8786C783 received for district 184."
    )
    assert len([r for r in rig.sms.requests if r["body"]["to"] == "+919200000184"]) == 1
    # Not the gateway's de-duplication: notify made one notification of the two copies
    # (delivered before anything was sent), so there is nothing left to send twice.
    assert (
        await rig.pool.fetchval(
            "SELECT count(*) FROM deliveries WHERE address = $1", "+919200000184"
        )
        == 1
    )


async def test_reads_show_state_and_attempts_to_those_who_may_see_the_case(rig: Rig) -> None:
    rig.sms.fail_next, rig.sms.fail_status = 1, 400  # refused for good: a bad number
    rig.sms_fallback.fail_next, rig.sms_fallback.fail_status = 1, 400
    await rig.open_case()
    row = await row_for(rig, DCR_PHONE)

    async def failed() -> bool:
        return c.NOTIFICATION_FAILED in await types_of(rig, row["notification_id"])

    await until(failed)
    room = bearer(DCR)
    answer = await rig.client.get(
        "/v1/notifications", params={"case_id": str(rig.case_id)}, headers=room
    )
    states = {
        n["channel"]: (n["status"], n["attempts"]) for n in (await answer.json())["notifications"]
    }
    assert states["sms"] == ("failed", 1)
    failed_list = await rig.client.get(
        "/v1/notifications", params={"state": "failed"}, headers=room
    )
    assert [n["address"] for n in (await failed_list.json())["notifications"]] == [DCR_PHONE]
    # Bihar may not see a UP case: not here, not in the failed list either.
    other = await rig.client.get(
        "/v1/notifications", params={"case_id": str(rig.case_id)}, headers=bearer(BIHAR_ROOM)
    )
    assert other.status == 404
    elsewhere = await rig.client.get(
        "/v1/notifications", params={"state": "failed"}, headers=bearer(BIHAR_ROOM)
    )
    assert (await elsewhere.json())["notifications"] == []
    # The reporting station sees that the room was told, not its phone.
    mine = await rig.client.get(
        "/v1/notifications", params={"case_id": str(rig.case_id)}, headers=bearer(STATION)
    )
    assert all("address" not in n for n in (await mine.json())["notifications"])
    bad = await rig.client.get("/v1/notifications", params={"state": "lost"}, headers=room)
    assert bad.status == 400
    assert "state" in (await bad.json())["error"]["fields"]


DCR = Unit("UP-SON-DCR", "district_control_room", "control_room", 9, 184)

"""notify and threads (issue 14), on the real PostgreSQL, a local SMTP server and the HTTP
SMS gateway: a unit mentioned in a thread gets one SMS at once, however often the event
comes; the thread's other control rooms get the first message at once and the rest as one
digest; the poster is never told of its own message."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from prahari_events import catalogue as c
from prahari_events.catalogue import build_registry
from prahari_events.envelope import Actor, Draft, Envelope, Jurisdiction
from prahari_events.kafka import Topics
from tests.notify_support import Rig, notify_rig, until

pytestmark = pytest.mark.integration

SON_DCR, KAI_DCR, ROBERTSGANJ = "+919000000184", "+919000000200", "+919200000184"
STATION = Actor("UP-SON-PS-ROBERTSGANJ", "reporter", "police_station", 9, 184)
KAI_ROOM = Actor("BR-KAI-DCR", "control_room", "district_control_room", 10, 200)
AUDIENCE = [{"state": 9, "district": 184}, {"state": 10, "district": 200}]


@pytest.fixture
async def rig(topics: Topics, schema: str, tmp_path: Path) -> AsyncIterator[Rig]:
    async with notify_rig(topics, schema, tmp_path) as rig:
        yield rig


class Thread:
    def __init__(self) -> None:
        self.thread_id = uuid.uuid4()
        self.version = 0

    def message(self, by: Actor, text: str, mentions: list[dict[str, Any]]) -> Envelope:
        self.version += 1
        draft = Draft(
            type=c.THREAD_MESSAGE_POSTED,
            payload={
                "thread_id": str(self.thread_id),
                "kind": "border",
                "message_id": str(uuid.uuid4()),
                "text": text,
                "attachments": [],
                "mentions": mentions,
                "audience": AUDIENCE,
                "case_id": None,
            },
            actor=by,
            jurisdiction=Jurisdiction(by.state or 9, by.district),
            correlation_id=self.thread_id,
            occurred_at=datetime.now(UTC),
        )
        return build_registry().stamp(
            draft,
            stream_id=f"thread-{self.thread_id}",
            stream_version=self.version,
            recorded_at=datetime.now(UTC),
            trace={},
        )


def sms_to(rig: Rig, phone: str) -> list[str]:
    return [r["body"]["text"] for r in rig.sms.delivered() if r["body"]["to"] == phone]


async def test_a_mention_sends_that_unit_one_sms_at_once(rig: Rig) -> None:
    thread = Thread()
    first = thread.message(
        STATION, "कर्मनासा की ओर ट्रक BR01AB1234", [{"state": 10, "unit_id": "BR-KAI-DCR"}]
    )
    await rig.deliver(first, first)  # the second is a redelivery: skipped, as the consumer does
    await until(lambda: len(sms_to(rig, KAI_DCR)) == 1 and len(sms_to(rig, SON_DCR)) == 1)
    (mention,) = sms_to(rig, KAI_DCR)
    assert "उल्लेख" in mention  # Kaimur's control room reads Hindi
    assert "UP-SON-PS-ROBERTSGANJ" in mention
    (told,) = sms_to(rig, SON_DCR)  # the thread's other control room: the first message
    assert "नया संदेश" in told
    rows = await rig.pool.fetch(
        "SELECT * FROM deliveries WHERE cause = $1", c.THREAD_MESSAGE_POSTED
    )
    by_template = sorted((r["template"], r["channel"], r["recipient_unit"]) for r in rows)
    assert by_template == [
        ("thread_mention", "email", "BR-KAI-DCR"),
        ("thread_mention", "sms", "BR-KAI-DCR"),
        ("thread_message", "email", "UP-SON-DCR"),
        ("thread_message", "sms", "UP-SON-DCR"),
    ]
    assert sms_to(rig, ROBERTSGANJ) == []  # never told of its own message
    assert all(r["case_id"] is None for r in rows)  # a border thread is no case


async def test_other_messages_reach_the_control_rooms_as_one_digest(rig: Rig) -> None:
    thread = Thread()
    await rig.deliver(*(thread.message(KAI_ROOM, f"नाका अद्यतन {n}", []) for n in range(10)))

    async def digested() -> bool:
        await rig.sweep()
        return len(sms_to(rig, SON_DCR)) == 2

    await until(digested, within=15)
    first, digest = sms_to(rig, SON_DCR)
    assert "नाका अद्यतन 0" in first
    assert "9" in digest
    assert sms_to(rig, KAI_DCR) == []  # Kaimur's room posted them


async def test_a_mention_that_cannot_be_told_is_an_undeliverable_event(rig: Rig) -> None:
    thread = Thread()
    mentions = [{"state": 9, "unit_id": "UP-SON-EXCISE-1"}, {"state": 9, "unit_id": "UP-GONE"}]
    await rig.deliver(thread.message(KAI_ROOM, "आबकारी दल को सूचित करें", mentions))
    rows = await rig.pool.fetch(
        "SELECT convert_from(body, 'UTF8')::jsonb -> 'payload' AS p FROM events WHERE type = $1",
        c.NOTIFICATION_UNDELIVERABLE,
    )
    reasons = sorted(r["p"]["reason"] for r in rows)
    assert reasons == ["not in the unit directory", "the unit has no phone or email"]

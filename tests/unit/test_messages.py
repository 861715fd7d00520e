"""notify's message rules: DLT templates, SMS segments, who gets told."""

from __future__ import annotations

import uuid

import pytest

from prahari_events.sms import MAX_VAR, SmsTemplate, sms_segments
from prahari_notify.domain.messages import (
    ContactDirectory,
    ControlRoom,
    case_opened_messages,
    notification_id,
)
from prahari_notify.entrypoints.http import TEMPLATE_TEXT

EN = SmsTemplate("1007000000000000001", "en", TEMPLATE_TEXT["en"])
HI = SmsTemplate("1007000000000000002", "hi", TEMPLATE_TEXT["hi"])
ROOM = ControlRoom("DCR Sonbhadra", 9, 184, "dcr@example.test", "+919000000184", "hi")
STATE_ROOM = ControlRoom("SCR UP", 9, None, "scr@example.test", "+919001000009", "en")
CASE = {
    "case_id": "8786c783-91b2-54fd-9b26-59044443f88c",
    "report_type": "smuggling_tip",
    "description": "अवैध शराब",
    "assign_by": "2024-04-11T10:05:00.000000+00:00",
}


@pytest.mark.parametrize(
    ("text", "encoding", "parts"),
    [
        ("a" * 160, "GSM-7", 1),
        ("a" * 161, "GSM-7", 2),
        ("a" * 306, "GSM-7", 2),
        ("a" * 307, "GSM-7", 3),
        ("€" * 80, "GSM-7", 1),  # extension characters take two septets
        ("€" * 81, "GSM-7", 2),
        ("क" * 70, "UCS-2", 1),
        ("क" * 71, "UCS-2", 2),
        ("क" * 134, "UCS-2", 2),
        ("क" * 135, "UCS-2", 3),
        ("a" * 69 + "क", "UCS-2", 1),  # one Hindi letter turns the whole message UCS-2
    ],
)
def test_sms_segments(text: str, encoding: str, parts: int) -> None:
    segments = sms_segments(text)
    assert (segments.encoding, segments.parts) == (encoding, parts)


def test_template_variables_are_clipped_to_the_dlt_limit() -> None:
    text = EN.render(["x" * 100, "REF", "Sonbhadra", "10:05 IST"])
    assert "x" * MAX_VAR not in text
    assert EN.matches(text)


def test_a_message_that_strays_from_its_template_does_not_match() -> None:
    text = EN.render(["seizure", "REF", "Sonbhadra", "10:05 IST"])
    assert not EN.matches(text.replace("Assign by", "Ignore by"))
    assert not EN.matches(text + " extra")


def test_a_case_tells_the_district_room_by_sms_in_hindi_and_by_email() -> None:
    event_id = uuid.uuid4()
    messages = case_opened_messages(event_id, CASE, [ROOM], "Sonbhadra", {"en": EN, "hi": HI})
    sms, mail = messages
    assert (sms.channel, sms.address, sms.template_id) == ("sms", ROOM.phone, HI.template_id)
    assert HI.matches(sms.body)
    assert "तस्करी सूचना" in sms.body
    assert "15:35 IST" in sms.body  # 10:05 UTC in India
    assert sms_segments(sms.body).encoding == "UCS-2"
    assert (mail.channel, mail.address) == ("email", ROOM.email)
    assert mail.subject is not None
    assert "8786C783" in mail.subject
    assert "अवैध शराब" in mail.body


def test_message_ids_are_derived_so_a_redelivery_cannot_double_them() -> None:
    event_id = uuid.uuid4()
    first = case_opened_messages(event_id, CASE, [ROOM], "Sonbhadra", {"en": EN, "hi": HI})
    again = case_opened_messages(event_id, CASE, [ROOM], "Sonbhadra", {"en": EN, "hi": HI})
    assert [m.notification_id for m in first] == [m.notification_id for m in again]
    assert notification_id(event_id, "sms", "+919000000184") != notification_id(
        uuid.uuid4(), "sms", "+919000000184"
    )


def test_a_district_without_its_own_room_falls_back_to_the_state_room() -> None:
    directory = ContactDirectory([ROOM, STATE_ROOM])
    assert directory.for_place(9, 184) == [ROOM]
    assert directory.for_place(9, 135) == [STATE_ROOM]
    assert directory.for_place(10, 200) == []

"""What to send, to whom, in which words. Pure functions: no I/O.

SMS in India goes through TRAI's DLT: a registered sender header, a registered entity and
pre-approved templates whose `{#var#}` placeholders take at most 30 characters each; a
message that does not match its template is blocked. Hindi needs UCS-2 (70 characters in
one SMS, 67 per part when split); GSM-7 text gets 160, or 153 per part.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from prahari_events.sms import SmsTemplate, sms_segments

IST = timezone(timedelta(hours=5, minutes=30), "IST")

_NOTIFICATION_IDS = uuid.UUID("0b5e7f0e-2d7a-4b8e-9d0c-6a1f3e2b9c41")

REPORT_TYPE_LABELS: Mapping[str, tuple[str, str]] = {
    "rumour": ("rumour", "अफवाह"),
    "smuggling_tip": ("smuggling tip", "तस्करी सूचना"),
    "seizure": ("seizure", "जब्ती"),
    "intelligence": ("intelligence", "गुप्त सूचना"),
    "incident": ("incident", "घटना"),
}


@dataclass(frozen=True, slots=True)
class ControlRoom:
    name: str
    state: int
    district: int | None
    email: str | None
    phone: str | None
    language: str  # "hi" or "en": the language of its SMS; email is always bilingual


@dataclass(frozen=True, slots=True)
class ContactDirectory:
    rooms: Sequence[ControlRoom]

    def for_place(self, state: int, district: int) -> list[ControlRoom]:
        """The district's control room; the state's when the district has none listed."""
        local = [r for r in self.rooms if r.state == state and r.district == district]
        if local:
            return local
        return [r for r in self.rooms if r.state == state and r.district is None]


@dataclass(frozen=True, slots=True)
class Message:
    notification_id: uuid.UUID
    channel: str
    recipient_name: str
    address: str
    subject: str | None
    body: str
    template_id: str | None
    segments: int | None

    def payload(self, case_id: str) -> dict[str, Any]:
        return {
            "notification_id": str(self.notification_id),
            "case_id": case_id,
            "channel": self.channel,
            "recipient": {"name": self.recipient_name, "address": self.address},
            "subject": self.subject,
            "body": self.body,
            "template_id": self.template_id,
            "segments": self.segments,
        }


def notification_id(event_id: uuid.UUID, channel: str, address: str) -> uuid.UUID:
    """Derived, not random: one case event can only ever mean one message per address."""
    return uuid.uuid5(_NOTIFICATION_IDS, f"{event_id}:{channel}:{address}")


def case_ref(case_id: str) -> str:
    return case_id.replace("-", "")[:8].upper()


def case_opened_messages(
    event_id: uuid.UUID,
    case: Mapping[str, Any],
    rooms: Sequence[ControlRoom],
    district_name: str,
    templates: Mapping[str, SmsTemplate],
) -> list[Message]:
    label_en, label_hi = REPORT_TYPE_LABELS.get(case["report_type"], (case["report_type"],) * 2)
    ref = case_ref(case["case_id"])
    assign_by = datetime.fromisoformat(case["assign_by"]).astimezone(IST).strftime("%H:%M IST")
    messages: list[Message] = []
    for room in rooms:
        if room.phone:
            template = templates.get(room.language) or templates["en"]
            values = (
                [district_name, label_hi, ref, assign_by]
                if template.language == "hi"
                else [label_en, ref, district_name, assign_by]
            )
            text = template.render(values)
            messages.append(
                Message(
                    notification_id(event_id, "sms", room.phone),
                    "sms",
                    room.name,
                    room.phone,
                    None,
                    text,
                    template.template_id,
                    sms_segments(text).parts,
                )
            )
        if room.email:
            subject = f"[Prahari] New {label_en} case {ref} in {district_name} / नया मामला"
            body = (
                f"A new {label_en} case has been opened in {district_name}.\n"
                f"Case: {case['case_id']}\n"
                f"Assign by: {assign_by}\n"
                f"Report: {case['description']}\n\n"
                f"{district_name} में नया {label_hi} मामला खोला गया है।\n"
                f"मामला: {case['case_id']}\n"
                f"{assign_by} तक आवंटित करें।\n"
            )
            messages.append(
                Message(
                    notification_id(event_id, "email", room.email),
                    "email",
                    room.name,
                    room.email,
                    subject,
                    body,
                    None,
                    None,
                )
            )
    return messages

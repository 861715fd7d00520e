"""What to send, to whom, in which words. Pure functions: no I/O.

A routed case event becomes, for each unit the route names, an SMS in the unit's language
(if it has a phone) and a bilingual email (if it has an address), each rendered from the
route's template. SMS in India goes through TRAI's DLT: a registered sender header and
pre-approved templates whose `{#var#}` slots take at most 30 characters each.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from prahari_events import catalogue as c
from prahari_events import lgd
from prahari_events.envelope import iso
from prahari_events.policy import Area
from prahari_events.units import DirectoryUnit
from prahari_notify.domain.notification import notification_id
from prahari_notify.domain.templates import TEMPLATES, Template, render_email, render_sms

IST = timezone(timedelta(hours=5, minutes=30), "IST")

REPORT_TYPE_LABELS: Mapping[str, tuple[str, str]] = {
    "rumour": ("rumour", "अफवाह"),
    "smuggling_tip": ("smuggling tip", "तस्करी सूचना"),
    "seizure": ("seizure", "जब्ती"),
    "intelligence": ("intelligence", "गुप्त सूचना"),
    "incident": ("incident", "घटना"),
}


@dataclass(frozen=True, slots=True)
class Message:
    notification_id: uuid.UUID
    channel: str
    recipient: DirectoryUnit | None
    recipient_name: str
    address: str
    subject: str | None
    body: str
    template: str
    template_id: str | None
    segments: int | None
    language: str

    def payload(
        self, case_id: str | None, cause: str, expires_at: datetime, digest_of: int | None
    ) -> dict[str, Any]:
        unit = self.recipient
        return {
            "notification_id": str(self.notification_id),
            "case_id": case_id,
            "channel": self.channel,
            "recipient": {
                "name": self.recipient_name,
                "address": self.address,
                "state": unit.state if unit else None,
                "unit_id": unit.unit_id if unit else None,
            },
            "subject": self.subject,
            "body": self.body,
            "template_id": self.template_id,
            "segments": self.segments,
            "cause": cause,
            "template": self.template,
            "expires_at": iso(expires_at),
            "digest_of": digest_of,
        }


def case_ref(case_id: str) -> str:
    return case_id.replace("-", "")[:8].upper()


def place_name(places: lgd.Directory, area: Area | None) -> str:
    if area is None:
        return ""
    if area.district is not None:
        return places.district_name(area.district)
    return places.states.get(area.state, str(area.state)).title()


def _clock(moment: str) -> str:
    return datetime.fromisoformat(moment).astimezone(IST).strftime("%H:%M IST")


def values_for(
    event_type: str,
    payload: Mapping[str, Any],
    *,
    case_id: str,
    place: str,
    report_type: str | None,
    places: lgd.Directory,
) -> dict[str, str]:
    """The values the templates take, from one case event and what notify knows of its case."""
    label_en, label_hi = REPORT_TYPE_LABELS.get(report_type or "", (report_type or "",) * 2)
    v = {"ref": case_ref(case_id), "district": place, "type_en": label_en, "type_hi": label_hi}
    p = payload
    if event_type == c.CASE_OPENED:
        v["deadline"] = _clock(p["assign_by"])
    elif event_type == c.CASE_REPORT_LINKED:
        kind_en = REPORT_TYPE_LABELS.get(p["report"]["report_type"], ("report", ""))[0]
        v["detail"] = f"{kind_en}: {p['report']['description']}"
    elif event_type in (c.CASE_SHARED, c.CASE_TRANSFER_REQUESTED, c.CASE_ESCALATED):
        v["origin"] = place
        v["detail"] = p["reason"]
    elif event_type == c.CASE_TRANSFERRED:
        v["origin"] = place_name(places, Area(p["from"]["state"], p["from"]["district"]))
    elif event_type == c.CASE_SLA_BREACHED:
        v["detail"] = p["stage"].replace("_", " ")
        v["deadline"] = _clock(p["due_at"])
    elif event_type == c.CASE_WATCHLIST_HIT:
        v["detail"] = f"{p['identifier']['kind']} {p['identifier']['value']}"
    elif event_type == c.CASE_CLOSED:
        v["detail"] = p["disposition"].replace("_", " ")
    elif event_type == c.CASE_TAKEDOWN_REQUESTED:
        v["detail"] = p["platform"]
        v["deadline"] = _clock(p["due_at"])
    elif event_type == c.CASE_TAKEDOWN_REFUSED:
        v["detail"] = "the platform"
    return v


def details_for(event_type: str, payload: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The email's lines beyond the SMS text: what the control room reads before acting."""
    p = payload
    if event_type == c.CASE_OPENED:
        return [("Report / सूचना", p["description"])]
    if event_type == c.CASE_REPORT_LINKED:
        return [("Report / सूचना", p["report"]["description"])]
    if event_type == c.CASE_CLOSED:
        return [("Summary / सारांश", p["summary"])]
    if event_type == c.CASE_TAKEDOWN_REQUESTED:
        return [
            ("Post / पोस्ट", p["url"]),
            ("Legal basis / कानूनी आधार", p["legal_basis"]),
            ("Nodal officer / नोडल अधिकारी", p["nodal_officer"]),
        ]
    if p.get("reason"):
        return [("Reason / कारण", p["reason"])]
    return []


def sms_message(
    cause_id: uuid.UUID | str,
    template: Template,
    values: Mapping[str, str],
    *,
    to: str,
    name: str,
    language: str,
    unit: DirectoryUnit | None,
) -> Message:
    """One SMS from a template in the recipient's language; its id derives from the cause."""
    sms = render_sms(template, language, values)
    return Message(
        notification_id(cause_id, "sms", to),
        "sms",
        unit,
        name,
        to,
        None,
        sms.text,
        template.name,
        sms.template_id,
        sms.segments,
        language,
    )


def compose(
    cause_id: uuid.UUID | str,
    template: Template,
    units: Sequence[DirectoryUnit],
    values: Mapping[str, str],
    details: Sequence[tuple[str, str]],
) -> list[Message]:
    """One SMS per unit with a phone (in its language) and one bilingual email per unit with
    an address. Ids derive from the cause, so a redelivered event cannot double a message."""
    messages: list[Message] = []
    for unit in units:
        if unit.phone:
            messages.append(
                sms_message(
                    cause_id,
                    template,
                    values,
                    to=unit.phone,
                    name=unit.name,
                    language=unit.language,
                    unit=unit,
                )
            )
        if unit.email:
            subject, body = render_email(template, values, details)
            messages.append(
                Message(
                    notification_id(cause_id, "email", unit.email),
                    "email",
                    unit,
                    unit.name,
                    unit.email,
                    subject,
                    body,
                    template.name,
                    None,
                    None,
                    unit.language,
                )
            )
    return messages


def reply(
    message_id: str, to: str, template_name: str, values: Sequence[str], language: str
) -> Message:
    """Intake's answer to an SMS it received, rendered with the reply template named."""
    template = TEMPLATES[template_name]
    names = template.sms(language)[1]
    return sms_message(
        f"reply:{message_id}", template, dict(zip(names, values, strict=False)),
        to=to, name=to, language=language, unit=None,
    )  # fmt: skip

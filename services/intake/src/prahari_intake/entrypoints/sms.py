"""Reports by SMS, for units without a data connection.

Format (one SMS; keys depend on the type; the free text, Hindi or English, comes last):

    PR <TYPE> <district LGD code> [key=value ...] <what happened>

    RUM  rumour          p=platform h=handle-or-URL [l=language]
    TIP  smuggling tip   c=commodity [v=vehicle]
    SZR  seizure         c=category q=quantity val=rupees a=agency [cp=check-post] [v=vehicle]
    INT  intelligence    s=subject [v=vehicle]
    INC  incident        c=category [inj=injured]

    PR SZR 135 c=liquor q=1200 val=480000 a=excise cp=Naubatpur ट्रक में अवैध शराब
    PR HELP SZR      (replies with the keys of a type)

The text is turned into the same JSON report the HTTP API takes and goes through the same
validation, so the two channels cannot drift apart.
"""

from __future__ import annotations

import hmac
import re
from datetime import datetime
from typing import Any

from prahari_events.catalogue import SEIZURE_UNITS

TYPES = {
    "RUM": "rumour",
    "TIP": "smuggling_tip",
    "SZR": "seizure",
    "INT": "intelligence",
    "INC": "incident",
}
KEYS: dict[str, dict[str, str]] = {
    "rumour": {"p": "platform", "h": "handle", "l": "language"},
    "smuggling_tip": {"c": "commodity", "v": "vehicles"},
    "seizure": {
        "c": "category",
        "q": "quantity",
        "val": "value_inr",
        "a": "agency",
        "cp": "check_post",
        "v": "vehicles",
    },
    "intelligence": {"s": "subject", "v": "vehicles"},
    "incident": {"c": "category", "inj": "injured"},
}
# Replies are notify's DLT templates, named here with their values; notify renders them
# (prahari_notify.domain.templates) and sends them, as it sends every outbound SMS.
FILED = "reply_filed"  # values: the report's reference, the district
NOT_FILED = "reply_not_filed"  # value: what was wrong
HELP = {kind: f"reply_help_{kind}" for kind in KEYS}  # no values
_DEVANAGARI = re.compile(r"[\u0900-\u097F]")
_CODE = re.compile(r"[0-9]{1,6}")
_DECIMAL = re.compile(r"-?[0-9]{1,15}(\.[0-9]{1,6})?")  # a sign, so the schema names it


class SmsFormatError(Exception):
    """The SMS cannot be read as a report; the message says why, briefly."""


class SmsHelp(Exception):
    def __init__(self, report_type: str | None) -> None:
        super().__init__(report_type)
        self.report_type = report_type


def e164(number: str) -> str | None:
    """An Indian mobile number as the directory holds it (+91 and ten digits), from the
    ways a gateway or a person writes one: "+91 92000 00135", "919200000135",
    "09200000135", "9200000135". None for anything else (ASCII digits only)."""
    digits = re.sub(r"[\s\-().]", "", number)
    if digits.startswith("+"):
        digits = digits[1:]
        if not digits.startswith("91"):
            return None
    if not digits.isascii() or not digits.isdigit():
        return None
    if len(digits) == 12 and digits.startswith("91"):
        digits = digits[2:]
    elif len(digits) == 11 and digits.startswith("0"):
        digits = digits[1:]
    if len(digits) != 10 or digits[0] not in "6789":
        return None
    return "+91" + digits


def without_pin(text: str, pin: str | None) -> str:
    """The message after its PIN ("PIN 4321 PR SZR ..."); SmsFormatError when the unit has
    a PIN and the message does not start with it."""
    if pin is None:
        return text
    words = text.split(maxsplit=2)
    if (
        len(words) < 3
        or words[0].upper() != "PIN"
        or not hmac.compare_digest(words[1].encode(), pin.encode())
    ):
        raise SmsFormatError("PIN missing or wrong")
    return words[2]


def parse(text: str, *, state: int, received_at: datetime) -> dict[str, Any]:
    """The JSON report an SMS stands for; SmsFormatError or SmsHelp otherwise."""
    words = text.split()
    if not words or words[0].upper() != "PR":
        raise SmsFormatError("start with PR")
    if len(words) >= 2 and words[1].upper() == "HELP":
        kind = TYPES.get(words[2].upper()) if len(words) >= 3 else None
        raise SmsHelp(kind)
    if len(words) < 4:
        raise SmsFormatError("too short")
    report_type = TYPES.get(words[1].upper())
    if report_type is None:
        raise SmsFormatError(f"unknown type {words[1][:10]}")
    # ASCII digits only: str.isdigit() also takes "²", which int() then refuses.
    if not _CODE.fullmatch(words[2]):
        raise SmsFormatError("district must be its LGD code")
    district = int(words[2])
    values: dict[str, str] = {}
    rest = words[3:]
    while rest and "=" in rest[0]:
        key, _, value = rest.pop(0).partition("=")
        field = KEYS[report_type].get(key.lower())
        if field is None:
            raise SmsFormatError(f"unknown key {key[:10]}")
        values[field] = value
    description = " ".join(rest)
    if not description:
        raise SmsFormatError("add what happened")
    details = _details(report_type, values, district, description, received_at)
    return {
        "type": report_type,
        "description": description,
        "state": state,
        "district": district,
        "occurred_at": received_at.isoformat(),
        report_type: details,
    }


def _details(
    report_type: str, values: dict[str, str], district: int, text: str, received_at: datetime
) -> dict[str, Any]:
    details: dict[str, Any] = {k: v for k, v in values.items() if k != "vehicles"}
    if "vehicles" in values:
        details["vehicles"] = [values["vehicles"]]
    if report_type == "rumour":
        handle = details.pop("handle", None)
        if handle and handle.lower().startswith(("http://", "https://")):
            details["post_url"] = handle
        elif handle:
            details["handle"] = handle
        details.setdefault("language", "hi" if _DEVANAGARI.search(text) else "en")
        details["first_seen_at"] = received_at.isoformat()
    if report_type == "seizure":
        details["quantity"] = _number(details.get("quantity"), "q")
        details["value_inr"] = int(_number(details.get("value_inr"), "val"))
        details["unit"] = SEIZURE_UNITS.get(details.get("category", ""), "count")
        details["place"] = {"district": district, "check_post": details.pop("check_post", None)}
    if report_type == "incident" and "injured" in details:
        details["injured"] = int(_number(details["injured"], "inj"))
    return details


def _number(raw: str | None, key: str) -> float:
    """A plain decimal number: float() would also take "NaN", "inf" and "1e999"."""
    if raw is None:
        raise SmsFormatError(f"{key}= is missing")
    plain = raw.replace(",", "")
    if not _DECIMAL.fullmatch(plain):
        raise SmsFormatError(f"{key}= must be a number")
    return float(plain)


def first_problem(fields: dict[str, Any], prefix: str = "") -> str:
    """The first bad field of a validation error, short enough for an SMS variable."""
    for key, value in fields.items():
        if isinstance(value, dict):
            return first_problem(value, f"{prefix}{key}.")
        return f"{prefix}{key} invalid"
    return "invalid"

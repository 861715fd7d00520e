"""The identifiers a report carries, normalised so that two spellings of one thing are equal:
vehicle registrations, phone numbers, URLs, media hashes, social-media handles, a rumour's
handle with its excerpt, and person names. Pure functions; no fuzzy matching anywhere.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

VEHICLE, PHONE, URL, MEDIA, HANDLE, RUMOUR, PERSON = (
    "vehicle",
    "phone",
    "url",
    "media",
    "handle",
    "rumour",
    "person",
)
KINDS = (VEHICLE, PHONE, URL, MEDIA, HANDLE, RUMOUR, PERSON)
# What makes two rumour reports one rumour: the same post, the same picture, or the same
# words from the same account.
SAME_RUMOUR = frozenset({URL, MEDIA, RUMOUR})


@dataclass(frozen=True, slots=True, order=True)
class Identifier:
    kind: str
    value: str

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.value}"

    def to_json(self) -> dict[str, str]:
        return {"kind": self.kind, "value": self.value}

    @classmethod
    def from_json(cls, p: Mapping[str, Any]) -> Identifier:
        return cls(p["kind"], p["value"])


def text(value: str) -> str:
    """Equal after NFC, casefold and collapsing whitespace."""
    return " ".join(unicodedata.normalize("NFC", value).casefold().split())


# An Indian registration in free text: state, district number, series, four-digit number
# (UP64AB1234, DL3CAB1234), with or without spaces, dashes or dots between the parts; the
# series is required here, so "up 2024" in a sentence is not a vehicle. The lookarounds are
# ASCII only, so Hindi written right up against the number does not hide it.
_VEHICLE = re.compile(
    r"(?<![A-Za-z0-9])([A-Za-z]{2})[\s.\-]?(\d{1,2})[\s.\-]?([A-Za-z]{1,3})[\s.\-]?(\d{4})"
    r"(?![A-Za-z0-9])"
)
_VEHICLE_WHOLE = re.compile(r"^[A-Z]{2}\d{1,2}[A-Z]{0,3}\d{1,4}$")
# The registration prefixes of India's states and union territories (BH: the Bharat series).
_STATE_CODES = frozenset(
    re.findall(
        r"[A-Z]{2}",
        "AN AP AR AS BR CG CH DD DL DN GA GJ HP HR JH JK KA KL LA LD MH ML MN MP MZ NL OD OR"
        " PB PY RJ SK TN TR TS UK UP WB BH",
    )
)


def vehicle(value: str) -> str | None:
    """`BR 01 AB 1234`, `br01-ab-1234` -> `BR01AB1234`; None if it is not one."""
    cleaned = re.sub(r"[\s.\-]", "", value).upper()
    if _VEHICLE_WHOLE.match(cleaned) and cleaned[:2] in _STATE_CODES:
        return cleaned
    return None


_PHONE = re.compile(r"(?<![\d+])(?:\+?91[\s\-]?|0)?([6-9]\d{4})[\s\-]?(\d{5})(?!\d)")


def phone(value: str) -> str | None:
    """An Indian mobile number in E.164: `098765 43210`, `+91-98765-43210` -> `+919876543210`."""
    found = _PHONE.fullmatch(value.strip())
    return f"+91{found.group(1)}{found.group(2)}" if found else None


# Query parameters that say who shared a link, not what it points to.
_TRACKING = re.compile(r"^(utm_.*|fbclid|gclid|igshid|igsh|si|mc_cid|mc_eid|ref|ref_src|s|t)$")


def url(value: str) -> str | None:
    """Lower-case scheme and host, no tracking parameters, no fragment."""
    try:
        parts = urlsplit(value.strip())
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    host = parts.hostname.lower()
    netloc = f"{host}:{parts.port}" if parts.port else host
    query = [
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _TRACKING.match(k)
    ]
    path = parts.path.rstrip("/") or ""
    return urlunsplit((parts.scheme.lower(), netloc, path, urlencode(query), ""))


def handle(platform: str, value: str) -> str | None:
    """A handle on one platform: `x:@someone` is not `instagram:@someone`. A WhatsApp
    handle is a phone number when it reads as one."""
    number = phone(value)
    if number is not None:
        return f"{platform}:{number}"
    cleaned = text(value).lstrip("@")
    return f"{platform}:{cleaned}" if cleaned else None


# Names that identify nobody: a report of an "unknown driver" must not tie cases together.
_NOBODY = frozenset({"unknown", "unknown driver", "unknown person", "n/a", "na", "अज्ञात"})


def person(name: str) -> str | None:
    cleaned = text(name)
    return None if cleaned in _NOBODY or len(cleaned) < 3 else cleaned


def in_text(value: str) -> list[Identifier]:
    """Vehicle registrations and phone numbers written anywhere in free text."""
    found: list[Identifier] = []
    for match in _VEHICLE.finditer(value):
        registration = vehicle("".join(match.groups()))
        if registration:
            found.append(Identifier(VEHICLE, registration))
    for match in _PHONE.finditer(value):
        found.append(Identifier(PHONE, f"+91{match.group(1)}{match.group(2)}"))
    return found


def of_report(report_type: str, description: str, details: Mapping[str, Any]) -> list[Identifier]:
    """Every identifier a report carries, each once, in a stable order."""
    found: list[Identifier] = in_text(description)
    for raw in details.get("vehicles") or ():
        registration = vehicle(raw)
        if registration:
            found.append(Identifier(VEHICLE, registration))
    for entry in details.get("persons") or ():
        name = person(entry.get("name", ""))
        if name:
            found.append(Identifier(PERSON, name))
    if report_type == "rumour":
        found.extend(_rumour(details))
    return sorted(set(found))


def _rumour(details: Mapping[str, Any]) -> Iterable[Identifier]:
    platform = str(details.get("platform") or "other")
    if details.get("post_url"):
        link = url(details["post_url"])
        if link:
            yield Identifier(URL, link)
    if details.get("screenshot_sha256"):
        yield Identifier(MEDIA, details["screenshot_sha256"].lower())
    if details.get("handle"):
        account = handle(platform, details["handle"])
        if account:
            yield Identifier(HANDLE, account)
            if details.get("excerpt"):
                yield Identifier(RUMOUR, f"{account}|{text(details['excerpt'])}")
    if details.get("excerpt"):
        yield from in_text(details["excerpt"])

"""Personal data out of what is kept: error texts that go into events, dead letters and
report statuses are kept forever and read by auditors of every state, so phone numbers and
email addresses in them (a provider echoing the number it could not reach, a database error
quoting a value) are replaced before they are written."""

from __future__ import annotations

import re

_EMAIL = re.compile(r"[^\s<>\"'(),;:]+@[^\s<>\"'(),;:]+")
# Indian mobile numbers however written (+91 92000 00135, 919200000135, 09200000135,
# 9200000135) and any number written with a + country code; not identifiers, times or
# amounts (a UUID's digits, 2024-04-11 10:00, 480000).
_NUMBER = re.compile(
    r"(?<![\w-])(?:(?:\+?91[\s-]?|0)?[6-9]\d{4}[\s-]?\d{5}|\+\d{1,3}[\s-]?\d[\d\s-]{6,}\d)(?![\w-])"
)


def scrub(text: str, limit: int = 500) -> str:
    """The text without phone numbers ("[number]") or email addresses ("[email]"), cut to
    `limit` characters."""
    return _NUMBER.sub("[number]", _EMAIL.sub("[email]", text))[:limit]

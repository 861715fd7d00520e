"""Personal data out of what is kept: error texts that go into events, dead letters and
report statuses are kept forever and read by auditors of every state, so phone numbers and
email addresses in them (a provider echoing the number it could not reach, a database error
quoting a value) are replaced before they are written."""

from __future__ import annotations

import re

_EMAIL = re.compile(r"[^\s<>\"'(),;:]+@[^\s<>\"'(),;:]+")
_NUMBER = re.compile(r"\+?\d[\d\s().-]{8,}\d")


def scrub(text: str, limit: int = 500) -> str:
    """The text without phone numbers ("[number]") or email addresses ("[email]"), cut to
    `limit` characters."""
    return _NUMBER.sub("[number]", _EMAIL.sub("[email]", text))[:limit]

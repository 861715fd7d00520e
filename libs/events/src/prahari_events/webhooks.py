"""Signed webhooks from an SMS gateway (inbound messages to intake, delivery reports to
notify): one scheme, checked in one place.

The gateway signs "<timestamp>." followed by the body with HMAC-SHA256 and a shared secret,
and sends `X-Prahari-Timestamp: <Unix seconds>` and `X-Prahari-Signature: sha256=<hex>`. A
timestamp further than the allowed skew from now is refused, so a captured request cannot
be replayed later; within the skew, each service refuses or absorbs an exact replay itself.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import datetime

from prahari_events.errors import Unauthenticated

_SECONDS = re.compile(r"[0-9]{1,12}")  # not float(): "NaN" would pass every skew check


def signature(secret: bytes, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def check_signature(
    secret: bytes,
    *,
    timestamp: str,
    given: str,
    body: bytes,
    now: datetime,
    skew_s: float,
) -> None:
    """Unauthenticated (401) unless the signature is the secret's over this timestamp and
    body, and the timestamp is within `skew_s` of now."""
    if not _SECONDS.fullmatch(timestamp):
        raise Unauthenticated("X-Prahari-Timestamp must be Unix seconds")
    if abs(now.timestamp() - int(timestamp)) > skew_s:
        raise Unauthenticated(f"the timestamp is more than {skew_s:g} s off")
    # compare_digest refuses non-ASCII text with a TypeError: a 401, not a 500.
    if not given.isascii() or not hmac.compare_digest(given, signature(secret, timestamp, body)):
        raise Unauthenticated("the signature does not match")

"""Delivery reports from the SMS gateway: what tells a control room its alert arrived.

The gateway signs each report (HMAC-SHA256 over "<timestamp>." and the body, with a shared
secret); a report older or newer than the allowed skew is refused, so a captured report
cannot be replayed later, and a replay inside the skew changes nothing: a final state
absorbs every later report."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from prahari_events.errors import NotFound, Unauthenticated
from prahari_notify.domain.notification import Event, Notification, on_receipt
from prahari_notify.service_layer.dispatcher import Notifications


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
    try:
        sent_at = float(timestamp)
    except ValueError:
        raise Unauthenticated("X-Prahari-Timestamp must be Unix seconds") from None
    if abs(now.timestamp() - sent_at) > skew_s:
        raise Unauthenticated(f"the receipt's timestamp is more than {skew_s:g} s off")
    if not hmac.compare_digest(given, signature(secret, timestamp, body)):
        raise Unauthenticated("the receipt signature does not match")


class Receipts:
    def __init__(self, notifications: Notifications) -> None:
        self._notifications = notifications

    async def apply(self, receipt: Mapping[str, Any]) -> list[Event]:
        """The events the report added (none for a replayed or late one)."""
        reference: uuid.UUID = receipt["reference"]

        def decide(n: Notification, row: Mapping[str, Any]) -> tuple[list[Event], dict[str, Any]]:
            provider = row["pinned_provider"] or row["sending_provider"] or "unknown"
            events = on_receipt(
                n,
                delivered=receipt["status"] == "delivered",
                provider=provider,
                reference=receipt["id"],
                reason=receipt.get("reason") or "",
                at=receipt["at"],
            )
            return events, {}

        applied = await self._notifications.apply(reference, decide)
        if applied is None:
            raise NotFound("no notification has this reference")
        return applied

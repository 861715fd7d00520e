"""Delivery reports from the SMS gateway: what tells a control room its alert arrived.

The gateway signs each report (prahari_events.webhooks: HMAC-SHA256 over "<timestamp>." and
the body); a report older or newer than the allowed skew is refused, so a captured report
cannot be replayed later, and a replay inside the skew changes nothing: a final state
absorbs every later report."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from prahari_events.errors import NotFound
from prahari_notify.domain.notification import Event, Notification, on_receipt
from prahari_notify.service_layer.dispatcher import Notifications


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

"""A notification as an event-sourced aggregate. Pure: decisions take the state, what
happened and the time, and give events; `evolve` folds them.

    queued --sent--> sent --delivered--> delivered
       |  \\            \\--failed (receipt)--> failed
       |   \\--attempt_failed (retry later; "unknown" pins the provider)
       |--failed (permanent, or attempts used up)
       \\--expired (not delivered within the route's time to live; SMS in "sent" too)

States only move forward: delivered, failed and expired are final, and whatever arrives
after them (a late "sent", a replayed receipt) changes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Literal

from prahari_events import catalogue as c
from prahari_events import privacy
from prahari_events.envelope import iso

_NOTIFICATION_IDS = uuid.UUID("0b5e7f0e-2d7a-4b8e-9d0c-6a1f3e2b9c41")


def notification_id(cause_id: uuid.UUID | str, channel: str, address: str) -> uuid.UUID:
    """Derived, not random: one cause can only ever mean one message per address."""
    return uuid.uuid5(_NOTIFICATION_IDS, f"{cause_id}:{channel}:{address}")


class State(StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"
    EXPIRED = "expired"


FINAL = frozenset({State.DELIVERED, State.FAILED, State.EXPIRED})


@dataclass(frozen=True, slots=True)
class Notification:
    id: uuid.UUID
    channel: str
    state: State
    version: int
    attempts: int
    # The provider that may hold it: the one that accepted it, or the one whose answer was
    # lost ("outcome unknown"). Only that provider is asked again; no fallback after it.
    pinned: str | None = None
    expires_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    base_s: float
    cap_s: float
    max_attempts: int

    def delay(self, attempt: int, jitter: float) -> float:
        """Exponential, capped, with jitter in [0.5, 1) of the step so that many messages
        failed together do not all come back together. `jitter` in [0, 1) is injected."""
        step = min(self.cap_s, self.base_s * 2.0 ** max(0, attempt - 1))
        return step * (0.5 + 0.5 * jitter)


@dataclass(frozen=True, slots=True)
class Outcome:
    kind: Literal["accepted", "failed", "unknown"]
    provider: str
    reference: str | None = None
    reason: str = ""
    retriable: bool = True
    delivered: bool = False  # a status query found it delivered already


Event = tuple[str, dict[str, Any]]


def after_attempt(
    n: Notification,
    attempt: int,
    outcome: Outcome,
    now: datetime,
    *,
    retry: RetryPolicy,
    jitter: float,
) -> tuple[list[Event], datetime | None]:
    """The events one attempt's outcome gives, and when to try again (None: never)."""
    base = {"notification_id": str(n.id), "channel": n.channel}
    if outcome.kind == "accepted":
        sent = {
            **base,
            "attempt": attempt,
            "provider": outcome.provider,
            "provider_reference": outcome.reference,
        }
        events: list[Event] = [(c.NOTIFICATION_SENT, sent)]
        if outcome.delivered and n.state not in FINAL:
            events.append((c.NOTIFICATION_DELIVERED, _delivered(n, outcome, now)))
        return events, None
    if n.state in FINAL:
        return [], None
    if outcome.kind == "failed" and not outcome.retriable:
        return [(c.NOTIFICATION_FAILED, _failed(n, attempt, outcome.reason, True))], None
    if attempt >= retry.max_attempts:
        return [(c.NOTIFICATION_FAILED, _failed(n, attempt, outcome.reason, False))], None
    retry_at = now + timedelta(seconds=retry.delay(attempt, jitter))
    failed = {
        **base,
        "attempt": attempt,
        "provider": outcome.provider,
        "outcome": outcome.kind,
        "reason": scrub(outcome.reason),
        "retry_at": iso(retry_at),
    }
    return [(c.NOTIFICATION_ATTEMPT_FAILED, failed)], retry_at


def scrub(reason: str) -> str:
    """A provider's error as kept in events and rows: it may echo the number or address it
    could not reach (prahari_events.privacy)."""
    return privacy.scrub(reason, 500)


def _failed(n: Notification, attempt: int, reason: str, permanent: bool) -> dict[str, Any]:
    return {
        "notification_id": str(n.id),
        "channel": n.channel,
        "attempt": attempt,
        "reason": scrub(reason),
        "permanent": permanent,
    }


def _delivered(n: Notification, outcome: Outcome, at: datetime) -> dict[str, Any]:
    return {
        "notification_id": str(n.id),
        "channel": n.channel,
        "provider": outcome.provider,
        "provider_reference": outcome.reference,
        "delivered_at": iso(at),
    }


def on_receipt(
    n: Notification,
    *,
    delivered: bool,
    provider: str,
    reference: str | None,
    reason: str,
    at: datetime,
) -> list[Event]:
    """A delivery report from the gateway. Replayed or late reports change nothing."""
    if n.state in FINAL:
        return []
    if delivered:
        outcome = Outcome("accepted", provider, reference)
        return [(c.NOTIFICATION_DELIVERED, _delivered(n, outcome, at))]
    return [(c.NOTIFICATION_FAILED, _failed(n, max(n.attempts, 1), reason or "undelivered", True))]


def is_overdue(n: Notification, now: datetime, *, sms_receipts: bool = True) -> bool:
    """Not delivered within its time to live. An SMS is delivered when its delivery report
    says so (where the gateway sends reports; otherwise when the gateway took it); an email
    when the relay took it (mail has no delivery reports)."""
    if n.expires_at is None or now < n.expires_at:
        return False
    awaits_report = n.state == State.SENT and n.channel == "sms" and sms_receipts
    return n.state == State.QUEUED or awaits_report


def on_expiry(n: Notification, escalated_to: list[uuid.UUID]) -> list[Event]:
    assert n.expires_at is not None
    return [
        (
            c.NOTIFICATION_EXPIRED,
            {
                "notification_id": str(n.id),
                "channel": n.channel,
                "expires_at": iso(n.expires_at),
                "state": n.state.value,
                "escalated_to": [str(i) for i in escalated_to],
            },
        )
    ]


def evolve(n: Notification | None, event_type: str, p: Mapping[str, Any]) -> Notification:
    if event_type == c.NOTIFICATION_QUEUED:
        expires = p.get("expires_at")
        return Notification(
            uuid.UUID(str(p["notification_id"])),
            p["channel"],
            State.QUEUED,
            1,
            0,
            expires_at=datetime.fromisoformat(expires) if isinstance(expires, str) else expires,
        )
    assert n is not None, f"{event_type} before notification.queued"
    n = replace(n, version=n.version + 1)
    if n.state in FINAL:
        return n  # only forward: nothing moves a final state
    if event_type == c.NOTIFICATION_SENT:
        return replace(n, state=State.SENT, attempts=p["attempt"], pinned=p.get("provider"))
    if event_type == c.NOTIFICATION_ATTEMPT_FAILED:
        pinned = p["provider"] if p["outcome"] == "unknown" else n.pinned
        return replace(n, attempts=p["attempt"], pinned=pinned)
    if event_type == c.NOTIFICATION_DELIVERED:
        return replace(n, state=State.DELIVERED)
    if event_type == c.NOTIFICATION_FAILED:
        return replace(n, state=State.FAILED, attempts=max(n.attempts, p["attempt"]))
    if event_type == c.NOTIFICATION_EXPIRED:
        return replace(n, state=State.EXPIRED)
    return n

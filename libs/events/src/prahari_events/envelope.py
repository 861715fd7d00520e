"""The event envelope: who did what, to which stream, when, from where, and why.

Envelopes are plain frozen dataclasses; their JSON form is the wire and storage contract
(`prahari_events.registry` encodes and decodes it). Payloads stay JSON-native (strings,
numbers, lists, dicts) so that what is hashed, stored and published is exactly one thing.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

JSON = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Actor:
    """The unit (or service) that caused the event, and its home jurisdiction."""

    unit_id: str
    role: str
    kind: str
    state: int | None = None
    district: int | None = None
    # The token issuer that vouched for the unit (a state's identity service); None for a
    # service's own actions and for events written before issuers. Recorded, but not part
    # of who the unit is: the same unit is the same actor whoever vouched for it.
    issuer: str | None = field(default=None, compare=False)

    def to_json(self) -> JSON:
        out: JSON = {
            "unit_id": self.unit_id,
            "role": self.role,
            "kind": self.kind,
            "state": self.state,
            "district": self.district,
        }
        if self.issuer is not None:  # absent, not null: older events hash as they did
            out["issuer"] = self.issuer
        return out


SYSTEM_KIND = "service"


def service_actor(service: str) -> Actor:
    return Actor(unit_id=f"service:{service}", role="system", kind=SYSTEM_KIND)


@dataclass(frozen=True, slots=True)
class Jurisdiction:
    """Where the event belongs: an LGD state code and, when known, an LGD district code."""

    state: int
    district: int | None

    def to_json(self) -> JSON:
        return {"state": self.state, "district": self.district}


@dataclass(frozen=True, slots=True)
class Draft:
    """An event a domain function decided on; the store or publisher stamps the rest."""

    type: str
    payload: Mapping[str, Any]
    actor: Actor
    jurisdiction: Jurisdiction
    correlation_id: uuid.UUID
    causation_id: uuid.UUID | None = None
    occurred_at: datetime | None = None
    event_id: uuid.UUID = field(default_factory=uuid.uuid4)


@dataclass(frozen=True, slots=True)
class Envelope:
    event_id: uuid.UUID
    type: str
    version: int
    stream_id: str
    stream_version: int
    occurred_at: datetime
    recorded_at: datetime
    actor: Actor
    jurisdiction: Jurisdiction
    correlation_id: uuid.UUID
    causation_id: uuid.UUID | None
    trace: Mapping[str, str]
    payload: Mapping[str, Any]

    @property
    def trace_id(self) -> str | None:
        """The W3C trace id carried in `traceparent`, if any."""
        parts = self.trace.get("traceparent", "").split("-")
        return parts[1] if len(parts) == 4 else None

    def to_json(self) -> JSON:
        return {
            "event_id": str(self.event_id),
            "type": self.type,
            "version": self.version,
            "stream_id": self.stream_id,
            "stream_version": self.stream_version,
            "occurred_at": iso(self.occurred_at),
            "recorded_at": iso(self.recorded_at),
            "actor": self.actor.to_json(),
            "jurisdiction": self.jurisdiction.to_json(),
            "correlation_id": str(self.correlation_id),
            "causation_id": str(self.causation_id) if self.causation_id else None,
            "trace": dict(self.trace),
            "payload": dict(self.payload),
        }


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """ISO 8601 in UTC with microseconds: one spelling per instant, so hashes are stable."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")

"""Watchlists: vehicles, phones, handles and persons a control room watches for (an
inter-state gang, a known smuggler), each entry with its owner unit, a reason and an expiry.
An entry is an aggregate of its own (`watchlist-<id>` streams): added, changed, removed."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from prahari_cases.domain import identifiers as ids
from prahari_cases.domain.identifiers import Identifier
from prahari_events import catalogue as c
from prahari_events.envelope import JSON, Envelope, iso
from prahari_events.errors import InvalidTransition, Unprocessable
from prahari_events.policy import UnitRef

_ENTRY_IDS = uuid.UUID("0d3b5f4e-7a43-4d9e-9a57-2f0c8b1e6a11")


def stream_for(entry_id: uuid.UUID) -> str:
    return f"watchlist-{entry_id}"


def entry_id_for(owner: UnitRef, key: str) -> uuid.UUID:
    """With an Idempotency-Key, a retried addition names the same entry."""
    return uuid.uuid5(_ENTRY_IDS, f"{owner.state}:{owner.unit_id}:{key}")


def normalise(kind: str, value: str) -> Identifier:
    """The identifier as triage takes it from reports, so that they meet; a handle is
    written `platform:handle` (x:@someone)."""
    normal: str | None
    if kind == ids.VEHICLE:
        normal = ids.vehicle(value)
    elif kind == ids.PHONE:
        normal = ids.phone(value)
    elif kind == ids.PERSON:
        normal = ids.person(value)
    elif kind == ids.HANDLE:
        platform, _, handle = value.partition(":")
        normal = ids.handle(ids.text(platform), handle) if platform and handle else None
    else:
        normal = None
    if normal is None:
        raise Unprocessable(
            f"not a {kind} this system can match", fields={"value": [f"not a {kind}"]}
        )
    return Identifier(kind, normal)


@dataclass(frozen=True, slots=True)
class Entry:
    entry_id: uuid.UUID
    version: int
    identifier: Identifier
    owner: UnitRef
    reason: str
    expires_at: datetime
    added_at: datetime
    removed: bool = False

    def active(self, now: datetime) -> bool:
        return not self.removed and now < self.expires_at

    def to_json(self) -> JSON:
        return {
            "entry_id": str(self.entry_id),
            "version": self.version,
            "kind": self.identifier.kind,
            "value": self.identifier.value,
            "owner": {"state": self.owner.state, "unit_id": self.owner.unit_id},
            "reason": self.reason,
            "expires_at": iso(self.expires_at),
            "added_at": iso(self.added_at),
            "removed": self.removed,
        }

    @classmethod
    def from_json(cls, p: dict[str, Any]) -> Entry:
        return cls(
            uuid.UUID(p["entry_id"]),
            p["version"],
            Identifier(p["kind"], p["value"]),
            UnitRef(p["owner"]["state"], p["owner"]["unit_id"]),
            p["reason"],
            datetime.fromisoformat(p["expires_at"]),
            datetime.fromisoformat(p["added_at"]),
            p["removed"],
        )


@dataclass(frozen=True, slots=True)
class Add:
    entry_id: uuid.UUID
    identifier: Identifier
    owner: UnitRef
    reason: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class Change:
    reason: str | None
    expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class Remove:
    reason: str | None


@dataclass(frozen=True, slots=True)
class EntryAdded:
    TYPE: ClassVar[str] = c.WATCHLIST_ENTRY_ADDED
    entry_id: uuid.UUID
    identifier: Identifier
    owner: UnitRef
    reason: str
    expires_at: datetime

    def payload(self) -> JSON:
        return {
            "entry_id": str(self.entry_id),
            "identifier": self.identifier.to_json(),
            "owner": {"state": self.owner.state, "unit_id": self.owner.unit_id},
            "reason": self.reason,
            "expires_at": iso(self.expires_at),
        }

    @classmethod
    def parse(cls, p: Mapping[str, Any]) -> EntryAdded:
        return cls(
            uuid.UUID(p["entry_id"]),
            Identifier.from_json(p["identifier"]),
            UnitRef(p["owner"]["state"], p["owner"]["unit_id"]),
            p["reason"],
            datetime.fromisoformat(p["expires_at"]),
        )


@dataclass(frozen=True, slots=True)
class EntryChanged:
    TYPE: ClassVar[str] = c.WATCHLIST_ENTRY_CHANGED
    entry_id: uuid.UUID
    reason: str
    expires_at: datetime

    def payload(self) -> JSON:
        return {
            "entry_id": str(self.entry_id),
            "reason": self.reason,
            "expires_at": iso(self.expires_at),
        }

    @classmethod
    def parse(cls, p: Mapping[str, Any]) -> EntryChanged:
        return cls(uuid.UUID(p["entry_id"]), p["reason"], datetime.fromisoformat(p["expires_at"]))


@dataclass(frozen=True, slots=True)
class EntryRemoved:
    TYPE: ClassVar[str] = c.WATCHLIST_ENTRY_REMOVED
    entry_id: uuid.UUID
    reason: str | None

    def payload(self) -> JSON:
        return {"entry_id": str(self.entry_id), "reason": self.reason}

    @classmethod
    def parse(cls, p: Mapping[str, Any]) -> EntryRemoved:
        return cls(uuid.UUID(p["entry_id"]), p["reason"])


EntryEvent = EntryAdded | EntryChanged | EntryRemoved
_PARSERS = {cls.TYPE: cls.parse for cls in (EntryAdded, EntryChanged, EntryRemoved)}
WATCHLIST_EVENT_TYPES = frozenset(_PARSERS)


def decide(entry: Entry | None, command: Add | Change | Remove, now: datetime) -> list[EntryEvent]:
    if isinstance(command, Add):
        if entry is not None:
            return []  # added already (a retried request)
        if command.expires_at <= now:
            raise Unprocessable("the entry would expire at once", fields={"expires_at": ["past"]})
        return [
            EntryAdded(
                command.entry_id,
                command.identifier,
                command.owner,
                command.reason,
                command.expires_at,
            )
        ]
    if entry is None:
        raise InvalidTransition("no such entry", fields={"status": None})
    if entry.removed:
        raise InvalidTransition(
            "the entry was removed", fields={"status": "removed", "allowed_now": []}
        )
    if isinstance(command, Change):
        return [
            EntryChanged(
                entry.entry_id,
                command.reason or entry.reason,
                command.expires_at or entry.expires_at,
            )
        ]
    return [EntryRemoved(entry.entry_id, command.reason)]


def evolve(entry: Entry | None, event: Envelope) -> Entry:
    typed = _PARSERS[event.type](event.payload)
    if isinstance(typed, EntryAdded):
        return Entry(
            entry_id=typed.entry_id,
            version=event.stream_version,
            identifier=typed.identifier,
            owner=typed.owner,
            reason=typed.reason,
            expires_at=typed.expires_at,
            added_at=event.recorded_at,
        )
    if entry is None:
        raise ValueError(f"{event.type} before {c.WATCHLIST_ENTRY_ADDED}")
    entry = dataclasses.replace(entry, version=event.stream_version)
    if isinstance(typed, EntryChanged):
        return dataclasses.replace(entry, reason=typed.reason, expires_at=typed.expires_at)
    return dataclasses.replace(entry, removed=True)

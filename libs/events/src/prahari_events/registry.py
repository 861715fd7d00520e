"""One registry of event types: stable names, explicit versions, a marshmallow schema per
version, and upcasters that lift a stored payload from version n to n+1.

Names like `case.opened` never change and never mention a Python module: stored history
outlives the code layout. A reader always sees the current version of a type, whether the
event comes from PostgreSQL or from Kafka, because both decode through `Registry.upcast`.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from marshmallow import Schema, ValidationError, fields, validate

from prahari_events.envelope import JSON, Actor, Draft, Envelope, Jurisdiction, iso
from prahari_events.errors import InvalidEvent

Upcaster = Callable[[JSON], JSON]


@dataclass(frozen=True, slots=True)
class EventType:
    name: str
    schemas: Mapping[int, type[Schema]]
    # upcasters[n] lifts a payload from version n to n + 1.
    upcasters: Mapping[int, Upcaster]

    @property
    def current(self) -> int:
        return max(self.schemas)


class Registry:
    def __init__(self) -> None:
        self._types: dict[str, EventType] = {}
        # Schema instances are reusable and building one costs more than validating with
        # it: one instance per (type, version), made once.
        self._validators: dict[tuple[str, int], Schema] = {}
        self._envelope = _EnvelopeSchema()

    def register(
        self,
        name: str,
        schemas: Mapping[int, type[Schema]],
        upcasters: Mapping[int, Upcaster] | None = None,
    ) -> None:
        if name in self._types:
            raise ValueError(f"event type {name} is registered twice")
        versions = sorted(schemas)
        if versions != list(range(1, len(versions) + 1)):
            raise ValueError(f"{name}: versions must be 1..n, got {versions}")
        missing = [v for v in versions[:-1] if v not in (upcasters or {})]
        if missing:
            raise ValueError(f"{name}: no upcaster from version(s) {missing}")
        self._types[name] = EventType(name, dict(schemas), dict(upcasters or {}))
        for version, schema in schemas.items():
            self._validators[(name, version)] = schema()

    def names(self) -> list[str]:
        return sorted(self._types)

    def schemas(self, name: str) -> Mapping[int, type[Schema]]:
        """Every version's payload schema of an event type (for documents that describe
        them, such as docs/asyncapi.yaml)."""
        return self._get(name).schemas

    def current_version(self, name: str) -> int:
        return self._get(name).current

    def _get(self, name: str) -> EventType:
        try:
            return self._types[name]
        except KeyError:
            raise InvalidEvent(f"unknown event type {name!r}") from None

    def check(self, name: str, version: int, payload: Mapping[str, Any]) -> None:
        self._get(name)
        schema = self._validators.get((name, version))
        if schema is None:
            raise InvalidEvent(f"unknown version {version} of event type {name!r}")
        errors = schema.validate(dict(payload))
        if errors:
            raise InvalidEvent(f"invalid {name} v{version} payload", fields=errors)

    def upcast(self, name: str, version: int, payload: Mapping[str, Any]) -> tuple[int, JSON]:
        """Validate a stored payload at its own version, then lift it to the current one."""
        self.check(name, version, payload)
        event_type = self._get(name)
        lifted = dict(payload)
        if version == event_type.current:
            return version, lifted
        while version < event_type.current:
            lifted = event_type.upcasters[version](lifted)
            version += 1
        self.check(name, version, lifted)
        return version, lifted

    def stamp(
        self,
        draft: Draft,
        *,
        stream_id: str,
        stream_version: int,
        recorded_at: datetime,
        trace: Mapping[str, str],
    ) -> Envelope:
        """Turn a domain decision into an envelope, refusing a payload that breaks its contract."""
        version = self.current_version(draft.type)
        self.check(draft.type, version, draft.payload)
        return Envelope(
            event_id=draft.event_id,
            type=draft.type,
            version=version,
            stream_id=stream_id,
            stream_version=stream_version,
            occurred_at=draft.occurred_at or recorded_at,
            recorded_at=recorded_at,
            actor=draft.actor,
            jurisdiction=draft.jurisdiction,
            correlation_id=draft.correlation_id,
            causation_id=draft.causation_id,
            trace=dict(trace),
            payload=dict(draft.payload),
        )

    def encode(self, envelope: Envelope) -> bytes:
        return canonical_json(envelope.to_json())

    def decode(self, raw: bytes | str) -> Envelope:
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise InvalidEvent(f"not JSON: {exc}") from None
        if not isinstance(data, dict):
            raise InvalidEvent("an event must be a JSON object")
        return self.from_json(data)

    def decode_stored(self, raw: bytes | str) -> Envelope:
        """An event read back from a service's own store: validated when it was written and
        covered by its hash since, so decoded with orjson and upcast without marshmallow
        (about twenty times faster; a replay of an election's history is all reads).
        Everything read from Kafka goes through `decode`, which validates."""
        data = orjson.loads(raw)
        event_type = self._get(data["type"])
        version: int = data["version"]
        payload = data["payload"]
        while version < event_type.current:
            payload = event_type.upcasters[version](payload)
            version += 1
        causation = data.get("causation_id")
        return Envelope(
            event_id=uuid.UUID(data["event_id"]),
            type=data["type"],
            version=version,
            stream_id=data["stream_id"],
            stream_version=data["stream_version"],
            occurred_at=datetime.fromisoformat(data["occurred_at"]),
            recorded_at=datetime.fromisoformat(data["recorded_at"]),
            actor=Actor(**data["actor"]),
            jurisdiction=Jurisdiction(**data["jurisdiction"]),
            correlation_id=uuid.UUID(data["correlation_id"]),
            causation_id=uuid.UUID(causation) if causation else None,
            trace=data["trace"],
            payload=payload,
        )

    def from_json(self, data: Mapping[str, Any]) -> Envelope:
        try:
            loaded: JSON = self._envelope.load(dict(data))
        except ValidationError as exc:
            raise InvalidEvent("invalid event envelope", fields=_as_fields(exc)) from None
        version, payload = self.upcast(loaded["type"], loaded["version"], loaded["payload"])
        actor = loaded["actor"]
        place = loaded["jurisdiction"]
        return Envelope(
            event_id=loaded["event_id"],
            type=loaded["type"],
            version=version,
            stream_id=loaded["stream_id"],
            stream_version=loaded["stream_version"],
            occurred_at=loaded["occurred_at"],
            recorded_at=loaded["recorded_at"],
            actor=Actor(**actor),
            jurisdiction=Jurisdiction(**place),
            correlation_id=loaded["correlation_id"],
            causation_id=loaded.get("causation_id"),
            trace=loaded["trace"],
            payload=payload,
        )


def canonical_json(data: Any) -> bytes:
    """One byte sequence per value: sorted keys, no spaces, UTF-8 (Hindi stays readable)."""
    try:
        return orjson.dumps(data, option=orjson.OPT_SORT_KEYS)
    except TypeError:
        # orjson stops at 64-bit integers; a client can send bigger ones.
        return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _as_fields(exc: ValidationError) -> dict[str, Any]:
    messages = exc.messages
    return messages if isinstance(messages, dict) else {"_schema": messages}


class _ActorSchema(Schema):
    unit_id = fields.String(required=True, validate=validate.Length(min=1, max=128))
    role = fields.String(required=True, validate=validate.Length(min=1, max=64))
    kind = fields.String(required=True, validate=validate.Length(min=1, max=64))
    state = fields.Integer(required=True, allow_none=True)
    district = fields.Integer(required=True, allow_none=True)
    issuer = fields.String(load_default=None, validate=validate.Length(min=1, max=128))


class _JurisdictionSchema(Schema):
    state = fields.Integer(required=True)
    district = fields.Integer(required=True, allow_none=True)


class _EnvelopeSchema(Schema):
    event_id = fields.UUID(required=True)
    type = fields.String(required=True, validate=validate.Length(min=1, max=100))
    version = fields.Integer(required=True, validate=validate.Range(min=1))
    stream_id = fields.String(required=True, validate=validate.Length(min=1, max=200))
    stream_version = fields.Integer(required=True, validate=validate.Range(min=1))
    occurred_at = fields.AwareDateTime(required=True)
    recorded_at = fields.AwareDateTime(required=True)
    actor = fields.Nested(_ActorSchema, required=True)
    jurisdiction = fields.Nested(_JurisdictionSchema, required=True)
    correlation_id = fields.UUID(required=True)
    causation_id = fields.UUID(required=True, allow_none=True)
    trace = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    payload = fields.Dict(keys=fields.String(), required=True)


__all__ = ["EventType", "Registry", "canonical_json", "iso"]

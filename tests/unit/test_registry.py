from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from marshmallow import Schema, fields

from prahari_events.catalogue import CASE_OPENED, build_registry
from prahari_events.envelope import Actor, Draft, Jurisdiction
from prahari_events.errors import InvalidEvent
from prahari_events.registry import Registry, canonical_json
from tests.factories import report_draft, report_envelope


class ThingV1(Schema):
    name = fields.String(required=True)


class ThingV2(Schema):
    name = fields.String(required=True)
    language = fields.String(required=True)


def _v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    return {**payload, "language": "hi"}


def test_every_catalogue_type_has_a_stable_dotted_name() -> None:
    for name in build_registry().names():
        assert name.count(".") == 1
        assert name == name.lower()
        assert "prahari_" not in name  # never a module path


def test_round_trip_keeps_hindi_and_every_field(registry: Registry) -> None:
    envelope = report_envelope(registry)
    raw = registry.encode(envelope)
    assert "बिहार".encode() in raw  # stored readable, not \\u-escaped
    assert registry.decode(raw) == envelope


def test_an_invalid_payload_is_refused_naming_the_field(registry: Registry) -> None:
    draft = report_draft(report_type="picnic")
    with pytest.raises(InvalidEvent) as caught:
        registry.stamp(
            draft, stream_id="s", stream_version=1, recorded_at=datetime.now(UTC), trace={}
        )
    assert "report_type" in caught.value.fields


def test_an_unknown_type_is_refused(registry: Registry) -> None:
    raw = json.loads(registry.encode(report_envelope(registry)))
    raw["type"] = "report.teleported"
    with pytest.raises(InvalidEvent, match="unknown event type"):
        registry.decode(json.dumps(raw))


def test_an_envelope_missing_fields_is_refused(registry: Registry) -> None:
    raw = json.loads(registry.encode(report_envelope(registry)))
    del raw["actor"]
    with pytest.raises(InvalidEvent) as caught:
        registry.decode(json.dumps(raw))
    assert "actor" in caught.value.fields


def test_not_json_is_refused(registry: Registry) -> None:
    with pytest.raises(InvalidEvent, match="not JSON"):
        registry.decode(b"\xff\xfe")


def test_a_v1_event_is_read_as_the_current_version() -> None:
    registry = Registry()
    registry.register("test.thing", {1: ThingV1, 2: ThingV2}, {1: _v1_to_v2})
    stored_v1 = {
        "event_id": str(uuid.uuid4()),
        "type": "test.thing",
        "version": 1,
        "stream_id": "thing-1",
        "stream_version": 1,
        "occurred_at": "2024-04-11T10:00:00.000000+00:00",
        "recorded_at": "2024-04-11T10:00:01.000000+00:00",
        "actor": {
            "unit_id": "u",
            "role": "reporter",
            "kind": "check_post",
            "state": 9,
            "district": 184,
        },
        "jurisdiction": {"state": 9, "district": 184},
        "correlation_id": str(uuid.uuid4()),
        "causation_id": None,
        "trace": {},
        "payload": {"name": "चेकपोस्ट"},
    }
    envelope = registry.decode(json.dumps(stored_v1))
    assert envelope.version == 2
    assert envelope.payload == {"name": "चेकपोस्ट", "language": "hi"}
    # Read back from our own store, without marshmallow: the very same envelope.
    assert registry.decode_stored(json.dumps(stored_v1)) == envelope


def test_a_stored_payload_invalid_at_its_own_version_is_refused() -> None:
    registry = Registry()
    registry.register("test.thing", {1: ThingV1, 2: ThingV2}, {1: _v1_to_v2})
    with pytest.raises(InvalidEvent):
        registry.upcast("test.thing", 1, {"nom": "x"})


def test_a_new_version_without_an_upcaster_cannot_be_registered() -> None:
    with pytest.raises(ValueError, match="no upcaster"):
        Registry().register("test.thing", {1: ThingV1, 2: ThingV2})


def test_new_events_are_stamped_with_the_current_version(registry: Registry) -> None:
    draft = Draft(
        type=CASE_OPENED,
        payload={},
        actor=Actor("u", "system", "service"),
        jurisdiction=Jurisdiction(9, 184),
        correlation_id=uuid.uuid4(),
    )
    with pytest.raises(InvalidEvent) as caught:
        registry.stamp(
            draft, stream_id="s", stream_version=1, recorded_at=datetime.now(UTC), trace={}
        )
    assert "case_id" in caught.value.fields


def test_canonical_json_takes_integers_beyond_64_bits() -> None:
    assert (
        canonical_json({"b": 10**30, "a": "क"})
        == '{"a":"क","b":1000000000000000000000000000000}'.encode()
    )


def test_an_event_read_back_from_the_store_decodes_as_it_would_from_kafka(
    registry: Registry,
) -> None:
    # The store's fast path (orjson and upcasters, no validation) gives what the validating
    # path gives, for events with Hindi, nested payloads, and no causation.
    for envelope in [report_envelope(registry) for _ in range(3)]:
        raw = registry.encode(envelope)
        assert registry.decode_stored(raw) == registry.decode(raw) == envelope

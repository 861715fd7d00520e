"""docs/asyncapi.yaml is what the registry says: regenerated here and compared, every event
type at every version has its message on its topic, and events as the services make them
validate against the published schema (and a broken one does not)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
import yaml

from prahari_events.asyncapi import document, message_name, render
from prahari_events.catalogue import build_registry
from tests.factories import report_envelope

DOC = Path(__file__).resolve().parents[2] / "docs" / "asyncapi.yaml"


def test_the_document_in_docs_is_the_one_the_registry_generates() -> None:
    # On failure: run `prahari-asyncapi` and commit docs/asyncapi.yaml.
    assert DOC.read_text(encoding="utf-8") == render(document())


def test_every_event_type_at_every_version_is_a_message_on_its_topic() -> None:
    registry = build_registry()
    doc = yaml.safe_load(DOC.read_text(encoding="utf-8"))
    assert doc["asyncapi"] == "3.0.0"
    on_channels: dict[str, set[str]] = {}
    for channel in doc["channels"].values():
        for ref in channel.get("messages", {}).values():
            on_channels.setdefault(ref["$ref"].rsplit("/", 1)[1], set()).add(channel["address"])
    expected = {
        message_name(name, version)
        for name in registry.names()
        for version in registry.schemas(name)
    } | {"access.read", "checkpoint.signed"}  # records, not versioned events
    assert set(doc["components"]["messages"]) == expected
    assert set(on_channels) == expected
    share = "prahari.share.{state}"
    assert on_channels["case.opened.v2"] == {"prahari.cases.events", share}
    assert on_channels["report.received.v1"] == {"prahari.intake.reports"}
    assert on_channels["notification.sent.v1"] == {"prahari.notify.events"}
    # A snapshot is only ever on a partner state's feed; watchlists are never on one.
    assert on_channels["case.snapshot.v1"] == {share}
    assert on_channels["watchlist.entry_added.v1"] == {"prahari.cases.events"}
    assert on_channels["access.read"] == {"prahari.access"}
    assert on_channels["checkpoint.signed"] == {"prahari.{service}.checkpoints"}
    parameter = doc["channels"]["shareFeed"]["parameters"]["state"]
    assert set(parameter["enum"]) == {"2", "5", "6", "7", "8", "9", "10", "20", "22", "23"}


def _validator(doc: dict[str, Any], message: str) -> Any:
    # The message's schema, resolved against the document's components (JSON Schema 2020-12).
    root = {"$ref": f"#/components/schemas/{message}", "components": doc["components"]}
    return jsonschema_rs.Draft202012Validator(root)


def test_an_event_as_intake_makes_it_validates_and_a_broken_one_does_not() -> None:
    doc = yaml.safe_load(DOC.read_text(encoding="utf-8"))
    validator = _validator(doc, "report.received.v2")
    event = json.loads(build_registry().encode(report_envelope(build_registry())))
    assert validator.is_valid(event), list(validator.iter_errors(event))[:3]
    broken = {**event, "payload": {k: v for k, v in event["payload"].items() if k != "state"}}
    assert not validator.is_valid(broken)
    assert not validator.is_valid({**event, "type": "case.opened"})


@pytest.mark.parametrize("header", ["ce_id", "ce_type", "ce_source", "ce_dataschema"])
def test_the_headers_schema_requires_the_cloudevents_attributes(header: str) -> None:
    doc = yaml.safe_load(DOC.read_text(encoding="utf-8"))
    assert header in doc["components"]["schemas"]["CloudEventHeaders"]["required"]


SPEC = Path(__file__).resolve().parents[1] / "data" / "asyncapi-3.0.0.schema.json"


def test_the_document_is_valid_asyncapi_3() -> None:
    # The official AsyncAPI 3.0.0 JSON Schema (tests/data/README.md says where it is from).
    validator = jsonschema_rs.validator_for(json.loads(SPEC.read_text(encoding="utf-8")))
    doc = yaml.safe_load(DOC.read_text(encoding="utf-8"))
    errors = [f"{list(e.instance_path)}: {e.message[:200]}" for e in validator.iter_errors(doc)]
    assert errors == []
    # And the schema is strict enough to catch an AsyncAPI 2 habit.
    operation = next(iter(doc["operations"]))
    doc["operations"][operation]["action"] = "publish"
    assert not validator.is_valid(doc)

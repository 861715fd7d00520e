"""intake's OpenAPI document says exactly which report shapes it takes: one schema per
report type under `oneOf`, discriminated by `type`, so that a client generated from it
cannot build a rumour report that carries an incident object (which intake refuses)."""

from __future__ import annotations

import copy
from typing import Any

import jsonschema_rs
import pytest

from prahari_intake.entrypoints.examples import EXAMPLES
from prahari_intake.entrypoints.openapi import build

DOC = build()


def _valid(body: dict[str, Any]) -> bool:
    root = {"$ref": "#/components/schemas/ReportRequest", "components": DOC["components"]}
    return bool(jsonschema_rs.Draft4Validator(root).is_valid(body))


def test_the_report_is_one_of_five_schemas_discriminated_by_type() -> None:
    report = DOC["components"]["schemas"]["ReportRequest"]
    assert report["discriminator"]["propertyName"] == "type"
    assert set(report["discriminator"]["mapping"]) == set(EXAMPLES)
    assert len(report["oneOf"]) == 5


@pytest.mark.parametrize("kind", sorted(EXAMPLES))
def test_each_example_matches_exactly_its_own_schema(kind: str) -> None:
    assert _valid(EXAMPLES[kind])


def test_a_rumour_with_an_incident_object_is_invalid_by_the_document_as_by_intake() -> None:
    body = copy.deepcopy(EXAMPLES["rumour"])
    body["incident"] = EXAMPLES["incident"]["incident"]
    assert not _valid(body)  # both objects
    del body["rumour"]
    assert not _valid(body)  # only the other type's object


def test_a_rumour_must_name_a_post_or_a_handle() -> None:
    body = copy.deepcopy(EXAMPLES["rumour"])
    body["rumour"].pop("post_url", None)
    body["rumour"].pop("handle", None)
    assert not _valid(body)


def test_unknown_fields_are_invalid_by_the_document_as_by_intake() -> None:
    assert not _valid({**EXAMPLES["seizure"], "priority": "high"})


def test_the_sms_webhook_is_documented_with_its_signature_and_every_answer() -> None:
    webhook = DOC["paths"]["/v1/sms/inbound"]["post"]
    headers = {p["name"] for p in webhook["parameters"] if p["in"] == "header"}
    assert headers == {"X-Prahari-Timestamp", "X-Prahari-Signature"}
    assert {"200", "400", "401", "403", "409", "422", "503"} <= set(webhook["responses"])

"""Every service's OpenAPI document, as the app serves it, is valid OpenAPI by an OpenAPI
validator (openapi-spec-validator), so that integrators' generators read it as written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

from prahari_cases.entrypoints.http import OPENAPI as CASES_OPENAPI
from prahari_cases.entrypoints.http import create_app as cases_app
from prahari_events.kafka import Topics
from prahari_events.telemetry import no_op_tracer
from prahari_intake.entrypoints.http import OPENAPI as INTAKE_OPENAPI
from prahari_intake.entrypoints.http import create_app as intake_app
from prahari_notify.config import Settings as NotifySettings
from prahari_notify.entrypoints.http import OPENAPI as NOTIFY_OPENAPI
from prahari_notify.entrypoints.http import create_app as notify_app
from tests.cases_support import cases_settings
from tests.notify_support import notify_env, write_units
from tests.support import intake_settings


def _documents(tmp: Path) -> dict[str, dict[str, Any]]:
    # Building an app connects to nothing: the documents are made from the schemas.
    topics = Topics()
    notify = NotifySettings.from_env(
        notify_env(topics, "x", write_units(tmp / "units.json"), (1, 2), (3, 4))
    )
    return {
        "intake": intake_app(intake_settings(topics, "x"), no_op_tracer())[INTAKE_OPENAPI],
        "cases": cases_app(cases_settings(topics, "x"), no_op_tracer())[CASES_OPENAPI],
        "notify": notify_app(notify, no_op_tracer())[NOTIFY_OPENAPI],
    }


@pytest.mark.parametrize("service", ["intake", "cases", "notify"])
def test_each_document_is_valid_openapi(service: str, tmp_path: Path) -> None:
    validate(_documents(tmp_path)[service])


def test_the_validator_refuses_a_broken_document(tmp_path: Path) -> None:
    broken = _documents(tmp_path)["intake"]
    broken["paths"]["/v1/reports"]["post"]["responses"]["202"] = {"content": {}}  # no description
    with pytest.raises(OpenAPIValidationError):
        validate(broken)

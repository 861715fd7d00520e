"""What the contract tests share: the checks every answer must pass, and reading the
operations of a served OpenAPI document (through schemathesis's own API: its pytest plugin
does not yet run on pytest 9)."""

from __future__ import annotations

from typing import Any

import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def operations(url: str) -> list[Any]:
    """Every operation of the document the service at `url` serves."""
    api = schemathesis.openapi.from_url(f"{url}/v1/openapi.json")
    found = []
    for result in api.get_all_operations():
        assert isinstance(result, Ok), result
        found.append(result.ok())
    return found

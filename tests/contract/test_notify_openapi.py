"""Property-based tests of notify's public contract: schemathesis generates requests from
its OpenAPI document and sends them, with tokens of several callers, to a notify running as
its own process on real Kafka and PostgreSQL (issue 11: every service's document)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.contract.common import CHECKS
from tests.contract.common import operations as contract_operations
from tests.factories import AUDITOR, BIHAR_ROOM, STATE_ROOM, STATION
from tests.notify_support import write_units
from tests.support import mint, service_under_test

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

CALLERS = [mint(u, timedelta(hours=1)) for u in (STATE_ROOM, STATION, BIHAR_ROOM, AUDITOR)]


@pytest.fixture(scope="module")
def notify_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp: Path = tmp_path_factory.mktemp("notify")
    env = {
        "PRAHARI_UNIT_DIRECTORY": str(write_units(tmp / "units.json")),
        # Nothing is sent in this test: no case events arrive. The gateways need not answer.
        "PRAHARI_SMS_GATEWAY_URL": "http://127.0.0.1:9/sms",
        "PRAHARI_SMS_RECEIPT_SECRET": "receipt-secret-for-the-contract-test",
    }
    with service_under_test("notify", tmp, env) as (url, _):
        yield url


def test_no_server_errors_and_every_response_matches_the_document(notify_url: str) -> None:
    operations = contract_operations(notify_url)
    assert {op.label for op in operations} == {
        "GET /v1/notifications",
        "GET /v1/notifications/{notification_id}/events",
        "POST /v1/receipts/sms",
    }
    statuses: list[int] = []
    for operation in operations:

        @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy(), token=st.sampled_from(CALLERS))
        def exercise(case: Any, token: str) -> None:
            response = case.call(headers={"Authorization": f"Bearer {token}"}, timeout=30)
            statuses.append(response.status_code)
            case.validate_response(response, checks=CHECKS)

        exercise()
    print("statuses provoked:", sorted(Counter(statuses).items()))
    assert {200, 401, 404} <= set(statuses)
    # Requests the document allows are never refused as malformed (issue 13).
    assert 400 not in statuses


def test_the_document_is_served(notify_url: str) -> None:
    document = requests.get(f"{notify_url}/v1/openapi.json", timeout=5).json()
    assert document["info"]["title"] == "Prahari notify"

"""Property-based tests of cases' public contract: schemathesis generates requests from the
OpenAPI 3.1 document that cases serves and checks that nothing answers 5xx and that every
response matches the document. cases runs as its own process on the real Kafka and
PostgreSQL; its cases are opened the real way, from reports on the reports topic."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from prahari_cases.domain.case import case_id_for
from prahari_events.auth import Unit
from prahari_events.catalogue import build_registry
from prahari_events.kafka import (
    Topics,
)
from tests.cases_support import UNITS
from tests.contract.common import CHECKS
from tests.contract.common import operations as contract_operations
from tests.factories import AUDITOR, BIHAR_ROOM, SONBHADRA, STATION, UP, report_envelope
from tests.support import mint, publish, service_under_test

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

ROOM = Unit("UP-SON-DCR", "district_control_room", "control_room", UP, SONBHADRA)
TOKEN = mint(ROOM, timedelta(hours=1))
HEADERS = {"Authorization": f"Bearer {TOKEN}"}
# The callers the generator takes turns with: the owning control room, the reporting
# station, another state's control room (which may not see the cases), and an auditor.
CALLERS = [
    HEADERS,
    *(
        {"Authorization": f"Bearer {mint(unit, timedelta(hours=1))}"}
        for unit in (STATION, BIHAR_ROOM, AUDITOR)
    ),
]
SEEDED = 6


async def _seed(topics: Topics) -> list[str]:
    """Reports as intake publishes them; cases opens one case for each."""
    registry = build_registry()
    reports = [
        report_envelope(registry, description=f"ट्रक संख्या {n} में अवैध शराब") for n in range(SEEDED)
    ]
    await publish(topics.reports, registry, reports)
    return [str(case_id_for(uuid.UUID(r.payload["report_id"]))) for r in reports]


@pytest.fixture(scope="module")
def cases_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, list[str]]]:
    tmp = tmp_path_factory.mktemp("cases")
    with service_under_test("cases", tmp, {"PRAHARI_UNIT_DIRECTORY": UNITS}) as (url, topics):
        ids = asyncio.run(_seed(topics))
        _wait_for(url, ids)
        yield url, ids


def _wait_for(url: str, ids: list[str]) -> None:
    for case_id in ids:
        for _ in range(300):
            if requests.get(f"{url}/v1/cases/{case_id}", headers=HEADERS, timeout=5).ok:
                break
            time.sleep(0.1)
        else:
            raise AssertionError(f"case {case_id} did not open")


def test_no_server_errors_and_every_response_matches_the_document(
    cases_api: tuple[str, list[str]],
) -> None:
    url, ids = cases_api
    statuses: list[int] = []
    operations = contract_operations(url)
    assert (
        len(operations) == 33
    )  # 4 reads, 19 commands, the seizure tallies, 5 watchlist, 4 threads
    for operation in operations:
        # Half the time aim at a real case, with its ETag, so the generator gets past 404
        # and 412 into the commands themselves.
        @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
        @given(
            case=operation.as_strategy(),
            aim=st.sampled_from([None, *ids]),
            caller=st.sampled_from(CALLERS),
        )
        def exercise(case: Any, aim: str | None, caller: dict[str, str]) -> None:
            headers = dict(caller)
            if aim is not None and case.path_parameters and "case_id" in case.path_parameters:
                case.path_parameters["case_id"] = aim
                current = requests.get(f"{url}/v1/cases/{aim}", headers=HEADERS, timeout=5)
                if case.headers and "If-Match" in case.headers:
                    case.headers["If-Match"] = current.headers["ETag"]
            response = case.call(headers=headers, timeout=30)
            statuses.append(response.status_code)
            case.validate_response(response, checks=CHECKS)

        exercise()
    print("statuses provoked:", sorted(Counter(statuses).items()))
    assert {200, 404, 422} <= set(statuses)
    # Requests the document allows are never refused as malformed (issue 13).
    assert 400 not in statuses
    assert set(statuses) & {403, 409, 412, 428}


def test_the_document_is_openapi_3_1_with_examples(cases_api: tuple[str, list[str]]) -> None:
    url, _ = cases_api
    document = requests.get(f"{url}/v1/openapi.json", timeout=5).json()
    assert document["openapi"] == "3.1.0"
    assignment = document["paths"]["/v1/cases/{case_id}/assignment"]["post"]
    assert assignment["requestBody"]["content"]["application/json"]["example"]["unit_id"]
    assert {"200", "400", "403", "404", "409", "412", "422", "428"} <= set(assignment["responses"])

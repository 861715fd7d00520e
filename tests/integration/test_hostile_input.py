"""No input breaks a service (issue 11): values at and past the edges of what a field can
hold get a 400 naming the field (422 for a moment outside 2000-2099, a bound the OpenAPI
document can only state in words), never a 500 and never an empty 200 that looks like an
answer."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from tests.cases_support import SON_ROOM, call
from tests.factories import AUDITOR, STATION
from tests.support import filing

pytestmark = pytest.mark.integration

FAR_FUTURE = "9999-12-31T23:59:59-12:00"  # past year 9999 in UTC: no datetime can hold it
FAR_PAST = "0001-01-01T00:00:00%2B14:00"  # before year 1 in UTC


@pytest.mark.parametrize(
    ("query", "field", "expected"),
    [
        ("/v1/cases?state=1000000000000000000000000000000", "state", 400),
        ("/v1/cases?district=-1", "district", 400),
        (f"/v1/cases?opened_from={FAR_FUTURE}", "opened_from", 422),
        (f"/v1/cases?opened_to={FAR_PAST}", "opened_to", 422),
        ("/v1/cases?opened_from=1970-01-01T00:00:00Z", "opened_from", 422),
        ("/v1/cases?limit=NaN", "limit", 400),
        ("/v1/cases?cursor=%1B%5B2J", "cursor", 400),
        ("/v1/stats/seizures?from=9999-12-31", "from", 422),
        ("/v1/stats/seizures?to=0001-01-01", "to", 422),
    ],
)
async def test_out_of_range_queries_to_cases_are_refused_naming_the_field(
    cases: Any, query: str, field: str, expected: int
) -> None:
    status, body, _ = await call(cases, "GET", query, AUDITOR)
    assert status == expected, body
    assert list(body["error"]["fields"]) == [field]


@pytest.mark.parametrize("moment", [FAR_FUTURE, FAR_PAST, "1999-12-31T23:59:59Z"])
async def test_a_case_as_of_an_impossible_moment_is_422(
    cases: Any, open_case: Any, moment: str
) -> None:
    case_id = await open_case()
    status, body, _ = await call(cases, "GET", f"/v1/cases/{case_id}?as_of={moment}", SON_ROOM)
    assert status == 422, body
    assert list(body["error"]["fields"]) == ["as_of"]


@pytest.mark.parametrize(
    "occurred_at", ["9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+14:00", "1899-01-01T00:00Z"]
)
async def test_a_report_at_an_impossible_moment_is_400(
    client: TestClient[Any, Any], occurred_at: str
) -> None:
    report = {
        "type": "rumour",
        "description": "झूठी अफवाह",
        "state": 9,
        "district": 184,
        "occurred_at": occurred_at,
        "rumour": {"platform": "whatsapp", "first_seen_at": "2024-04-10T10:00:00+05:30"},
    }
    response = await client.post("/v1/reports", json=report, headers=filing(STATION))
    assert response.status == 400, await response.text()
    assert "occurred_at" in (await response.json())["error"]["fields"]

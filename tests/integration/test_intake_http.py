"""intake's HTTP API in-process, publishing to the real Kafka."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from prahari_events.auth import TokenAuthority, Unit
from prahari_events.kafka import Topics
from prahari_events.registry import Registry
from prahari_events.telemetry import no_op_tracer
from prahari_intake.config import Settings
from prahari_intake.entrypoints.http import create_app
from tests.factories import AUDITOR, CHANDAULI, SONBHADRA, STATION, UP
from tests.support import KAFKA, TOKEN_SECRET, read_topic

pytestmark = pytest.mark.integration

TOKENS = TokenAuthority(TOKEN_SECRET)


def bearer(unit: Unit) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS.mint(unit, timedelta(minutes=10))}"}


@pytest.fixture
async def client(topics: Topics) -> AsyncIterator[TestClient[Any, Any]]:
    settings = Settings.from_env(
        {
            "PRAHARI_TOKEN_SECRET": TOKEN_SECRET,
            "PRAHARI_KAFKA_BOOTSTRAP": KAFKA,
            "PRAHARI_TOPIC_PREFIX": topics.prefix,
            "PRAHARI_INTAKE_MAX_BODY_BYTES": "8192",
        }
    )
    async with TestClient(TestServer(create_app(settings, no_op_tracer()))) as client:
        yield client


REPORT = {
    "type": "seizure",
    "description": "चंदौली चेकपोस्ट पर 120 लीटर अवैध शराब जब्त",
    "state": UP,
    "district": SONBHADRA,
    "occurred_at": "2024-04-11T09:30:00+05:30",
}


async def test_an_accepted_report_is_on_the_log_before_the_202(
    client: TestClient[Any, Any], topics: Topics, registry: Registry
) -> None:
    response = await client.post("/v1/reports", json=REPORT, headers=bearer(STATION))
    assert response.status == 202
    body = await response.json()
    assert response.headers["Location"] == f"/v1/reports/{body['report_id']}"
    messages = await read_topic(topics.reports, at_least=1)
    assert len(messages) == 1
    event = registry.decode(messages[0].value or b"")
    assert event.type == "report.received"
    assert event.payload["report_id"] == body["report_id"]
    assert event.payload["description"] == REPORT["description"]
    assert event.actor == STATION.actor()
    assert event.occurred_at.isoformat() == "2024-04-11T04:00:00+00:00"


@pytest.mark.parametrize(
    ("change", "bad_fields"),
    [
        ({"type": "picnic"}, {"type"}),
        ({"state": "nine"}, {"state"}),
        ({"district": 99999}, {"district"}),
        ({"district": None}, {"district"}),
        ({"description": ""}, {"description"}),
        ({"occurred_at": "2024-04-11T09:30:00"}, {"occurred_at"}),  # no time zone
        ({"occurred_at": "2999-01-01T00:00:00+00:00"}, {"occurred_at"}),
        ({"colour": "red"}, {"colour"}),  # unknown fields are refused, not dropped
        ({"type": "x", "state": "y", "extra": 1}, {"type", "state", "extra"}),
    ],
)
async def test_bad_fields_get_400_naming_each_one(
    client: TestClient[Any, Any], topics: Topics, change: dict[str, Any], bad_fields: set[str]
) -> None:
    response = await client.post("/v1/reports", json={**REPORT, **change}, headers=bearer(STATION))
    assert response.status == 400
    body = await response.json()
    assert body["error"]["code"] == "invalid_input"
    assert set(body["error"]["fields"]) == bad_fields


async def test_missing_fields_are_named(client: TestClient[Any, Any]) -> None:
    response = await client.post("/v1/reports", json={}, headers=bearer(STATION))
    assert response.status == 400
    fields = (await response.json())["error"]["fields"]
    assert {"type", "description", "state", "district"} <= set(fields)


async def test_not_json_is_400(client: TestClient[Any, Any]) -> None:
    response = await client.post(
        "/v1/reports",
        data=b"{oops",
        headers={**bearer(STATION), "Content-Type": "application/json"},
    )
    assert response.status == 400
    assert "_body" in (await response.json())["error"]["fields"]


async def test_a_wrong_content_type_is_415(client: TestClient[Any, Any]) -> None:
    response = await client.post(
        "/v1/reports", data="type=rumour", headers={**bearer(STATION), "Content-Type": "text/plain"}
    )
    assert response.status == 415
    assert (await response.json())["error"]["code"]


async def test_an_oversized_body_is_413(client: TestClient[Any, Any]) -> None:
    big = {**REPORT, "details": {"blob": "x" * 20_000}}
    response = await client.post("/v1/reports", json=big, headers=bearer(STATION))
    assert response.status == 413
    assert (await response.json())["error"]["code"]


async def test_no_token_or_a_bad_token_is_401(client: TestClient[Any, Any]) -> None:
    response = await client.post("/v1/reports", json=REPORT)
    assert response.status == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    response = await client.post(
        "/v1/reports", json=REPORT, headers={"Authorization": "Bearer not-a-token"}
    )
    assert response.status == 401
    expired = TOKENS.mint(STATION, timedelta(minutes=-10))
    response = await client.post(
        "/v1/reports", json=REPORT, headers={"Authorization": f"Bearer {expired}"}
    )
    assert response.status == 401


async def test_reporting_outside_ones_jurisdiction_is_403(
    client: TestClient[Any, Any], topics: Topics
) -> None:
    response = await client.post(
        "/v1/reports", json={**REPORT, "district": CHANDAULI}, headers=bearer(STATION)
    )
    assert response.status == 403
    response = await client.post("/v1/reports", json=REPORT, headers=bearer(AUDITOR))
    assert response.status == 403
    assert await read_topic(topics.reports, at_least=0, within=1) == []


async def test_health_and_readiness(client: TestClient[Any, Any]) -> None:
    assert (await client.get("/healthz")).status == 200
    response = await client.get("/readyz")
    assert response.status == 200
    assert (await response.json())["checks"] == {"kafka": "ok"}


async def test_an_unknown_route_is_a_json_404(client: TestClient[Any, Any]) -> None:
    response = await client.get("/v1/nothing")
    assert response.status == 404
    assert (await response.json())["error"]["code"] == "not_found"

"""intake's HTTP API in-process, publishing to the real Kafka."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from prahari_events.kafka import Topics
from prahari_events.registry import Registry
from prahari_intake.entrypoints.examples import EXAMPLES
from tests.factories import AUDITOR, CHANDAULI, STATE_ROOM, STATION
from tests.support import bearer, filing, mint, read_topic

pytestmark = pytest.mark.integration

REPORT = EXAMPLES["rumour"]


def paths(errors: dict[str, Any], prefix: str = "") -> set[str]:
    """Dotted paths of every bad field in a nested error body: seizure.place.district."""
    out: set[str] = set()
    for key, value in errors.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            out |= paths(value, f"{path}.")
        else:
            out.add(path)
    return out


@pytest.mark.parametrize("kind", sorted(EXAMPLES))
async def test_each_report_type_is_accepted_and_on_the_log_before_the_202(
    client: TestClient[Any, Any], topics: Topics, registry: Registry, kind: str
) -> None:
    unit = STATE_ROOM  # covers every district of Uttar Pradesh
    response = await client.post("/v1/reports", json=EXAMPLES[kind], headers=filing(unit))
    assert response.status == 202, await response.text()
    body = await response.json()
    assert response.headers["Location"] == f"/v1/reports/{body['report_id']}"
    messages = await read_topic(topics.reports, at_least=1)
    assert len(messages) == 1
    event = registry.decode(messages[0].value or b"")
    assert event.type == "report.received"
    assert event.payload["report_id"] == body["report_id"]
    assert event.payload["report_type"] == kind
    assert event.payload["description"] == EXAMPLES[kind]["description"]
    assert event.actor == unit.actor()
    assert event.actor.issuer == f"state-{unit.state}"  # who vouched for the unit, kept
    if kind == "seizure":
        assert event.payload["details"]["unit"] == "litres"
        assert event.payload["details"]["location"]["latitude"] == 25.33
    if kind == "smuggling_tip":
        assert event.payload["details"]["vehicles"] == ["BR01AB1234"]  # normalised


async def test_occurred_at_is_kept_in_utc(
    client: TestClient[Any, Any], topics: Topics, registry: Registry
) -> None:
    response = await client.post("/v1/reports", json=REPORT, headers=filing(STATION))
    assert response.status == 202
    [message] = await read_topic(topics.reports, at_least=1)
    event = registry.decode(message.value or b"")
    assert event.occurred_at.isoformat() == "2024-04-11T04:00:00+00:00"


def _with(kind: str, **changes: Any) -> dict[str, Any]:
    report: dict[str, Any] = json.loads(json.dumps(EXAMPLES[kind]))
    for path, value in changes.items():
        target = report
        *parents, leaf = path.split("__")
        for parent in parents:
            target = target[parent]
        if value is _DROP:
            del target[leaf]
        else:
            target[leaf] = value
    return report


_DROP = object()


def rule_broken(report: dict[str, Any], bad_paths: set[str]) -> tuple[Any, set[str], int]:
    """A row whose fields are each well-formed but break a rule the document states in
    words (an LGD code not in the directory, a moment in the future, a rule between
    fields): 422, with the same body naming each field."""
    return report, bad_paths, 422


BAD_REPORTS: list[tuple[Any, ...]] = [
    (_with("rumour", type="picnic"), {"type"}),
    (_with("rumour", state="nine"), {"state"}),
    rule_broken(_with("rumour", district=99999), {"district"}),
    (_with("rumour", district=None), {"district"}),
    (_with("rumour", description=""), {"description"}),
    (_with("rumour", occurred_at="2024-04-11T09:30:00"), {"occurred_at"}),  # no zone
    rule_broken(_with("rumour", occurred_at="2999-01-01T00:00:00+00:00"), {"occurred_at"}),
    (_with("rumour", occurred_at=_DROP), {"occurred_at"}),
    (_with("rumour", colour="red"), {"colour"}),  # unknown fields are refused
    (_with("rumour", type="x", state="y", extra=1), {"type", "state", "extra"}),
    rule_broken(_with("rumour", rumour__handle=_DROP), {"rumour.post_url"}),
    rule_broken(
        _with("rumour", rumour__first_seen_at="2999-01-01T00:00:00+00:00"),
        {"rumour.first_seen_at"},
    ),
    (_with("rumour", rumour__screenshot_sha256="abc"), {"rumour.screenshot_sha256"}),
    (_with("rumour", rumour__estimated_reach=-5), {"rumour.estimated_reach"}),
    rule_broken(_with("rumour", seizure=EXAMPLES["seizure"]["seizure"]), {"seizure"}),
    rule_broken(_with("seizure", seizure=_DROP), {"seizure"}),
    (_with("seizure", seizure__quantity=-3), {"seizure.quantity"}),
    (_with("seizure", seizure__quantity=0), {"seizure.quantity"}),
    rule_broken(_with("seizure", seizure__unit="kg"), {"seizure.unit"}),
    (_with("seizure", seizure__value_inr=-1), {"seizure.value_inr"}),
    (_with("seizure", seizure__agency="vigilantes"), {"seizure.agency"}),
    rule_broken(_with("seizure", seizure__place__district=184), {"seizure.place.district"}),
    rule_broken(_with("seizure", seizure__place__district=99999), {"seizure.place.district"}),
    rule_broken(_with("seizure", location={"latitude": 25.3}), {"location.latitude"}),
    (
        _with("seizure", location={"latitude": 51.5, "longitude": -0.1}),
        {"location.latitude", "location.longitude"},
    ),
    (
        _with("smuggling_tip", smuggling_tip__vehicles=["not a plate"]),
        {"smuggling_tip.vehicles.0"},
    ),
    rule_broken(
        _with("smuggling_tip", smuggling_tip__route__to={"state": 9, "district": 200}),
        {"smuggling_tip.route.to.district"},
    ),
    (_with("smuggling_tip", smuggling_tip__commodity="tea"), {"smuggling_tip.commodity"}),
    (_with("intelligence", intelligence__area="dangerous"), {"intelligence.area"}),
    (_with("incident", incident__injured=-1), {"incident.injured"}),
    # Control characters anywhere in the text: named, never a 202 that dead-letters.
    (_with("rumour", description="अफवाह \x00 फैल रही"), {"description"}),
    (_with("rumour", description="terminal \x1b[2J wipe"), {"description"}),
    (_with("rumour", rumour__handle="@user\x07"), {"rumour.handle"}),
]


@pytest.mark.parametrize(
    ("report", "bad_paths", "status"),
    [row if len(row) == 3 else (*row, 400) for row in BAD_REPORTS],
)
async def test_bad_fields_get_400_or_422_naming_each_one(
    client: TestClient[Any, Any],
    topics: Topics,
    report: dict[str, Any],
    bad_paths: set[str],
    status: int,
) -> None:
    response = await client.post("/v1/reports", json=report, headers=filing(STATE_ROOM))
    assert response.status == status, await response.text()
    body = await response.json()
    assert body["error"]["code"] == ("invalid_input" if status == 400 else "unprocessable")
    assert paths(body["error"]["fields"]) == bad_paths
    assert await read_topic(topics.reports, at_least=0, within=0.5) == []


async def test_missing_fields_are_named(client: TestClient[Any, Any]) -> None:
    response = await client.post("/v1/reports", json={}, headers=filing(STATION))
    assert response.status == 400
    fields = (await response.json())["error"]["fields"]
    assert {"type", "description", "state", "district"} <= set(fields)


async def test_not_json_is_400(client: TestClient[Any, Any]) -> None:
    response = await client.post(
        "/v1/reports",
        data=b"{oops",
        headers={**filing(STATION), "Content-Type": "application/json"},
    )
    assert response.status == 400
    assert "_body" in (await response.json())["error"]["fields"]


async def test_a_wrong_content_type_is_415(client: TestClient[Any, Any]) -> None:
    response = await client.post(
        "/v1/reports", data="type=rumour", headers={**filing(STATION), "Content-Type": "text/plain"}
    )
    assert response.status == 415
    assert (await response.json())["error"]["code"]


async def test_an_oversized_body_is_413(client: TestClient[Any, Any]) -> None:
    big = {
        **REPORT,
        "description": "x" * 4000,
        "rumour": {**REPORT["rumour"], "excerpt": "क" * 2000},
    }
    response = await client.post("/v1/reports", json=big, headers=filing(STATION))
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
    expired = mint(STATION, timedelta(minutes=-10))
    response = await client.post(
        "/v1/reports", json=REPORT, headers={"Authorization": f"Bearer {expired}"}
    )
    assert response.status == 401


async def test_reporting_outside_ones_jurisdiction_is_403(
    client: TestClient[Any, Any], topics: Topics
) -> None:
    response = await client.post(
        "/v1/reports", json={**REPORT, "district": CHANDAULI}, headers=filing(STATION)
    )
    assert response.status == 403
    response = await client.post("/v1/reports", json=REPORT, headers=filing(AUDITOR))
    assert response.status == 403
    assert await read_topic(topics.reports, at_least=0, within=1) == []


async def test_health_and_readiness(client: TestClient[Any, Any]) -> None:
    assert (await client.get("/healthz")).status == 200
    # To anyone: ready or not, nothing about the parts behind it.
    response = await client.get("/readyz")
    assert response.status == 200
    assert await response.json() == {"status": "ready"}
    # To a unit with a token: each check.
    response = await client.get("/readyz", headers=bearer(STATION))
    checks = (await response.json())["checks"]
    assert checks["kafka"] == checks["postgres"] == checks["consumer"] == "ok"


async def test_an_unknown_route_is_a_json_404(client: TestClient[Any, Any]) -> None:
    response = await client.get("/v1/nothing")
    assert response.status == 404
    assert (await response.json())["error"]["code"] == "not_found"


async def test_a_report_without_an_idempotency_key_is_428_and_files_nothing(
    client: TestClient[Any, Any], topics: Topics
) -> None:
    # A client that retried a 503 without a key would file the report twice: no key, no report.
    response = await client.post("/v1/reports", json=REPORT, headers=bearer(STATION))
    assert response.status == 428
    body = await response.json()
    assert body["error"]["fields"] == {"Idempotency-Key": ["required"]}
    assert "Idempotency-Key" in body["error"]["message"]
    assert await read_topic(topics.reports, at_least=0, within=0.5) == []

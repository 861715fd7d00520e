"""What the tests of the cases service share: its settings for one test, the units they act
as, and calls that send a command with the case's current ETag."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient

from prahari_cases.config import Settings
from prahari_events.auth import Unit
from prahari_events.kafka import Topics
from tests.factories import BIHAR, SONBHADRA, UP
from tests.support import CASES_URL, KAFKA, TOKEN_TRUST, bearer

UNITS = str(Path(__file__).resolve().parents[1] / "infra" / "dev" / "units.json")
EXAMPLE = Path(__file__).resolve().parents[1] / "docs" / "examples" / "share_feed_consumer.py"
KAIMUR, JHARKHAND = 200, 20
SON_ROOM = Unit("UP-SON-DCR", "district_control_room", "control_room", UP, SONBHADRA)
SQUAD = Unit("UP-SON-FS-1", "flying_squad", "reporter", UP, SONBHADRA)
OTHER_STATION = Unit("UP-SON-PS-OBRA", "police_station", "reporter", UP, SONBHADRA)
BR_ROOM = Unit("BR-SCR", "state_control_room", "control_room", BIHAR, None)
KAI_ROOM = Unit("BR-KAI-DCR", "district_control_room", "control_room", BIHAR, KAIMUR)
BR_STATION = Unit("BR-KAI-CP-KARMNASA", "check_post", "reporter", BIHAR, KAIMUR)
JH_ROOM = Unit("JH-SCR", "state_control_room", "control_room", JHARKHAND, None)

Client = TestClient[Any, Any]


def cases_env(topics: Topics, schema: str, **extra: str) -> dict[str, str]:
    """cases' environment for one test: its own topics and schema."""
    return {
        "PRAHARI_TOKEN_TRUST": TOKEN_TRUST,
        "PRAHARI_KAFKA_BOOTSTRAP": KAFKA.bootstrap,
        "DATABASE_URL": CASES_URL,
        "PRAHARI_DB_SCHEMA": schema,
        "PRAHARI_TOPIC_PREFIX": topics.prefix,
        "PRAHARI_UNIT_DIRECTORY": UNITS,
        **extra,
    }


def cases_settings(topics: Topics, schema: str, **extra: str) -> Settings:
    return Settings.from_env(cases_env(topics, schema, **extra))


def sla_file(directory: Path, **seconds: float) -> str:
    """An SLA file with these durations (the others: an hour, so they never fire)."""
    durations = {"assign": 3600.0, "acknowledge": 3600.0, "field_report": 3600.0, "close": 3600.0}
    path = directory / "sla.json"
    path.write_text(json.dumps({"default": {**durations, **seconds}}), encoding="utf-8")
    return str(path)


async def call(
    client: Client,
    method: str,
    path: str,
    unit: Unit,
    body: Any = None,
    *,
    etag: str | None = None,
    key: str | None = None,
) -> tuple[int, Any, Any]:
    headers = bearer(unit)
    if etag is not None:
        headers["If-Match"] = etag
    if key is not None:
        headers["Idempotency-Key"] = key
    async with client.request(method, path, json=body, headers=headers) as response:
        return response.status, await response.json(), response.headers


async def etag_of(client: Client, case_id: str, unit: Unit = SON_ROOM) -> str:
    status, _, headers = await call(client, "GET", f"/v1/cases/{case_id}", unit)
    assert status == 200
    return str(headers["ETag"])


async def do(
    client: Client, case_id: str, path: str, unit: Unit, body: Any = None, method: str = "POST"
) -> Any:
    """A command that must succeed, sent with the current ETag."""
    etag = await etag_of(client, case_id, unit)
    status, answer, headers = await call(
        client, method, f"/v1/cases/{case_id}{path}", unit, body, etag=etag
    )
    assert status == 200, answer
    assert headers["ETag"] == f'"{answer["version"]}"'
    return answer


async def run_example(state: int, prefix: str, env: dict[str, str]) -> dict[str, Any]:
    """docs/examples/share_feed_consumer.py as a state's system would run it: its summary."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(EXAMPLE), "--state", str(state), "--prefix", prefix, "--idle-s", "2",
        env={**env, "PATH": "/usr/bin:/bin"},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out = (await asyncio.wait_for(process.communicate(), 60))[0].decode()
    assert process.returncode == 0, out
    summary: dict[str, Any] = json.loads(out.splitlines()[-1])
    return summary

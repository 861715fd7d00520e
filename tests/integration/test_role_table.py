"""The role x endpoint table of docs/security.md, request by request: the table is read from
the document, so the document and the services cannot drift apart."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from prahari_events import lgd
from prahari_events.auth import Unit
from prahari_events.borders import load_pairs
from prahari_events.policy import Area
from prahari_intake.entrypoints.examples import EXAMPLES
from tests.cases_support import BR_ROOM, SON_ROOM, etag_of
from tests.factories import AUDITOR, OTHER_STATION, STATE_ROOM, STATION
from tests.notify_support import notify_rig
from tests.support import bearer

pytestmark = pytest.mark.integration

DOC = Path(__file__).resolve().parents[2] / "docs" / "security.md"
SONBHADRA_KAIMUR = next(
    p for p in load_pairs(lgd.load()) if p.includes(Area(9, 184)) and p.includes(Area(10, 200))
)
THREAD = f"/v1/threads/{SONBHADRA_KAIMUR.pair_id}/messages"
TAKEDOWN = {
    "platform": "x",
    "url": "https://x.com/a/status/1",
    "legal_basis": "it_act_69a",
    "nodal_officer": "SP Cyber Crime",
}
COLUMNS: dict[str, Unit | None] = {
    "reporter": STATION,
    "reporter, other district": OTHER_STATION,
    "district control room": SON_ROOM,
    "state control room": STATE_ROOM,
    "Bihar": BR_ROOM,
    "auditor": AUDITOR,
    "no token": None,
}


def table() -> dict[str, dict[str, int]]:
    """endpoint -> column -> status, from the document."""
    text = DOC.read_text(encoding="utf-8")
    block = text.split("<!-- role table: begin -->")[1].split("<!-- role table: end -->")[0]
    rows = [
        [cell.strip() for cell in line.strip().strip("|").split("|")]
        for line in block.strip().splitlines()
    ]
    header, body = rows[0], rows[2:]
    assert header[1:] == list(COLUMNS), header
    return {row[0]: dict(zip(header[1:], map(int, row[1:]), strict=True)) for row in body}


def headers(unit: Unit | None, **extra: str) -> dict[str, str]:
    return {**(bearer(unit) if unit else {}), **extra}


Request = Callable[[Unit | None], Awaitable[int]]


async def test_every_role_gets_what_the_table_says(
    client: Any, cases: Any, open_case: Any, topics: Any, schema: str, tmp_path: Path
) -> None:
    async def status(app: Any, method: str, path: str, unit: Unit | None, **kw: Any) -> int:
        async with app.request(method, path, **kw) as response:
            await response.read()
            return int(response.status)

    filed = await client.post(
        "/v1/reports", json=EXAMPLES["rumour"], headers=headers(STATION, **{"Idempotency-Key": "r"})
    )
    report_id = (await filed.json())["report_id"]
    case_id = await open_case()

    async def command(path: str, body: dict[str, Any], unit: Unit | None, **report: Any) -> int:
        fresh = await open_case(**report)  # each try on a case of its own, at its version
        etag = await etag_of(cases, fresh)
        return await status(
            cases, "POST", f"/v1/cases/{fresh}{path}", unit, json=body,
            headers=headers(unit, **{"If-Match": etag}),
        )  # fmt: skip

    def get(app: Any, path: str) -> Request:
        return lambda unit: status(app, "GET", path, unit, headers=headers(unit))

    async with notify_rig(topics, f"{schema}_n", tmp_path) as rig:
        opened = await rig.open_case()
        notified = opened.payload["case_id"]
        requests: dict[str, Request] = {
            "`POST /v1/reports` (a Sonbhadra report)": lambda unit: status(
                client,
                "POST",
                "/v1/reports",
                unit,
                json=EXAMPLES["rumour"],
                headers=headers(unit, **{"Idempotency-Key": f"k-{unit.unit_id if unit else ''}"}),
            ),
            "`GET /v1/reports/{id}` (filed by the station)": get(
                client, f"/v1/reports/{report_id}"
            ),
            "`GET /v1/cases`": get(cases, "/v1/cases"),
            "`GET /v1/cases/{id}`": get(cases, f"/v1/cases/{case_id}"),
            "`GET /v1/cases/{id}/events`": get(cases, f"/v1/cases/{case_id}/events"),
            "`GET /v1/cases/{id}/timeline`": get(cases, f"/v1/cases/{case_id}/timeline"),
            "`POST /v1/cases/{id}/notes`": lambda u: command("/notes", {"text": "नोट"}, u),
            "`POST /v1/cases/{id}/assignment`": lambda u: command(
                "/assignment", {"unit_id": "UP-SON-FS-1"}, u
            ),
            "`POST /v1/cases/{id}/shares`": lambda u: command(
                "/shares", {"state": 10, "reason": "truck from Bihar"}, u
            ),
            "`POST /v1/cases/{id}/closure`": lambda u: command(
                "/closure", {"disposition": "fir_registered", "summary": "FIR दर्ज"}, u
            ),
            "`POST /v1/cases/{id}/takedown-requests` (a rumour case)": lambda u: command(
                "/takedown-requests", TAKEDOWN, u, report_type="rumour"
            ),
            "`GET /v1/threads/{id}/messages` (Sonbhadra-Kaimur)": get(cases, THREAD),
            "`POST /v1/threads/{id}/messages` (Sonbhadra-Kaimur)": lambda unit: status(
                cases, "POST", THREAD, unit, json={"text": "नाका"}, headers=headers(unit)
            ),
            "`GET /v1/stats/seizures`": get(cases, "/v1/stats/seizures"),
            "`GET /v1/watchlist`": get(cases, "/v1/watchlist"),
            "`GET /v1/notifications?case_id={id}`": get(
                rig.client, f"/v1/notifications?case_id={notified}"
            ),
            "`GET /v1/notifications?state=failed`": get(
                rig.client, "/v1/notifications?state=failed"
            ),
        }
        expected = table()
        assert set(expected) == set(requests)
        got = {
            endpoint: {column: await requests[endpoint](unit) for column, unit in COLUMNS.items()}
            for endpoint in expected
        }
    assert got == expected


def test_the_table_parses() -> None:
    rows = table()
    assert len(rows) == 17
    assert all(
        re.fullmatch(r"[1-5][0-9]{2}", str(s)) for row in rows.values() for s in row.values()
    )

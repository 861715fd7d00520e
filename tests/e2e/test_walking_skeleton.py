"""The whole system: intake, cases and notify as separate processes on the real Kafka and
PostgreSQL; a real SMTP server and an HTTP SMS gateway in this test. A report goes in at the
front door; a case, an email and an SMS come out, all under one trace."""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from prahari_events.kafka import Topics
from tests.factories import AUDITOR, BIHAR_ROOM, CHANDAULI, OTHER_STATION, SONBHADRA, STATION, UP
from tests.support import eventually
from tests.system_support import SERVICES, System, call, running_system

pytestmark = [pytest.mark.integration, pytest.mark.e2e, pytest.mark.timeout(180)]


@pytest.fixture
async def system(topics: Topics, test_id: str, tmp_path: Path) -> AsyncIterator[System]:
    async with running_system(topics, test_id, tmp_path) as running:
        yield running


async def test_a_report_becomes_a_case_an_email_and_an_sms_under_one_trace(system: System) -> None:
    report = {
        "type": "smuggling_tip",
        "description": "बिहार सीमा की ओर अवैध शराब से भरा ट्रक UP64 AB 1234",
        "state": UP,
        "district": SONBHADRA,
        "occurred_at": "2024-04-11T18:00:00+05:30",
        "smuggling_tip": {"commodity": "liquor", "vehicles": ["UP64 AB 1234"]},
    }
    async with aiohttp.ClientSession() as http:
        status, accepted = await call(
            http, "POST", f"{system.urls['intake']}/v1/reports", STATION, json=report
        )
        assert status == 202, accepted
        trace_id = accepted["trace_id"]
        assert len(trace_id) == 32

        async def case_listed() -> dict[str, Any] | None:
            status, body = await call(http, "GET", f"{system.urls['cases']}/v1/cases", STATION)
            assert status == 200
            return body["cases"][0] if body["cases"] else None

        listed = await eventually(case_listed)
        case_url = f"{system.urls['cases']}/v1/cases/{listed['case_id']}"
        status, case = await call(http, "GET", case_url, STATION)
        assert status == 200
        assert case["report_id"] == accepted["report_id"]
        assert case["status"] == "open"
        assert case["description"] == report["description"]
        assert case["reported_by"]["unit_id"] == STATION.unit_id
        assert case["trace_id"] == trace_id

        # Who may see it: the reporting station, the state room and auditors; not a station
        # of another district, nor another state's control room.
        assert (await call(http, "GET", case_url, AUDITOR))[0] == 200
        assert (await call(http, "GET", case_url, OTHER_STATION))[0] == 404
        assert (await call(http, "GET", case_url, BIHAR_ROOM))[0] == 404
        status, other = await call(http, "GET", f"{system.urls['cases']}/v1/cases", OTHER_STATION)
        assert (status, other["cases"]) == (200, [])
        # A filter narrows what the unit may see; it never widens it.
        status, other = await call(
            http, "GET", f"{system.urls['cases']}/v1/cases?district={CHANDAULI}", STATION
        )
        assert (status, other["cases"]) == (200, [])

        # The unit can follow its report to the case.
        async def case_opened() -> dict[str, Any] | None:
            status, tracked = await call(
                http, "GET", f"{system.urls['intake']}/v1/reports/{accepted['report_id']}", STATION
            )
            assert status == 200
            return tracked if tracked["status"] == "case_opened" else None

        assert (await eventually(case_opened))["case_id"] == case["case_id"]

        # The audit trail: who did what, from where, caused by what.
        status, history = await call(http, "GET", f"{case_url}/events", AUDITOR)
        assert status == 200
        [opened] = history["events"]
        assert opened["type"] == "case.opened"
        assert opened["version"] == 3  # case.opened v3: identifiers, SLA, and its source
        assert opened["payload"]["identifiers"] == [{"kind": "vehicle", "value": "UP64AB1234"}]
        assert opened["actor"]["unit_id"] == "service:cases"
        assert opened["jurisdiction"] == {"state": UP, "district": SONBHADRA}
        assert opened["correlation_id"] == accepted["report_id"]

        mail = await eventually(lambda: _first(system.mail.received()))
        assert mail["To"].addresses[0].addr_spec == "dcr-184@control-room.prahari.test"
        assert "नया मामला" in str(mail["Subject"])
        body = mail.get_body(("plain",))
        assert body is not None
        assert report["description"] in body.get_content()
        assert str(mail["traceparent"]).split("-")[1] == trace_id

        sms = await eventually(lambda: _first(system.sms.requests))
        assert sms["body"]["to"] == "+919000000184"
        assert sms["body"]["unicode"] is True
        assert "तस्करी सूचना" in sms["body"]["text"]
        assert sms["headers"]["traceparent"].split("-")[1] == trace_id

        async def all_sent() -> list[dict[str, Any]] | None:
            status, body = await call(
                http,
                "GET",
                f"{system.urls['notify']}/v1/notifications?case_id={case['case_id']}",
                STATION,
            )
            assert status == 200
            found = body["notifications"]
            return found if len(found) == 2 and {n["status"] for n in found} == {"sent"} else None

        sent = await eventually(all_sent)
        # The shared policy here too: another state's room is told the case does not exist,
        # and the reporting station does not see the control room's phone and address.
        notifications = f"{system.urls['notify']}/v1/notifications?case_id={case['case_id']}"
        assert (await call(http, "GET", notifications, BIHAR_ROOM))[0] == 404
        assert (await call(http, "GET", notifications, OTHER_STATION))[0] == 404
        assert all("address" not in n for n in sent)
        status, audited = await call(http, "GET", notifications, AUDITOR)
        assert status == 200
        history = f"{system.urls['notify']}/v1/notifications/{sent[0]['notification_id']}/events"
        status, trail = await call(http, "GET", history, STATION)
        assert status == 200
        assert [e["type"] for e in trail["events"]] == ["notification.queued", "notification.sent"]
        assert "recipient" not in trail["events"][0]["payload"]
        assert (await call(http, "GET", history, BIHAR_ROOM))[0] == 404
        assert {n["address"] for n in audited["notifications"]} == {
            "dcr-184@control-room.prahari.test",
            "+919000000184",
        }

    # Graceful shutdown: SIGTERM, in-flight work finishes, the process exits cleanly.
    for process in system.processes.values():
        process.send_signal(signal.SIGTERM)
    for name, process in system.processes.items():
        code = await asyncio.wait_for(process.wait(), 30)
        assert code == 0, system.logs[name].read_text()[-3000:]

    # Exactly one email and one SMS, however the messages were delivered: counted once every
    # process has exited, so nothing can still be on its way.
    assert len(system.mail.received()) == 1
    assert len(system.sms.requests) == 1

    # One trace: spans from all three services share the report's trace id.
    services_in_trace = set()
    for name, path in system.trace_files.items():
        for line in path.read_text(encoding="utf-8").splitlines():
            span = json.loads(line)
            if span["trace_id"] == trace_id:
                services_in_trace.add(span["service"])
                assert span["service"] == name
    assert services_in_trace == set(SERVICES)


async def _first(items: list[Any]) -> Any:
    return items[0] if items else None


async def test_the_same_rumour_twice_is_one_case_and_intake_says_linked(system: System) -> None:
    def rumour(url: str) -> dict[str, Any]:
        return {
            "type": "rumour",
            "description": "व्हाट्सएप पर झूठा संदेश कि सोनभद्र में मतदान की तारीख बदल गई है",
            "state": UP,
            "district": SONBHADRA,
            "occurred_at": "2024-04-11T09:30:00+05:30",
            "rumour": {
                "platform": "whatsapp",
                "post_url": url,
                "language": "hi",
                "first_seen_at": "2024-04-11T08:05:00+05:30",
                "estimated_reach": 12000,
            },
        }

    reports = system.urls["intake"] + "/v1/reports"
    async with aiohttp.ClientSession() as http:
        status, first = await call(
            http, "POST", reports, STATION, json=rumour("https://chat.whatsapp.com/Xy1")
        )
        assert status == 202

        async def status_of(report_id: str, wanted: str) -> dict[str, Any] | None:
            status, tracked = await call(
                http, "GET", f"{system.urls['intake']}/v1/reports/{report_id}", STATION
            )
            assert status == 200
            return tracked if tracked["status"] == wanted else None

        opened = await eventually(lambda: status_of(first["report_id"], "case_opened"))
        status, second = await call(
            http,
            "POST",
            reports,
            STATION,
            json=rumour("https://CHAT.whatsapp.com/Xy1?utm_source=forward#top"),
        )
        assert status == 202
        linked = await eventually(lambda: status_of(second["report_id"], "linked"))
        assert linked["case_id"] == opened["case_id"]
        status, case = await call(
            http, "GET", f"{system.urls['cases']}/v1/cases/{opened['case_id']}", STATION
        )
        assert (status, case["reports"], case["total_reach"]) == (200, 2, 24000)

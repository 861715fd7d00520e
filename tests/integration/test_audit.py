"""prahari-audit against the real stores: a case as it stood at a moment, and a case's
timeline across cases and notify (notify's messages about the case included)."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer

from prahari_audit.cli import main
from prahari_audit.topics import read_whole
from prahari_cases.domain.case import stream_for
from prahari_cases.domain.sla import SlaPolicy
from prahari_cases.entrypoints.http import create_app as create_cases_app
from prahari_cases.service_layer.handlers import CaseHandlers
from prahari_events import lgd
from prahari_events.borders import load_pairs
from prahari_events.checkpoints import ensure_key
from prahari_events.kafka import Topics
from prahari_events.policy import Area
from prahari_events.registry import Registry
from prahari_events.store import EventStore
from prahari_events.telemetry import no_op_tracer
from tests.cases_support import KAI_ROOM, SON_ROOM, SQUAD, cases_settings, do
from tests.factories import AUDITOR, STATION, report_envelope
from tests.notify_support import notify_rig, until
from tests.support import AUDIT_URL, KAFKA, bearer, publish, published_schema, read_topic

pytestmark = pytest.mark.integration

SONBHADRA_KAIMUR = next(
    p for p in load_pairs(lgd.load()) if p.includes(Area(9, 184)) and p.includes(Area(10, 200))
)
THREAD = f"/v1/threads/{SONBHADRA_KAIMUR.pair_id}/messages"


async def _count(read: Any, n: int) -> bool:
    return len(await read()) >= n


async def audit(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any]:
    """Run prahari-audit as an auditor would (its own event loop), with --json."""
    capsys.readouterr()
    code = await asyncio.to_thread(
        main, ["--database-url", AUDIT_URL, "--auditor-id", "ECI-OBSERVER-7", "--json", *argv]
    )
    return code, json.loads(capsys.readouterr().out)


async def test_as_of_shows_the_case_as_it_stood_then(
    cases: Any,
    open_case: Any,
    schema: str,
    pool: asyncpg.Pool,
    capsys: pytest.CaptureFixture[str],
) -> None:
    case_id = await open_case()
    await asyncio.sleep(0.05)
    between = datetime.now(UTC)
    await asyncio.sleep(0.05)
    await do(cases, case_id, "/assignment", SON_ROOM, {"unit_id": SQUAD.unit_id})
    code, then = await audit(capsys, "--cases-schema", schema, "as-of", "--case", case_id,
                             "--at", between.isoformat())  # fmt: skip
    assert code == 0
    assert (then["case"]["status"], then["case"]["assignee"]) == ("open", None)
    code, now = await audit(capsys, "--cases-schema", schema, "as-of", "--case", case_id,
                            "--at", datetime.now(UTC).isoformat())  # fmt: skip
    assert now["case"]["status"] == "assigned"
    assert now["case"]["assignee"]["unit_id"] == SQUAD.unit_id
    code, before = await audit(capsys, "--cases-schema", schema, "as-of", "--case", case_id,
                               "--at", "2020-01-01T00:00:00+05:30")  # fmt: skip
    assert (code, before["case"]) == (1, None)
    # Each use of the tool is in the access log, with who ran it.
    used = await pool.fetch(
        "SELECT unit_id, role, what FROM access_log WHERE kind = 'audit_tool' ORDER BY id"
    )
    assert [tuple(r) for r in used] == [("ECI-OBSERVER-7", "auditor", "audit.as-of")] * 3


async def test_a_timeline_follows_a_case_into_notify(
    cases: Any,
    open_case: Any,
    schema: str,
    pool: asyncpg.Pool,
    store: EventStore,
    topics: Topics,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    case_id = await open_case()
    await do(cases, case_id, "/assignment", SON_ROOM, {"unit_id": SQUAD.unit_id})
    notify_schema = f"{schema}_n"
    async with notify_rig(topics, notify_schema, tmp_path) as rig:
        # notify takes the case's events as its consumer would from Kafka.
        rig.case_id = uuid.UUID(case_id)
        await rig.deliver(*await store.read_stream(pool, stream_for(uuid.UUID(case_id))))

        async def sent() -> bool:
            rows = await rig.rows()
            return len(rows) >= 3 and all(r["status"] == "sent" for r in rows)

        await until(sent)
        # An auditor looks at the case, and at its messages.
        assert (await cases.get(f"/v1/cases/{case_id}", headers=bearer(AUDITOR))).status == 200
        listed = await rig.client.get(
            "/v1/notifications", params={"case_id": case_id}, headers=bearer(AUDITOR)
        )
        assert listed.status == 200
        code, found = await audit(capsys, "--cases-schema", schema, "--notify-schema",
                                  notify_schema, "timeline", "--case", case_id)  # fmt: skip
    assert code == 0
    kinds = [(e["service"], e["type"]) for e in found["entries"] if e["event_id"]]
    assert kinds[:2] == [("cases", "case.opened"), ("cases", "case.assigned")]
    assert ("notify", "notification.queued") in kinds
    assert kinds.count(("notify", "notification.sent")) == 3  # room SMS and email, squad SMS
    times = [e["at"] for e in found["entries"]]
    assert times == sorted(times)
    reads = [
        (e["service"], e["type"], e["actor"]) for e in found["entries"] if e["event_id"] is None
    ]
    assert reads[-2:] == [
        ("cases", "read: case", AUDITOR.unit_id),
        ("notify", "read: case.notifications", AUDITOR.unit_id),
    ]
    # The reads are published too, for whoever keeps watch outside the database.

    async def published() -> list[dict[str, Any]]:
        found = [json.loads(v) for v in await read_whole(KAFKA, topics.access)]
        return [r for r in found if r["unit_id"] == AUDITOR.unit_id]

    await until(lambda: _count(published, 2))
    assert sorted((r["service"], r["what"], r["unit_id"]) for r in await published()) == [
        ("cases", "case", AUDITOR.unit_id),
        ("notify", "case.notifications", AUDITOR.unit_id),
    ]
    # CloudEvents too, like every event on Kafka.
    sources = set()
    validator = published_schema("access.read")  # and as docs/asyncapi.yaml describes them
    for message in await read_topic(topics.access, at_least=2):
        body = json.loads(message.value or b"")
        assert validator.is_valid(body), list(validator.iter_errors(body))[:3]
        ce = {k: v.decode() for k, v in message.headers}
        assert (ce["ce_specversion"], ce["ce_type"]) == ("1.0", "access.read")
        assert datetime.fromisoformat(ce["ce_time"]).tzinfo is not None
        sources.add(ce["ce_source"])
    assert {"/prahari/cases", "/prahari/notify"} <= sources
    code, none = await audit(capsys, "--cases-schema", schema, "timeline", "--case",
                             str(uuid.uuid4()))  # fmt: skip
    assert (code, none["entries"]) == (1, [])


async def test_an_export_verifies_offline_and_an_edit_in_it_is_named(
    cases: Any, open_case: Any, schema: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    since = datetime.now(UTC)
    first, second = await open_case(), await open_case()
    await do(cases, first, "/assignment", SON_ROOM, {"unit_id": SQUAD.unit_id})
    out = tmp_path / "export"
    code, written = await audit(capsys, "--cases-schema", schema, "--notify-schema", "none",
                                "--progress", "export", "--from", since.isoformat(),
                                "--to", datetime.now(UTC).isoformat(), "--state", "9",
                                "--out", str(out))  # fmt: skip
    assert (code, written["events"]) == (0, 3)
    sheet = out.with_suffix(".csv").read_bytes()
    assert sheet.startswith("\ufeff".encode())  # so that a spreadsheet reads UTF-8
    assert second in sheet.decode("utf-8")
    code, checked = await audit(capsys, "verify-export", str(out.with_suffix(".jsonl")))
    assert (code, checked["findings"]) == (0, [])
    # Another state's window has none of these; an edited line is named.
    _, elsewhere = await audit(capsys, "--cases-schema", schema, "--notify-schema", "none",
                               "export", "--from", since.isoformat(),
                               "--to", datetime.now(UTC).isoformat(), "--state", "10",
                               "--out", str(tmp_path / "bihar"))  # fmt: skip
    assert elsewhere["events"] == 0
    jsonl = out.with_suffix(".jsonl")
    lines = jsonl.read_text(encoding="utf-8").splitlines()
    edited = json.loads(lines[1])
    edited["body"] = edited["body"].replace('"stream_version":', '"stream_version": ', 1)
    lines[1] = json.dumps(edited, ensure_ascii=False)
    jsonl.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, checked = await audit(capsys, "verify-export", str(jsonl))
    assert code == 1
    assert checked["findings"][0].startswith("line 2:")


async def test_a_reports_timeline_shows_intake_cases_notify_and_an_auditors_read_in_order(
    cases: Any,
    deliver: Any,
    schema: str,
    topics: Topics,
    registry: Registry,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    report = report_envelope(registry)
    # As intake publishes it (intake keeps no store: the topic is the record), with other
    # reports around it; and as cases' consumer takes it.
    others = [report_envelope(registry), report_envelope(registry)]
    await publish(topics.reports, registry, [others[0], report, others[1]])
    notify_schema = f"{schema}_n"
    async with notify_rig(topics, notify_schema, tmp_path) as rig:
        case_id = await deliver(report)
        await do(cases, case_id, "/assignment", SON_ROOM, {"unit_id": SQUAD.unit_id})

        async def told() -> bool:
            # notify took the case's events from Kafka: the room's SMS and email, the squad's
            rows = await rig.pool.fetch("SELECT status FROM deliveries")
            return len(rows) >= 3 and all(r["status"] == "sent" for r in rows)

        await until(told, within=20)
        assert (await cases.get(f"/v1/cases/{case_id}", headers=bearer(AUDITOR))).status == 200
        code, found = await audit(capsys, "--cases-schema", schema, "--notify-schema",
                                  notify_schema, "--topic-prefix", topics.prefix, "timeline",
                                  "--report", report.payload["report_id"])  # fmt: skip
    assert code == 0
    entries = [(e["service"], e["type"]) for e in found["entries"]]
    assert entries[:2] == [("intake", "report.received"), ("cases", "case.opened")]
    assert {"intake", "cases", "notify"} == {service for service, _ in entries}
    assert ("cases", "case.assigned") in entries
    assert entries.count(("notify", "notification.sent")) == 3
    assert entries[-1] == ("cases", "read: case")
    assert found["entries"][-1]["actor"] == AUDITOR.unit_id
    assert found["entries"][0]["actor"] == report.actor.unit_id
    times = [e["at"] for e in found["entries"]]
    assert times == sorted(times)


VEHICLES = ["UP 64 AB 1234", "BR 01 AB 1234", "JH 02 C 4321", "UP 70 T 1111"]
SEIZURES = [
    {"category": "liquor", "quantity": 1200, "unit": "litres", "value_inr": 480000,
     "agency": "excise", "fir_number": "0123/2024", "police_station": "Robertsganj"},
    {"category": "cash", "quantity": 75000, "unit": "inr", "value_inr": 75000, "agency": "gst"},
]  # fmt: skip


async def _mixed_history(cases: Any, pool: asyncpg.Pool, registry: Registry, topics: Topics) -> int:
    """A few hundred commands of every kind on cases opened through the real consumer;
    returns how many commands were sent."""
    headers = {**bearer(SON_ROOM), "Idempotency-Key": "watch-replay"}
    entry = {"kind": "vehicle", "value": VEHICLES[1], "reason": "गिरोह का ट्रक",
             "expires_at": "2099-06-04T23:59:00+05:30"}  # fmt: skip
    async with cases.post("/v1/watchlist", json=entry, headers=headers) as response:
        assert response.status == 201
    # Talk in the Sonbhadra-Kaimur thread; one message becomes a report.
    posted = []
    for n, unit in enumerate([STATION, SON_ROOM, KAI_ROOM, STATION]):
        async with cases.post(THREAD, json={"text": f"संदेश {n}"}, headers=bearer(unit)) as r:
            assert r.status == 201
            posted.append(await r.json())
    source = {"thread_id": str(SONBHADRA_KAIMUR.pair_id), "message_id": posted[0]["message_id"]}
    reports = [
        report_envelope(registry, details={"commodity": "liquor", "vehicles": ["UP64ZZ0001"]},
                        source=source),
        # The same rumour twice, once from a message: one case, whichever report opens it.
        *(report_envelope(registry, report_type="rumour", description="बच्चा चोर की अफवाह",
                          details={"platform": "x", "post_url": "https://x.com/afwaah/status/1"},
                          source=also)
          for also in (None, {**source, "message_id": posted[1]["message_id"]})),
    ] + [
        report_envelope(registry, details={"commodity": "liquor", "vehicles": [VEHICLES[n % 4]]})
        for n in range(40)
    ] + [
        report_envelope(registry, SON_ROOM, report_type="seizure", description="नाके पर जब्ती",
                        occurred_at="2024-04-11T20:10:00+05:30", details=SEIZURES[n % 2])
        for n in range(4)
    ]  # fmt: skip
    await publish(topics.reports, registry, reports)

    async def linked() -> bool:
        count: int = await pool.fetchval("SELECT count(*) FROM case_reports")
        return count == len(reports)

    await until(linked, within=30)
    ids = [
        str(r["case_id"])
        for r in await pool.fetch("SELECT case_id FROM case_view WHERE report_type <> 'rumour'")
    ]
    sent = 1
    for n, case_id in enumerate(sorted(ids)):
        steps: list[tuple[str, Any, Any]] = [
            ("/assignment", SON_ROOM, {"unit_id": SQUAD.unit_id}),
            ("/notes", SON_ROOM, {"text": f"नोट {n}: चालक से पूछताछ"}),
            ("/acknowledgement", SQUAD, None),
            ("/field-report", SQUAD, {"findings": "ट्रक रोका गया", "action_taken": "जब्त"}),
            ("/seizures", SQUAD, {**SEIZURES[n % 2], "quantity": 100 + n}),
            ("/shares", SON_ROOM, {"state": 10, "reason": "truck from Bihar"}),
            ("/escalation", SON_ROOM, {"reason": "गिरोह का संदेह"}),
            ("/closure", SON_ROOM, {"disposition": "seizure_made", "summary": "जब्ती"}),
        ]
        for path, unit, body in steps[: 3 + n % 6]:
            await do(cases, case_id, path, unit, body)
            sent += 1
    rumour = await pool.fetchval("SELECT case_id FROM case_view WHERE report_type = 'rumour'")
    takedown = {"platform": "x", "url": "https://x.com/afwaah/status/1",
                "legal_basis": "it_act_69a", "nodal_officer": "SP Cyber Crime"}  # fmt: skip
    case = await do(cases, str(rumour), "/takedown-requests", SON_ROOM, takedown)
    outcome = f"/takedown-requests/{case['takedowns'][0]['request_id']}/outcome"
    await do(cases, str(rumour), outcome, SON_ROOM, {"outcome": "refused", "reason": "no"})
    fact_check = {"url": "https://uppolice.gov.in/f/1", "text_en": "False", "text_hi": "झूठ"}
    await do(cases, str(rumour), "/fact-checks", SON_ROOM, fact_check)
    return sent + 3 + len(posted)


async def test_replay_after_hundreds_of_mixed_commands_names_only_the_edited_rows(
    cases: Any,
    schema: str,
    pool: asyncpg.Pool,
    registry: Registry,
    topics: Topics,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sent = await _mixed_history(cases, pool, registry, topics)
    assert sent >= 200
    replay = ("--cases-schema", schema, "--topic-prefix", topics.prefix, "replay", "--service",
              "cases")  # fmt: skip
    code, clean = await audit(capsys, *replay)
    assert (code, clean["differences"]) == (0, [])
    assert clean["cases"] == await pool.fetchval("SELECT count(*) FROM case_view")
    # Every table the replay covers holds rows, so "no difference" means something.
    for table in ("case_timers", "case_identifiers", "watchlist", "seizures", "seizure_items",
                  "thread_heads", "thread_messages"):  # fmt: skip
        assert await pool.fetchval(f"SELECT count(*) FROM {table}") > 0, table
    assert await pool.fetchval("SELECT count(*) FROM thread_messages WHERE cases <> '{}'") == 2
    # Hand edits behind the service's back: each row is named, nothing else.
    edited_case = await pool.fetchval("SELECT case_id FROM case_view ORDER BY case_id LIMIT 1")
    await pool.execute("UPDATE case_view SET status = 'closed' WHERE case_id = $1", edited_case)
    seizure = await pool.fetchrow(
        "SELECT seizure_id, (SELECT min(item_id::text) FROM seizure_items i"
        " WHERE i.seizure_id = s.seizure_id) AS named FROM seizures s ORDER BY 2 LIMIT 1"
    )
    assert seizure is not None
    await pool.execute(
        "UPDATE seizures SET quantity = quantity + 1 WHERE seizure_id = $1", seizure["seizure_id"]
    )
    timer = await pool.fetchval("SELECT case_id FROM case_timers ORDER BY case_id LIMIT 1")
    await pool.execute("DELETE FROM case_timers WHERE case_id = $1", timer)
    message = await pool.fetchval("SELECT message_id FROM thread_messages WHERE version = 2")
    await pool.execute(
        "UPDATE thread_messages SET body = jsonb_set(body, '{text}', '\"edited\"')"
        " WHERE message_id = $1",
        message,
    )
    code, found = await audit(capsys, *replay)
    assert code == 1
    assert sorted(found["differences"]) == sorted(
        [
            f"case_view {edited_case}: live only",
            f"case_view {edited_case}: replay only",
            f"seizures {seizure['named']}: live only",
            f"seizures {seizure['named']}: replay only",
            f"case_timers {timer}: replay only",
            f"thread_messages {message}: live only",
            f"thread_messages {message}: replay only",
        ]
    )
    # Nothing of the replay stays behind.
    left = await pool.fetchval(
        "SELECT count(*) FROM information_schema.schemata WHERE schema_name LIKE 'audit_replay_%'"
    )
    assert left == 0


async def test_notify_replay_matches_what_it_consumed_and_names_edited_rows(
    cases: Any,
    open_case: Any,
    schema: str,
    topics: Topics,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    notify_schema = f"{schema}_n"
    async with notify_rig(topics, notify_schema, tmp_path) as rig:
        # notify takes cases' events from Kafka, as deployed.
        ids = [await open_case() for _ in range(4)]
        for case_id in ids[:3]:
            await do(cases, case_id, "/assignment", SON_ROOM, {"unit_id": SQUAD.unit_id})
        await do(cases, ids[0], "/shares", SON_ROOM, {"state": 10, "reason": "truck from Bihar"})
        # A unit notify's directory does not list: notify records it undeliverable.
        await do(cases, ids[3], "/assignment", SON_ROOM, {"unit_id": "UP-SON-SST-1"})

        async def settled() -> bool:
            rows = await rig.pool.fetch("SELECT status FROM deliveries")
            access = await rig.pool.fetchval("SELECT count(*) FROM case_access")
            lost = await rig.pool.fetchval(
                "SELECT count(*) FROM events WHERE type = 'notification.undeliverable'"
            )
            sent = all(r["status"] == "sent" for r in rows)
            return len(rows) >= 10 and access == 4 and lost == 1 and sent

        await until(settled, within=30)
        replay = ("--notify-schema", notify_schema, "--topic-prefix", topics.prefix, "replay",
                  "--service", "notify")  # fmt: skip
        code, clean = await audit(capsys, *replay)
        assert (code, clean["differences"], clean["cases"]) == (0, [], 4)
        edited = await rig.pool.fetchval(
            "SELECT notification_id FROM deliveries ORDER BY notification_id LIMIT 1"
        )
        await rig.pool.execute(
            "UPDATE deliveries SET status = 'delivered' WHERE notification_id = $1", edited
        )
        await rig.pool.execute(
            "UPDATE case_access SET readers = '{}' WHERE case_id = $1", uuid.UUID(ids[0])
        )
        code, found = await audit(capsys, *replay)
    assert code == 1
    assert found["differences"] == [
        f"deliveries {edited}: live only",
        f"deliveries {edited}: replay only",
        f"case_access {ids[0]}: live only",
        f"case_access {ids[0]}: replay only",
    ]


async def test_cases_signs_checkpoints_on_its_schedule_and_verify_anchors_to_them(
    cases_schema: str,
    pool: asyncpg.Pool,
    store: EventStore,
    registry: Registry,
    topics: Topics,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    trust = tmp_path / "trust.json"
    ensure_key("cases", tmp_path / "cases.pem", trust)
    settings = cases_settings(
        topics,
        cases_schema,
        PRAHARI_CASES_CHECKPOINT_KEY=str(tmp_path / "cases.pem"),
        PRAHARI_CHECKPOINT_INTERVAL_S="0.2",
    )
    handlers = CaseHandlers(store, topics.case_events, SlaPolicy())
    async with TestClient(TestServer(create_cases_app(settings, no_op_tracer()))):
        for _ in range(3):
            async with pool.acquire() as conn, conn.transaction():
                await handlers.report_received(conn, report_envelope(registry))
        streams: int = await pool.fetchval("SELECT count(DISTINCT stream_id) FROM events")

        async def anchored() -> bool:
            docs = [json.loads(v) for v in await read_whole(KAFKA, topics.checkpoints("cases"))]
            heads: int = sum(len(d["heads"]) for d in docs)
            return heads >= streams

        await until(anchored, within=20)
        [first, *_] = await read_topic(topics.checkpoints("cases"), at_least=1)
        ce = {k: v.decode() for k, v in first.headers}
        assert (ce["ce_type"], ce["ce_source"]) == ("checkpoint.signed", "/prahari/cases")
    code, found = await audit(capsys, "--cases-schema", cases_schema, "--topic-prefix",
                              topics.prefix, "--trust", str(trust), "verify", "--schema",
                              cases_schema)  # fmt: skip
    assert code == 0, found
    (checked,) = found["schemas"]
    assert checked["checkpoints"] >= 1
    assert checked["broken"] == []

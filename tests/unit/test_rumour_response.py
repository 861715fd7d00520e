"""A rumour case's response (issue 14): takedown requests and their outcomes, fact-checks,
action against the source; each with a deadline that breaches and escalates like any
other. Pure: the clock is the History's, so a 36-hour deadline takes no time."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import timedelta

import pytest

from prahari_cases.domain import commands as cmd
from prahari_cases.domain import events as ev
from prahari_cases.domain import sla
from prahari_cases.domain.case import Case, Level, decide, replay
from prahari_cases.domain.timeline import Narrator
from prahari_events import lgd
from prahari_events.errors import InvalidTransition, Unprocessable
from prahari_events.registry import Registry
from tests.unit.test_case_lifecycle import ACK, ASSIGN, CLOSE, NOW, OPEN, History

RUMOUR = dataclasses.replace(OPEN, report_type="rumour", description="बच्चा चोर गिरोह की अफवाह")
URL = "https://x.com/someone/status/1780000000000000000"
R1 = uuid.UUID("aaaaaaaa-0000-4000-8000-000000000001")
R2 = uuid.UUID("aaaaaaaa-0000-4000-8000-000000000002")


def takedown(request_id: uuid.UUID = R1, hours: float | None = None) -> cmd.RequestTakedown:
    due = NOW + timedelta(hours=hours) if hours is not None else None
    return cmd.RequestTakedown(request_id, "x", URL, "it_act_69a", "SP Cyber, Lucknow", due)


def confirm(request_id: uuid.UUID = R1) -> cmd.RecordTakedownOutcome:
    return cmd.RecordTakedownOutcome(request_id, True, "X-TKD-991")


def refuse(request_id: uuid.UUID = R1) -> cmd.RecordTakedownOutcome:
    return cmd.RecordTakedownOutcome(request_id, False, None, "not against our rules")


FACT_CHECK = cmd.PublishFactCheck(
    uuid.uuid4(),
    "https://uppolice.gov.in/factcheck/17",
    "No child-lifting gang: the video is from 2019, elsewhere.",
    "कोई बच्चा चोर गिरोह नहीं: वीडियो 2019 का है, कहीं और का।",
)
SOURCE = cmd.RecordSourceAction(uuid.uuid4(), "0142/2024", ("BNS 353", "IT Act 66"), "Robertsganj")


def rumour(registry: Registry, *commands: cmd.Command) -> History:
    return History(registry).do(RUMOUR, *commands)


def test_a_rumour_opens_with_fact_check_and_source_action_clocks(registry: Registry) -> None:
    case = rumour(registry).now
    opened = case.opened_at
    assert case.deadline(sla.FACT_CHECK) == opened + timedelta(hours=6)
    assert case.deadline(sla.SOURCE_ACTION) == opened + timedelta(hours=72)
    assert case.deadline(sla.TAKEDOWN) is None  # until a takedown is requested
    tip = History(registry).do(OPEN).now
    assert tip.deadline(sla.FACT_CHECK) is None
    assert tip.deadline(sla.SOURCE_ACTION) is None


@pytest.mark.parametrize(
    ("commands", "due_after_now"),
    [
        # The SLA's default, from the request (the History's clock: one minute a command).
        ([takedown()], timedelta(hours=36, minutes=2)),
        ([takedown(hours=12)], timedelta(hours=12)),  # the request's own deadline
        ([takedown(R1, 12), takedown(R2, 24)], timedelta(hours=12)),  # the earliest waiting
        ([takedown(R1, 24), takedown(R2, 12)], timedelta(hours=12)),
        ([takedown(R1, 12), takedown(R2, 24), confirm(R1)], timedelta(hours=12)),  # R2 waits
        ([takedown(R1, 12), takedown(R2, 24), confirm(R1), refuse(R2)], None),  # all answered
        ([takedown(R1, 12), refuse(R1)], None),
    ],
)
def test_the_takedown_clock_runs_while_a_request_waits(
    registry: Registry, commands: list[cmd.Command], due_after_now: timedelta | None
) -> None:
    case = rumour(registry, *commands).now
    due = case.deadline(sla.TAKEDOWN)
    assert (due - NOW if due else None) == due_after_now


def test_outcomes_are_recorded_with_the_platforms_reference(registry: Registry) -> None:
    history = rumour(registry, takedown(R1, 12), takedown(R2, 12), confirm(R1), refuse(R2))
    first, second = history.now.takedowns
    assert (first.outcome, first.platform_reference) == ("confirmed", "X-TKD-991")
    assert (second.outcome, second.reason) == ("refused", "not against our rules")
    assert [e.type for e in history.events[-2:]] == [
        "case.takedown_confirmed",
        "case.takedown_refused",
    ]


@pytest.mark.parametrize(
    ("setup", "command", "error", "named"),
    [
        ([], confirm(), Unprocessable, "request_id"),  # no such request
        ([takedown(), confirm()], refuse(), InvalidTransition, "status"),  # answered already
        ([], takedown(hours=-1), Unprocessable, "deadline"),  # a deadline already past
    ],
)
def test_a_wrong_response_is_refused_by_name(
    registry: Registry,
    setup: list[cmd.Command],
    command: cmd.Command,
    error: type[Exception],
    named: str,
) -> None:
    history = rumour(registry, *setup)
    before = len(history.events)
    with pytest.raises(error) as refused:
        history.do(command)
    assert named in refused.value.fields  # type: ignore[attr-defined]
    assert len(history.events) == before


@pytest.mark.parametrize("command", [takedown(), confirm(), FACT_CHECK, SOURCE])
def test_only_a_rumour_case_has_a_response(registry: Registry, command: cmd.Command) -> None:
    history = History(registry).do(OPEN)
    with pytest.raises(InvalidTransition, match="smuggling_tip case has no rumour response"):
        history.do(command)


def test_a_repeated_request_id_adds_nothing(registry: Registry) -> None:
    history = rumour(registry, takedown(R1, 12))
    assert history.case is not None
    assert cmd_events(history, takedown(R1, 12)) == []


def cmd_events(history: History, command: cmd.Command) -> list[ev.CaseEvent]:
    return decide(history.case, command, history.clock)


@pytest.mark.parametrize(
    ("command", "stage"),
    [(FACT_CHECK, sla.FACT_CHECK), (SOURCE, sla.SOURCE_ACTION)],
)
def test_a_fact_check_or_a_source_action_stops_its_clock(
    registry: Registry, command: cmd.Command, stage: str
) -> None:
    history = rumour(registry, ASSIGN, ACK, command)
    assert history.now.deadline(stage) is None
    kept = history.now.fact_checks if stage == sla.FACT_CHECK else history.now.source_actions
    assert [r.event.payload()["case_id"] for r in kept] == [str(history.now.case_id)]


def test_a_missed_takedown_deadline_breaches_and_escalates_once(registry: Registry) -> None:
    history = rumour(registry, takedown(R1, 12))
    due = history.now.deadline(sla.TAKEDOWN)
    assert due is not None
    history.clock = due
    history.do(cmd.FireTimer(sla.TAKEDOWN, due))
    assert [e.type for e in history.events[-2:]] == ["case.sla_breached", "case.escalated"]
    case = history.now
    assert case.level is Level.STATE
    assert sla.TAKEDOWN in case.overdue
    # The state level gets its own deadline; missing that too breaches, without a second
    # escalation (there is no level above a state's).
    again = case.deadline(sla.TAKEDOWN)
    assert again is not None
    history.clock = again
    history.do(cmd.FireTimer(sla.TAKEDOWN, again))
    types = [e.type for e in history.events]
    assert types.count("case.escalated") == 1
    assert types.count("case.sla_breached") == 2
    # The answer ends it: no clock, nothing overdue.
    history.do(confirm())
    assert history.now.deadline(sla.TAKEDOWN) is None
    assert sla.TAKEDOWN not in history.now.overdue


def test_a_timer_for_an_answered_request_does_nothing(registry: Registry) -> None:
    history = rumour(registry, takedown(R1, 12))
    due = history.now.deadline(sla.TAKEDOWN)
    assert due is not None
    history.do(confirm())
    assert cmd_events(history, cmd.FireTimer(sla.TAKEDOWN, due)) == []


def test_closing_stops_every_response_clock(registry: Registry) -> None:
    case = rumour(registry, takedown(R1, 12), CLOSE).now
    assert case.deadlines == ()


def test_every_response_event_round_trips_through_its_contract(registry: Registry) -> None:
    history = rumour(
        registry, takedown(R1, 12), takedown(R2), confirm(R1), refuse(R2), FACT_CHECK, SOURCE
    )
    assert {e.type for e in history.events} >= ev.RESPONSE_EVENT_TYPES
    for envelope in history.events:
        assert ev.parse(envelope.type, envelope.payload).payload() == dict(envelope.payload)
    case = history.now
    assert Case.from_json(case.to_json()) == case
    assert replay(history.events) == case
    body = case.to_json()
    assert body["fact_checks"][0]["text_hi"].startswith("कोई बच्चा")
    assert body["source_actions"][0]["sections"] == ["BNS 353", "IT Act 66"]


def test_each_response_step_reads_as_a_line_of_the_timeline(registry: Registry) -> None:
    history = rumour(registry, takedown(R1, 12), refuse(R1), FACT_CHECK, SOURCE)
    narrator = Narrator(lgd.load(), lambda _state, _unit: None)
    lines = [narrator.line(e)["what"] for e in history.events[-4:]]
    assert lines[0].startswith(f"asked x to take down {URL} (IT Act s.69A, through SP Cyber")
    assert lines[1] == "recorded that the platform refused the takedown: not against our rules"
    assert lines[2].startswith("published a fact-check at https://uppolice.gov.in/factcheck/17")
    assert (
        lines[3]
        == "acted against the source: FIR 0142/2024 at PS Robertsganj under BNS 353, IT Act 66"
    )

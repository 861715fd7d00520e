"""The case aggregate, table-driven: every command from every status, allowed or refused;
what each allowed command leaves behind; and a case that survives its own JSON."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from prahari_cases.domain import commands as cmd
from prahari_cases.domain import events as ev
from prahari_cases.domain.case import Case, Level, Status, case_id_for, decide, evolve, replay
from prahari_cases.domain.identifiers import Identifier
from prahari_cases.domain.sla import Durations
from prahari_events.auth import Unit
from prahari_events.envelope import Actor, Draft, Envelope, Jurisdiction
from prahari_events.errors import InvalidInput, InvalidTransition
from prahari_events.policy import Area, UnitRef
from prahari_events.registry import Registry
from tests.factories import BIHAR, SONBHADRA, STATION, UP

NOW = datetime(2024, 4, 11, 18, 0, tzinfo=UTC)
KAIMUR = 200
REPORT_ID = uuid.UUID("11111111-2222-4333-8444-555555555555")
CASE_ID = case_id_for(REPORT_ID)
ROOM = Unit("UP-SON-DCR", "district_control_room", "control_room", UP, SONBHADRA)
SQUAD = ev.Assignee(UnitRef(UP, "UP-SON-FS-1"), "flying_squad", "Flying Squad 1, Sonbhadra")
OPEN = cmd.OpenCase(
    case_id=CASE_ID,
    report_id=REPORT_ID,
    report_type="smuggling_tip",
    description="बिहार सीमा पर अवैध शराब से भरा ट्रक",
    place=Area(UP, SONBHADRA),
    reported_by=ev.Reporter(**STATION.actor().to_json()),
    reported_at=NOW,
    sla=Durations(),
)


class History:
    """Decides commands one after another and folds what they cause, through the real
    registry, so every typed payload is also checked against its catalogue contract."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.events: list[Envelope] = []
        self.case: Case | None = None
        self.clock = NOW

    def do(self, *commands: cmd.Command, actor: Unit = ROOM) -> History:
        for command in commands:
            self.clock += timedelta(minutes=1)
            for event in decide(self.case, command, self.clock):
                self.record(event, actor.actor())
        return self

    def record(self, event: ev.CaseEvent, actor: Actor) -> None:
        envelope = self.registry.stamp(
            _draft(event, actor),
            stream_id=f"case-{CASE_ID}",
            stream_version=len(self.events) + 1,
            recorded_at=self.clock,
            trace={},
        )
        self.events.append(envelope)
        self.case = evolve(self.case, envelope)

    @property
    def now(self) -> Case:
        assert self.case is not None
        return self.case


def _draft(event: ev.CaseEvent, actor: Actor) -> Draft:
    return Draft(
        type=event.TYPE,
        payload=event.payload(),
        actor=actor,
        jurisdiction=Jurisdiction(UP, SONBHADRA),
        correlation_id=REPORT_ID,
    )


LINKED = ev.LinkedReport(
    uuid.uuid4(),
    "rumour",
    "वही अफवाह",
    Area(UP, SONBHADRA),
    ev.Reporter(**STATION.actor().to_json()),
    NOW,
    5000,
)
ASSIGN = cmd.Assign(SQUAD, "नाका लगाएँ")
ACK = cmd.Acknowledge()
REPORT = cmd.FileFieldReport("ट्रक रोका गया", "1200 litres seized")
CLOSE = cmd.Close("seizure_made", "Seized and FIR registered")
SHARE = cmd.Share(Area(BIHAR, None), "truck registered in Bihar")
TRANSFER = cmd.RequestTransfer(Area(BIHAR, KAIMUR), "the crossing is in Kaimur")

# The path to each status, from a freshly opened case.
PATHS: dict[Status, Sequence[cmd.Command]] = {
    Status.OPEN: [],
    Status.ASSIGNED: [ASSIGN],
    Status.ACKNOWLEDGED: [ASSIGN, ACK],
    Status.REPORTED: [ASSIGN, ACK, REPORT],
    Status.CLOSED: [CLOSE],
}
ACTIVE = {Status.OPEN, Status.ASSIGNED, Status.ACKNOWLEDGED, Status.REPORTED}
ALL = set(Status)

# command, what it needs set up first (beyond the status), the statuses it is allowed from,
# the event it causes, and the status it leaves (None: unchanged).
TABLE: list[tuple[str, cmd.Command, Sequence[cmd.Command], set[Status], str, Status | None]] = [
    ("assign", ASSIGN, [], ACTIVE, "case.assigned", Status.ASSIGNED),
    ("acknowledge", ACK, [], {Status.ASSIGNED}, "case.acknowledged", Status.ACKNOWLEDGED),
    (
        "add_note",
        cmd.AddNote(uuid.uuid4(), "टोल प्लाज़ा पर दिखा"),
        [],
        ALL,
        "case.note_added",
        None,
    ),
    (
        "file_field_report",
        REPORT,
        [],
        {Status.ACKNOWLEDGED, Status.REPORTED},
        "case.field_report_filed",
        Status.REPORTED,
    ),
    (
        "record_seizure",
        cmd.RecordSeizure(uuid.uuid4(), "liquor", 1200, "litres", 480000, "excise"),
        [],
        ACTIVE,
        "case.seizure_recorded",
        None,
    ),
    ("escalate", cmd.Escalate("gang suspected"), [], ACTIVE, "case.escalated", None),
    ("share", SHARE, [], ACTIVE, "case.shared", None),
    ("revoke_share", cmd.RevokeShare(BIHAR), [SHARE], ALL, "case.share_revoked", None),
    ("request_transfer", TRANSFER, [], ACTIVE, "case.transfer_requested", None),
    (
        "withdraw_transfer",
        cmd.WithdrawTransfer(None),
        [TRANSFER],
        ACTIVE,
        "case.transfer_withdrawn",
        None,
    ),
    (
        "refuse_transfer",
        cmd.RefuseTransfer("not ours"),
        [TRANSFER],
        ACTIVE,
        "case.transfer_refused",
        None,
    ),
    ("close", CLOSE, [], ACTIVE, "case.closed", Status.CLOSED),
    ("reopen", cmd.Reopen("court asked"), [], {Status.CLOSED}, "case.reopened", Status.OPEN),
]


def _case_in(registry: Registry, status: Status, setup: Sequence[cmd.Command]) -> History:
    history = History(registry).do(OPEN)
    if status is Status.CLOSED:
        # Set-up comes before the closing; a pending transfer would stop the closing, and
        # nothing about transfers is allowed from closed anyway.
        history.do(*[c for c in setup if not isinstance(c, cmd.RequestTransfer)], CLOSE)
    else:
        history.do(*PATHS[status], *setup)
    assert history.now.status is status
    return history


CASES = [
    pytest.param(name, command, setup, allowed, event, after, status, id=f"{name}-from-{status}")
    for name, command, setup, allowed, event, after in TABLE
    for status in Status
]


@pytest.mark.parametrize(("name", "command", "setup", "allowed", "event", "after", "status"), CASES)
def test_every_command_from_every_status(
    registry: Registry,
    name: str,
    command: cmd.Command,
    setup: Sequence[cmd.Command],
    allowed: set[Status],
    event: str,
    after: Status | None,
    status: Status,
) -> None:
    history = _case_in(registry, status, setup)
    before = history.now
    if status in allowed:
        history.do(command)
        assert history.events[-1].type == event
        case = history.now
        assert case.version == before.version + 1
        assert case.status is (after or before.status)
    else:
        with pytest.raises(InvalidTransition) as refused:
            decide(before, command, NOW)
        assert refused.value.fields["status"] == status.value
        assert name not in refused.value.fields["allowed_now"]
        assert status.value not in refused.value.fields["allowed_from"]
        assert refused.value.fields["allowed_now"]  # a case always allows something


def test_the_refusal_names_the_status_and_what_is_allowed(registry: Registry) -> None:
    case = _case_in(registry, Status.CLOSED, []).now
    with pytest.raises(InvalidTransition) as refused:
        decide(case, ASSIGN, NOW)
    assert "closed" in refused.value.message
    assert refused.value.fields["allowed_now"] == [
        "add_note",
        "revoke_share",
        "reopen",
        "unlink_report",
    ]


def test_accepting_a_transfer_moves_ownership_and_ends_the_assignment(registry: Registry) -> None:
    history = _case_in(registry, Status.ACKNOWLEDGED, []).do(cmd.Escalate("gang"), TRANSFER)
    history.do(cmd.AcceptTransfer())
    case = history.now
    assert history.events[-1].type == "case.transferred"
    assert case.place == Area(BIHAR, KAIMUR)
    assert case.former_owners == (Area(UP, SONBHADRA),)
    assert case.status is Status.OPEN
    assert case.assignee is None
    assert case.level is Level.DISTRICT
    assert case.transfer is None


def test_a_field_report_stays_with_a_transferred_case(registry: Registry) -> None:
    history = _case_in(registry, Status.REPORTED, []).do(TRANSFER, cmd.AcceptTransfer())
    assert history.now.status is Status.REPORTED
    assert history.now.field_report is not None


@pytest.mark.parametrize(
    ("setup", "command", "error"),
    [
        ([cmd.Escalate("once")], cmd.Escalate("twice"), InvalidTransition),
        ([], cmd.Share(Area(UP, SONBHADRA), "own"), InvalidInput),
        ([], cmd.RevokeShare(BIHAR), InvalidTransition),
        ([TRANSFER], TRANSFER, InvalidTransition),
        ([], cmd.RequestTransfer(Area(UP, SONBHADRA), "here"), InvalidInput),
        ([], cmd.AcceptTransfer(), InvalidTransition),
        ([TRANSFER], CLOSE, InvalidTransition),
        ([], cmd.Close("duplicate", "same", CASE_ID), InvalidInput),
        (
            [],
            cmd.Assign(ev.Assignee(UnitRef(BIHAR, "BR-KAI-FS-1"), "flying_squad", "FS"), None),
            InvalidInput,
        ),
    ],
    ids=[
        "escalate-twice",
        "share-with-owner",
        "revoke-unshared",
        "second-transfer",
        "transfer-to-owner",
        "accept-nothing",
        "close-with-transfer-pending",
        "duplicate-of-itself",
        "assign-other-state",
    ],
)
def test_refusals_beyond_status(
    registry: Registry, setup: list[cmd.Command], command: cmd.Command, error: type[Exception]
) -> None:
    case = History(registry).do(OPEN, *setup).now
    with pytest.raises(error):
        decide(case, command, NOW)


def test_sharing_again_with_a_state_replaces_the_share(registry: Registry) -> None:
    history = History(registry).do(OPEN, SHARE)
    history.do(cmd.Share(Area(BIHAR, KAIMUR), "only Kaimur"))
    assert [s.partner for s in history.now.shares] == [Area(BIHAR, KAIMUR)]
    before = history.now.version
    history.do(cmd.Share(Area(BIHAR, KAIMUR), "again"))  # the same share: nothing new
    assert history.now.version == before


def test_opening_twice_decides_nothing(registry: Registry) -> None:
    history = History(registry).do(OPEN)
    assert decide(history.now, OPEN, NOW) == []


def test_the_deadlines_come_from_the_case_s_durations() -> None:
    opened = decide(None, OPEN, NOW)[0]
    assert isinstance(opened, ev.CaseOpened)
    assert opened.assign_by == NOW + timedelta(minutes=5)
    assert opened.decide_by == NOW + timedelta(minutes=100)
    quick = Durations(assign=1, acknowledge=2, field_report=3, close=4)
    fast = decide(None, dataclasses.replace(OPEN, sla=quick), NOW)[0]
    assert isinstance(fast, ev.CaseOpened)
    assert (fast.assign_by, fast.sla) == (NOW + timedelta(seconds=1), quick)
    # A smuggling tip expected to cross sooner must be assigned before it crosses.
    crossing = NOW + timedelta(minutes=2)
    tip = decide(None, dataclasses.replace(OPEN, expected_at=crossing), NOW)[0]
    assert isinstance(tip, ev.CaseOpened)
    assert tip.assign_by == crossing


def test_a_long_history_survives_its_own_json_and_a_replay(registry: Registry) -> None:
    history = History(registry).do(
        OPEN,
        ASSIGN,
        ACK,
        cmd.AddNote(uuid.uuid4(), "ट्रक मिला", (ev.Attachment("a" * 64, "image/jpeg", 1024),)),
        cmd.RecordSeizure(uuid.uuid4(), "cash", 250000.0, "inr", 250000, "state_police", "12/24"),
        REPORT,
        cmd.Escalate("big haul"),
        SHARE,
        TRANSFER,
    )
    case = history.now
    assert Case.from_json(case.to_json()) == case
    assert replay(history.events) == case
    assert [e.stream_version for e in history.events] == list(range(1, len(history.events) + 1))
    assert case.version == len(history.events)


def test_every_event_type_has_a_typed_payload_that_round_trips(registry: Registry) -> None:
    history = History(registry).do(
        OPEN, ASSIGN, ACK, REPORT, SHARE, cmd.RevokeShare(BIHAR), TRANSFER,
        cmd.WithdrawTransfer("phone call"), TRANSFER, cmd.RefuseTransfer("no"), TRANSFER,
        cmd.AcceptTransfer(), CLOSE, cmd.Reopen("again"), cmd.Escalate("x"),
        cmd.AddNote(uuid.uuid4(), "n"),
        cmd.RecordSeizure(uuid.uuid4(), "drugs", 2.5, "kg", 100000, "ncb"),
        cmd.AttachReport(LINKED, Identifier("url", "https://x.com/a/status/1")),
        cmd.UnlinkReport(LINKED.report_id, "another rumour"),
        cmd.HitWatchlist(uuid.uuid4(), UnitRef(UP, "UP-SCR"), Identifier("phone", "+919876543210")),
        cmd.LinkCase(uuid.uuid4(), BIHAR, Identifier("vehicle", "BR01AB1234")),
    )  # fmt: skip
    history.do(cmd.FireTimer("assign", history.now.deadlines[0][1]))
    seen = {e.type for e in history.events}
    # A rumour's response has its own round trip (test_rumour_response.py).
    assert seen == ev.CASE_EVENT_TYPES - ev.RESPONSE_EVENT_TYPES
    for envelope in history.events:
        typed = ev.parse(envelope.type, envelope.payload)
        assert typed.payload() == dict(envelope.payload)


# --- SLA clocks: which events start and stop which stage's clock, and what a missed one does.

S = timedelta(seconds=1)


def _clocks(case: Case) -> dict[str, timedelta]:
    """Each running deadline, as its distance from the last event."""
    return {stage: due - case.updated_at for stage, due in case.deadlines}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ([], {"assign": 300 * S, "close": 6000 * S}),
        ([ASSIGN], {"acknowledge": 900 * S, "close": 5940 * S}),
        ([ASSIGN, ASSIGN], {"acknowledge": 900 * S, "close": 5880 * S}),  # restarts
        ([ASSIGN, ACK], {"field_report": 1800 * S, "close": 5880 * S}),
        ([ASSIGN, ACK, REPORT], {"close": 5820 * S}),
        ([ASSIGN, TRANSFER, cmd.AcceptTransfer()], {"assign": 300 * S, "close": 5820 * S}),
        ([CLOSE], {}),
        ([CLOSE, cmd.Reopen("again")], {"assign": 300 * S, "close": 6000 * S}),
    ],
    ids=["opened", "assigned", "re-assigned", "acknowledged", "reported", "transferred",
         "closed", "reopened"],
)  # fmt: skip
def test_which_clocks_run(
    registry: Registry, path: list[cmd.Command], expected: dict[str, timedelta]
) -> None:
    case = History(registry).do(OPEN, *path).now
    assert _clocks(case) == expected


def test_a_missed_deadline_escalates_once_and_sets_the_next(registry: Registry) -> None:
    history = History(registry).do(OPEN)
    due = history.now.deadline("assign")
    assert due is not None
    history.do(cmd.FireTimer("assign", due))
    assert [e.type for e in history.events[-2:]] == ["case.sla_breached", "case.escalated"]
    case = history.now
    assert case.level is Level.STATE
    assert case.overdue == {"assign"}
    assert _clocks(case)["assign"] == 300 * S  # a new deadline, at the state level
    # The same timer again, or one the clock has moved past, decides nothing.
    assert decide(case, cmd.FireTimer("assign", due), NOW) == []
    # At the state level a miss is recorded and the clock stops: no level above.
    history.do(cmd.FireTimer("assign", case.deadline("assign")))  # type: ignore[arg-type]
    assert history.events[-1].type == "case.sla_breached"
    assert history.events[-1].payload["level"] == "state"
    assert "assign" not in _clocks(history.now)
    # The assignment ends the overdue stage.
    history.do(ASSIGN)
    assert history.now.overdue == frozenset()


def test_a_closed_case_misses_nothing(registry: Registry) -> None:
    history = History(registry).do(OPEN)
    due = history.now.deadline("close")
    assert due is not None
    history.do(CLOSE)
    assert decide(history.now, cmd.FireTimer("close", due), NOW) == []

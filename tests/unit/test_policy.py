"""The one access policy, table-driven: who reads and who does what with a case, and that
the keys the SQL filter uses say exactly what the in-memory check says."""

from __future__ import annotations

import json
import logging
import sys
import unicodedata

import pytest
from marshmallow import Schema, fields

from prahari_cases.domain import search
from prahari_cases.domain.timeline import rupees
from prahari_events.auth import Unit
from prahari_events.errors import InvalidInput
from prahari_events.policy import (
    Action,
    Area,
    CaseAccess,
    UnitRef,
    may,
    may_read,
    read_keys,
    unit_keys,
)
from prahari_events.privacy import scrub
from prahari_events.telemetry import JsonLogFormatter
from prahari_events.web import load_input

UP, SON, CHA, BR, KAI, PAT, JH = 9, 184, 135, 10, 200, 204, 20

UP_ROOM = Unit("UP-SCR", "state_control_room", "control_room", UP, None)
SON_ROOM = Unit("UP-SON-DCR", "district_control_room", "control_room", UP, SON)
CHA_ROOM = Unit("UP-CHA-DCR", "district_control_room", "control_room", UP, CHA)
SON_SQUAD = Unit("UP-SON-FS-1", "flying_squad", "reporter", UP, SON)
SON_STATION = Unit("UP-SON-PS-ROBERTSGANJ", "police_station", "reporter", UP, SON)
OTHER_STATION = Unit("UP-SON-PS-OBRA", "police_station", "reporter", UP, SON)
BR_ROOM = Unit("BR-SCR", "state_control_room", "control_room", BR, None)
KAI_ROOM = Unit("BR-KAI-DCR", "district_control_room", "control_room", BR, KAI)
PAT_ROOM = Unit("BR-PAT-DCR", "district_control_room", "control_room", BR, PAT)
BR_STATION = Unit("BR-KAI-CP-KARMNASA", "check_post", "reporter", BR, KAI)
# Same unit id as UP's squad, another state: must never be mistaken for it.
BR_SAME_ID = Unit("UP-SON-FS-1", "flying_squad", "reporter", BR, KAI)
JH_ROOM = Unit("JH-SCR", "state_control_room", "control_room", JH, None)
AUDITOR = Unit("ECI-AUDIT-1", "audit_office", "auditor", None, None)

BASE = CaseAccess(
    owner=Area(UP, SON),
    reported_by=UnitRef(UP, SON_STATION.unit_id),
    assignee=UnitRef(UP, SON_SQUAD.unit_id),
)
SHARED_STATE = CaseAccess(
    owner=BASE.owner, reported_by=BASE.reported_by, assignee=BASE.assignee, shares=(Area(BR),)
)
SHARED_KAIMUR = CaseAccess(
    owner=BASE.owner, reported_by=BASE.reported_by, assignee=BASE.assignee, shares=(Area(BR, KAI),)
)
TRANSFERRED = CaseAccess(
    owner=Area(BR, KAI), reported_by=BASE.reported_by, former_owners=(Area(UP, SON),)
)
OFFERED = CaseAccess(owner=BASE.owner, reported_by=BASE.reported_by, transfer_to=Area(BR, KAI))

READS = [
    (BASE, {UP_ROOM, SON_ROOM, SON_SQUAD, SON_STATION, AUDITOR}),
    (
        SHARED_STATE,
        {UP_ROOM, SON_ROOM, SON_SQUAD, SON_STATION, AUDITOR, BR_ROOM, KAI_ROOM, PAT_ROOM},
    ),
    (SHARED_KAIMUR, {UP_ROOM, SON_ROOM, SON_SQUAD, SON_STATION, AUDITOR, BR_ROOM, KAI_ROOM}),
    (TRANSFERRED, {UP_ROOM, SON_ROOM, SON_STATION, AUDITOR, BR_ROOM, KAI_ROOM}),
    (OFFERED, {UP_ROOM, SON_ROOM, SON_STATION, AUDITOR, BR_ROOM, KAI_ROOM}),
]
EVERYONE = [
    UP_ROOM, SON_ROOM, CHA_ROOM, SON_SQUAD, SON_STATION, OTHER_STATION, BR_ROOM, KAI_ROOM,
    PAT_ROOM, BR_STATION, BR_SAME_ID, JH_ROOM, AUDITOR,
]  # fmt: skip


@pytest.mark.parametrize(("access", "readers"), READS, ids=lambda v: "")
def test_who_reads_a_case(access: CaseAccess, readers: set[Unit]) -> None:
    for unit in EVERYONE:
        assert may_read(unit, access) == (unit in readers), unit.unit_id


@pytest.mark.parametrize(("access", "readers"), READS, ids=lambda v: "")
def test_the_sql_keys_say_what_the_check_says(access: CaseAccess, readers: set[Unit]) -> None:
    for unit in EVERYONE:
        if unit.role == "auditor":
            continue  # the SQL filter is skipped for auditors
        overlap = bool(set(unit_keys(unit)) & set(read_keys(access)))
        assert overlap == may_read(unit, access), unit.unit_id


WRITES = [
    (Action.ASSIGN, BASE, {UP_ROOM, SON_ROOM}),
    (Action.ACKNOWLEDGE, BASE, {SON_SQUAD}),
    (Action.FILE_FIELD_REPORT, BASE, {SON_SQUAD}),
    (Action.ADD_NOTE, BASE, {UP_ROOM, SON_ROOM, SON_SQUAD}),
    (Action.ADD_NOTE, SHARED_KAIMUR, {UP_ROOM, SON_ROOM, SON_SQUAD, BR_ROOM, KAI_ROOM}),
    (
        Action.RECORD_SEIZURE,
        SHARED_STATE,
        {UP_ROOM, SON_ROOM, SON_SQUAD, BR_ROOM, KAI_ROOM, PAT_ROOM},
    ),
    (Action.SHARE, SHARED_STATE, {UP_ROOM, SON_ROOM}),
    (Action.CLOSE, SHARED_STATE, {UP_ROOM, SON_ROOM}),
    (Action.CLOSE, TRANSFERRED, {BR_ROOM, KAI_ROOM}),
    (Action.ADD_NOTE, TRANSFERRED, {BR_ROOM, KAI_ROOM}),
    (Action.ANSWER_TRANSFER, OFFERED, {BR_ROOM, KAI_ROOM}),
    (Action.ESCALATE, BASE, {UP_ROOM, SON_ROOM}),
]


@pytest.mark.parametrize(("action", "access", "doers"), WRITES, ids=lambda v: str(v)[:20])
def test_who_does_what(action: Action, access: CaseAccess, doers: set[Unit]) -> None:
    for unit in EVERYONE:
        assert may(unit, action, access) == (unit in doers), unit.unit_id


def test_an_auditor_reads_everything_and_changes_nothing() -> None:
    for access, _ in READS:
        assert may_read(AUDITOR, access)
        assert not any(may(AUDITOR, a, access) for a in Action if a is not Action.READ)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("अवैध शराब की तस्करी, ट्रक पकड़ा", ["अवैध", "शराब", "की", "तस्करी", "ट्रक", "पकड़ा"]),
        ("Truck with LIQUOR; BR01-AB-1234", ["truck", "with", "liquor", "br01", "ab", "1234"]),
        ("क्\u200dष", ["क्ष"]),  # a zero-width joiner does not split a conjunct
        ("", []),
    ],
)
def test_search_words_keep_conjuncts_whole(text: str, expected: list[str]) -> None:
    assert search.words(text) == [unicodedata.normalize("NFC", w) for w in expected]


@pytest.mark.parametrize(
    ("amount", "text"),
    [(0, "Rs 0"), (999, "Rs 999"), (480000, "Rs 4,80,000"), (12500000, "Rs 1,25,00,000")],
)
def test_rupees_in_indian_grouping(amount: int, text: str) -> None:
    assert rupees(amount) == text


def test_a_nul_character_is_refused_by_name_anywhere_in_the_input() -> None:
    class Body(Schema):
        text = fields.String()
        items = fields.List(fields.Dict())

    with pytest.raises(InvalidInput) as refused:
        load_input(Body(), {"text": "ok\x00", "items": [{"a": "fine"}, {"b": "x\x00y"}]})
    assert set(refused.value.fields) == {"text", "items.1.b"}


@pytest.mark.parametrize(
    ("text", "refused"),
    [
        ("बिहार सीमा पर ट्रक\nदो लोग\tसवार\r\n", False),  # Hindi, newlines and tabs are text
        ("escape \x1b[31m red", True),
        ("bell \x07", True),
        ("delete \x7f", True),
        ("C1 \x9b control", True),
        ("vertical \x0b tab", True),
    ],
)
def test_control_characters_are_refused_by_name(text: str, refused: bool) -> None:
    class Body(Schema):
        description = fields.String()

    if not refused:
        assert load_input(Body(), {"description": text}) == {"description": text}
        return
    with pytest.raises(InvalidInput) as caught:
        load_input(Body(), {"description": text})
    assert list(caught.value.fields) == ["description"]


def test_a_dead_letters_reason_keeps_no_number_or_address() -> None:
    reason = 'DataError: invalid value "+91 92000 00135" for unit dcr@up.example'
    assert scrub(reason) == 'DataError: invalid value "[number]" for unit [email]'


def test_logs_keep_no_number_or_address() -> None:
    formatter = JsonLogFormatter("intake")
    try:
        raise ValueError("sender +919200000135 unknown")
    except ValueError:
        record = logging.LogRecord(
            "prahari.test", logging.ERROR, __file__, 1, "from %s", ("dcr@up.example",),
            sys.exc_info(),
        )  # fmt: skip
    record.fields = {"to": "+91 92000 00135", "case_id": "12345678-1234-1234-1234-987654321012"}
    line = json.loads(formatter.format(record))
    assert line["msg"] == "from [email]"
    assert line["to"] == "[number]"
    assert line["case_id"] == "12345678-1234-1234-1234-987654321012"  # ids stay
    assert "9200000135" not in line["exc"]

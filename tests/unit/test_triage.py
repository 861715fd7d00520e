"""Triage's pure parts, table-driven: identifiers normalised so two spellings of one thing
are equal, and the decision to attach a report or open a linked case."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from prahari_cases.domain import identifiers as ids
from prahari_cases.domain import watchlist as wl
from prahari_cases.domain.identifiers import Identifier
from prahari_cases.domain.sla import Durations, SlaPolicy
from prahari_cases.domain.tallies import SeizureItem, ist_day
from prahari_cases.domain.triage import Attach, Candidate, Open, triage
from prahari_events.catalogue import build_registry
from prahari_events.errors import InvalidInput

NOW = datetime(2024, 4, 11, 18, 0, tzinfo=UTC)
WINDOW = timedelta(hours=72)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("BR 01 AB 1234", "BR01AB1234"),
        ("br01-ab-1234", "BR01AB1234"),
        ("UP.64.AB.1234", "UP64AB1234"),
        ("DL3CAB1234", "DL3CAB1234"),
        ("XX01AB1234", None),  # no such state
        ("BR01AB12345", None),
        ("", None),
    ],
)
def test_vehicles(raw: str, expected: str | None) -> None:
    assert ids.vehicle(raw) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ट्रकBR01AB1234से शराब", ["BR01AB1234"]),  # Hindi right against the number
        ("गाड़ी नं.  UP 64 AB 1234 में", ["UP64AB1234"]),  # odd spacing
        ("truck br01-ab-1234 and UP64AB1234", ["BR01AB1234", "UP64AB1234"]),
        ("mentioned up 2024 in the rally", []),  # not a registration: no series
        ("फोन 9876543210 पर संपर्क", ["+919876543210"]),
        ("call +91 98765 43210 or 098765-43210", ["+919876543210", "+919876543210"]),
        ("value 480000 and FIR 0123/2024", []),
    ],
)
def test_identifiers_in_free_text(text: str, expected: list[str]) -> None:
    assert [i.value for i in ids.in_text(text)] == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+91 98765 43210", "+919876543210"),
        ("098765-43210", "+919876543210"),
        ("9876543210", "+919876543210"),
        ("919876543210", "+919876543210"),
        ("5876543210", None),  # Indian mobiles begin 6-9
        ("98765", None),
    ],
)
def test_phones_in_e164(raw: str, expected: str | None) -> None:
    assert ids.phone(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            "HTTPS://X.com/someone/status/1?utm_source=wa&s=20#frag",
            "https://x.com/someone/status/1",
        ),
        (
            "https://www.Facebook.com/post/5/?id=5&fbclid=abc",
            "https://www.facebook.com/post/5?id=5",
        ),
        ("https://youtu.be/abc?si=track&t=3", "https://youtu.be/abc"),
        ("ftp://x.com/a", None),
        ("not a url", None),
    ],
)
def test_urls(raw: str, expected: str | None) -> None:
    assert ids.url(raw) == expected


def test_a_rumour_is_its_handle_with_its_excerpt_after_normalisation() -> None:
    first = ids.of_report(
        "rumour",
        "अफवाह",
        {"platform": "x", "handle": "@Someone", "excerpt": "सोनभद्र  में मतदान\n26 अप्रैल को"},
    )
    again = ids.of_report(
        "rumour",
        "वही अफवाह",
        {"platform": "x", "handle": "someone", "excerpt": "सोनभद्र में मतदान 26 अप्रैल को"},
    )
    rumour = [i for i in first if i.kind == ids.RUMOUR]
    assert rumour
    assert rumour == [i for i in again if i.kind == ids.RUMOUR]
    elsewhere = ids.of_report(
        "rumour", "x", {"platform": "facebook", "handle": "@someone", "excerpt": "सोनभद्र में"}
    )
    assert not set(elsewhere) & set(first)  # another platform's @someone is someone else


def test_a_whatsapp_handle_that_is_a_number_is_that_number() -> None:
    found = ids.of_report("rumour", "x", {"platform": "whatsapp", "handle": "098765 43210"})
    assert Identifier(ids.HANDLE, "whatsapp:+919876543210") in found


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Ramesh  KUMAR", "ramesh kumar"),
        ("रमेश कुमार", "रमेश कुमार"),
        ("unknown driver", None),
        ("अज्ञात", None),
        ("Ra", None),
    ],
)
def test_person_names_match_only_exactly(name: str, expected: str | None) -> None:
    assert ids.person(name) == expected


def test_a_report_lists_each_identifier_once() -> None:
    found = ids.of_report(
        "seizure",
        "ट्रक BR01AB1234 से 1200 लीटर शराब",
        {"vehicles": ["BR 01 AB 1234"], "persons": [{"name": "Ramesh Kumar"}, {"name": "unknown"}]},
    )
    assert found == [Identifier("person", "ramesh kumar"), Identifier("vehicle", "BR01AB1234")]


URL_ID = Identifier(ids.URL, "https://x.com/a/status/1")
TRUCK = Identifier(ids.VEHICLE, "BR01AB1234")
A, B = uuid.UUID(int=1), uuid.UUID(int=2)


def cand(case_id: uuid.UUID, ident: Identifier, **kw: object) -> Candidate:
    fields: dict[str, object] = {
        "state": 9,
        "report_type": "rumour",
        "opened_at": NOW - timedelta(hours=1),
    }
    fields.update(kw)
    return Candidate(case_id, identifier=ident, **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("report_type", "candidates", "expected"),
    [
        ("rumour", [], Open(())),
        ("rumour", [cand(A, URL_ID)], Attach(A, URL_ID)),
        # the oldest of several matching rumour cases
        (
            "rumour",
            [cand(B, URL_ID), cand(A, URL_ID, opened_at=NOW - timedelta(hours=5))],
            Attach(A, URL_ID),
        ),
        # outside the window, in another state, or not a rumour case: linked, not attached
        (
            "rumour",
            [cand(A, URL_ID, opened_at=NOW - timedelta(hours=73))],
            Open((cand(A, URL_ID, opened_at=NOW - timedelta(hours=73)),)),
        ),
        ("rumour", [cand(A, URL_ID, state=10)], Open((cand(A, URL_ID, state=10),))),
        (
            "rumour",
            [cand(A, URL_ID, report_type="incident")],
            Open((cand(A, URL_ID, report_type="incident"),)),
        ),
        # a rumour matching only on a vehicle is another event that shares a detail
        ("rumour", [cand(A, TRUCK)], Open((cand(A, TRUCK),))),
        # a truck seen again, in any state: one link per other case
        (
            "smuggling_tip",
            [cand(A, TRUCK, state=10), cand(A, URL_ID, state=10), cand(B, TRUCK)],
            Open((cand(A, URL_ID, state=10), cand(B, TRUCK))),  # A's first identifier
        ),
    ],
    ids=[
        "nothing",
        "same-rumour",
        "oldest",
        "outside-window",
        "other-state",
        "not-a-rumour-case",
        "vehicle-only",
        "links",
    ],
)
def test_triage(report_type: str, candidates: list[Candidate], expected: object) -> None:
    assert triage(report_type, 9, candidates, NOW, WINDOW) == expected


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        ("vehicle", "br 01-ab 1234", "BR01AB1234"),
        ("phone", "098765 43210", "+919876543210"),
        ("handle", "X:@SomeOne", "x:someone"),
        ("person", "Ramesh  Kumar", "ramesh kumar"),
    ],
)
def test_watchlist_entries_are_normalised_as_reports_are(
    kind: str, value: str, expected: str
) -> None:
    assert wl.normalise(kind, value) == Identifier(kind, expected)


@pytest.mark.parametrize(
    ("kind", "value"), [("vehicle", "not a plate"), ("handle", "no-platform"), ("person", "x")]
)
def test_a_watchlist_value_that_cannot_match_is_refused(kind: str, value: str) -> None:
    with pytest.raises(InvalidInput):
        wl.normalise(kind, value)


def test_stored_v1_events_of_the_case_are_read_as_their_current_version() -> None:
    registry = build_registry()
    version, seizure = registry.upcast(
        "case.seizure_recorded",
        1,
        {
            "case_id": str(A),
            "seizure_id": str(B),
            "category": "liquor",
            "quantity": 10.0,
            "unit": "litres",
            "value_inr": 4000,
            "agency": "excise",
            "fir_number": None,
            "police_station": None,
        },
    )
    assert (version, seizure["same_as"]) == (2, None)


def test_sla_durations_per_report_type() -> None:
    quick = Durations(assign=60, acknowledge=300, field_report=600, close=1800)
    policy = SlaPolicy(Durations(), {"smuggling_tip": quick})
    assert policy.for_type("smuggling_tip") == quick
    assert policy.for_type("rumour") == Durations()  # the cVIGIL default
    assert policy.for_type("rumour").of("close") == timedelta(minutes=100)


def _seizure(**kw: object) -> SeizureItem:
    fields: dict[str, object] = {
        "item_id": uuid.uuid4(),
        "same_as": None,
        "state": 9,
        "district": 184,
        "police_station": "Robertsganj",
        "fir_number": "0123/2024",
        "category": "liquor",
        "unit": "litres",
        "quantity": 1200.0,
        "value_inr": 480000,
        "agency": "excise",
        "day": NOW.date(),
        "source": "report",
    }
    fields.update(kw)
    return SeizureItem(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("other", "same"),
    [
        ({"police_station": "  ROBERTSGANJ ", "agency": "state_police"}, True),
        ({"fir_number": "0123/2024 ", "source": "case"}, True),
        ({"fir_number": "0124/2024"}, False),
        ({"category": "cash"}, False),
        ({"district": 135}, False),
        ({"police_station": "Obra"}, False),
    ],
)
def test_one_fir_is_one_seizure(other: dict[str, object], same: bool) -> None:
    assert (_seizure().key == _seizure(**other).key) is same


def test_a_record_without_an_fir_has_no_fir_identity() -> None:
    assert _seizure(fir_number=None).key is None


def test_the_tally_day_is_the_day_in_india() -> None:
    late_evening_utc = datetime(2024, 4, 11, 20, 0, tzinfo=UTC)  # 01:30 IST on the 12th
    assert ist_day(late_evening_utc).isoformat() == "2024-04-12"

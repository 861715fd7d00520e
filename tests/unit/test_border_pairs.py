"""Border pairs as reference data (issue 14, item 1): every row is a pair of real LGD
districts in two states, with a source; a bad correction is refused by name; and the
development unit directory has a district control room on both sides of every pair."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from prahari_events import lgd
from prahari_events.borders import load_pairs
from prahari_events.errors import ConfigError
from prahari_events.policy import Area

UNITS = Path(__file__).resolve().parents[2] / "infra" / "dev" / "units.json"
CHANDAULI, KAIMUR, SONBHADRA = Area(9, 135), Area(10, 200), Area(9, 184)
HEADER = "up_state,up_district,up_name,other_state,other_district,other_name,source,reviewed\n"


def test_the_pairs_are_real_districts_of_two_states_each_with_a_source() -> None:
    pairs = load_pairs(lgd.load())
    assert len(pairs) >= 20
    assert all(p.up.state == 9 and p.other.state != 9 for p in pairs)
    assert all(p.source.strip() for p in pairs)
    assert len({p.pair_id for p in pairs}) == len(pairs)
    assert any(p.includes(CHANDAULI) and p.includes(KAIMUR) for p in pairs)
    # Every neighbouring state of the agreement faces UP somewhere.
    assert {p.other.state for p in pairs} == set(lgd.AGREEMENT_STATES) - {9}
    # Every UP district that domain.md names as bordering Bihar faces a Bihar district.
    facing_bihar = {p.up.district for p in pairs if p.other.state == 10}
    assert facing_bihar == {184, 135, 146, 126, 137, 160, 164}


def test_the_unit_directory_has_a_control_room_on_both_sides_of_every_pair() -> None:
    units = json.loads(UNITS.read_text(encoding="utf-8"))["units"]
    rooms = {(u["state"], u["district"]) for u in units if u["kind"] == "district_control_room"}
    for pair in load_pairs(lgd.load()):
        for side in (pair.up, pair.other):
            assert (side.state, side.district) in rooms, side


@pytest.mark.parametrize(
    ("row", "named"),
    [
        ("9,135,Chandauli,10,99999,X,map,no", "99999 is not an LGD district code"),
        ("9,135,Chandauli,10,184,X,map,no", "is in state 9, not 10"),
        ("9,135,Chandauli,9,184,Sonbhadra,map,no", "both districts are in state 9"),
        ("9,135,Chandauli,10,200,Kaimur,,no", "no source"),
        ("9,135,Chandauli,10,200,Kaimur,map,no\n10,200,Kaimur,9,135,Chandauli,map,no",
         "listed twice"),
    ],
)  # fmt: skip
def test_a_bad_correction_is_refused_by_name(row: str, named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        load_pairs(lgd.load(), HEADER + row + "\n")

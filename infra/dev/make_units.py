"""Writes infra/dev/units.json, the development unit directory, from the LGD codes.

Run from the repository root: `.venv/bin/python infra/dev/make_units.py`. The output is
checked in and reviewed like code; this script says how it was made so that a correction
is one edit here, not hundreds by hand.

Every district of Uttar Pradesh and its nine neighbours gets a district control room and
a flying squad (so every border district has one, whichever border list proves right),
each state a state control room, and a few named stations, check-posts and excise units
that the README and the tests use. Addresses are synthetic: the development SMS gateway
and SMTP server never reach a real phone or inbox.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LGD = ROOT / "libs/events/src/prahari_events/data/lgd/districts.csv"
OUT = ROOT / "infra/dev/units.json"

# LGD state code -> the prefix of its vehicle registrations, used as the unit id prefix.
STATES = {
    9: "UP",
    10: "BR",
    20: "JH",
    22: "CG",
    6: "HR",
    23: "MP",
    2: "HP",
    5: "UK",
    8: "RJ",
    7: "DL",
}
STATE_NAMES = {
    9: "Uttar Pradesh",
    10: "Bihar",
    20: "Jharkhand",
    22: "Chhattisgarh",
    6: "Haryana",
    23: "Madhya Pradesh",
    2: "Himachal Pradesh",
    5: "Uttarakhand",
    8: "Rajasthan",
    7: "Delhi",
}
# Units that the README and the tests name, beyond the generated rooms and squads.
NAMED = [
    (
        "UP-SON-PS-ROBERTSGANJ",
        "Police Station Robertsganj",
        "police_station",
        9,
        184,
        "+919300000184",
    ),
    (
        "UP-CHA-PS-MUGHALSARAI",
        "Police Station Mughalsarai",
        "police_station",
        9,
        135,
        "+919300000135",
    ),
    ("UP-CHA-EXCISE-1", "Excise Unit 1, Chandauli", "excise_unit", 9, 135, "+919200000135"),
    (
        "UP-SON-SST-1",
        "Static Surveillance Team 1, Sonbhadra",
        "static_surveillance_team",
        9,
        184,
        None,
    ),
    ("BR-KAI-CP-KARMNASA", "Karmnasa Check-post", "check_post", 10, 200, "+919400000200"),
    ("BR-KAI-PS-MOHANIA", "Police Station Mohania", "police_station", 10, 200, "+919300000200"),
]


def abbreviations(names: dict[int, str]) -> dict[int, str]:
    """Three letters per district, unique within the state: the first three letters, or
    the first two and a later one when two districts begin alike (lowest code first)."""
    taken: dict[int, str] = {}
    used: set[str] = set()
    for code in sorted(names):
        letters = re.sub(r"[^A-Z]", "", names[code].upper())
        candidates = [letters[:3]] + [letters[:2] + c for c in letters[2:]]
        candidates += [letters[0] + c for c in letters[1:]]
        for candidate in candidates:
            if len(candidate) == 3 and candidate not in used:
                break
        else:
            raise SystemExit(f"no abbreviation for {names[code]}")
        used.add(candidate)
        taken[code] = candidate
    return taken


def main() -> None:
    by_state: dict[int, dict[int, str]] = {code: {} for code in STATES}
    with LGD.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            state = int(row["State Code"])
            if state in by_state:
                by_state[state][int(row["District Code"])] = row["District Name"].title()
    units: list[dict[str, object]] = []
    for state, prefix in STATES.items():
        units.append(
            {
                "unit_id": f"{prefix}-SCR",
                "name": f"State Control Room, {STATE_NAMES[state]}",
                "kind": "state_control_room",
                "state": state,
                "district": None,
                "phone": f"+91900100{state:04d}",
                "email": f"scr-{state}@control-room.prahari.test",
                "language": "hi",
            }
        )
        short = abbreviations(by_state[state])
        for district, name in sorted(by_state[state].items()):
            units.append(
                {
                    "unit_id": f"{prefix}-{short[district]}-DCR",
                    "name": f"District Control Room, {name}",
                    "kind": "district_control_room",
                    "state": state,
                    "district": district,
                    "phone": f"+9190000{district:05d}",
                    "email": f"dcr-{district}@control-room.prahari.test",
                    "language": "hi",
                }
            )
            units.append(
                {
                    "unit_id": f"{prefix}-{short[district]}-FS-1",
                    "name": f"Flying Squad 1, {name}",
                    "kind": "flying_squad",
                    "state": state,
                    "district": district,
                    "phone": f"+9191{district:08d}",
                    "email": f"fs-1-{district}@units.prahari.test",
                    "language": "hi",
                }
            )
    for unit_id, name, kind, state, district, phone in NAMED:
        units.append(
            {
                "unit_id": unit_id,
                "name": name,
                "kind": kind,
                "state": state,
                "district": district,
                "phone": phone,
                "email": None,
                "language": "hi",
            }
        )
    units.append(
        {
            "unit_id": "ECI-AUDIT-1",
            "name": "Election Commission observers' audit office",
            "kind": "audit_office",
            "state": None,
            "district": None,
            "phone": None,
            "email": "audit-1@eci.prahari.test",
            "language": "en",
        }
    )
    text = json.dumps({"units": units}, ensure_ascii=False, indent=1)
    OUT.write_text(text + "\n", encoding="utf-8")
    print(f"wrote {len(units)} units to {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()

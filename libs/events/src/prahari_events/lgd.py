"""India's Local Government Directory codes for states and districts.

Source: Local Government Directory, Ministry of Panchayati Raj (Government Open Data
License - India), as shipped in data/lgd/ with its README. Codes are the stable identifiers;
names are display text.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from importlib import resources

# The states of the agreement Prahari serves (../shared/seed/): Uttar Pradesh and its nine
# neighbours, by LGD code. Each has a feed of the cases shared with it (Topics.share).
AGREEMENT_STATES = (9, 10, 20, 22, 6, 23, 2, 5, 8, 7)


@dataclass(frozen=True, slots=True)
class District:
    code: int
    name: str
    state: int


@dataclass(frozen=True, slots=True)
class Directory:
    states: dict[int, str]
    districts: dict[int, District]

    def problems(self, state: int | None, district: int | None) -> dict[str, list[str]]:
        """Field errors for a (state, district) pair; empty when the pair is valid."""
        errors: dict[str, list[str]] = {}
        if state is not None and state not in self.states:
            errors["state"] = [f"{state} is not an LGD state code"]
        if district is not None:
            known = self.districts.get(district)
            if known is None:
                errors["district"] = [f"{district} is not an LGD district code"]
            elif state is not None and known.state != state:
                errors["district"] = [
                    f"district {district} ({known.name}) is in state {known.state}, not {state}"
                ]
        return errors

    def district_name(self, code: int) -> str:
        known = self.districts.get(code)
        return known.name.title() if known else str(code)


def load() -> Directory:
    base = resources.files("prahari_events") / "data" / "lgd"
    states: dict[int, str] = {}
    with io.StringIO((base / "states.csv").read_text(encoding="utf-8")) as handle:
        for row in csv.DictReader(handle):
            states[int(row["State Code"])] = row["State Name"]
    districts: dict[int, District] = {}
    with io.StringIO((base / "districts.csv").read_text(encoding="utf-8")) as handle:
        for row in csv.DictReader(handle):
            code = int(row["District Code"])
            districts[code] = District(code, row["District Name"], int(row["State Code"]))
    return Directory(states, districts)

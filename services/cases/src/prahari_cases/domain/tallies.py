"""Seizure tallies (what the Election Commission's seizure system reports): one seizure is
counted once, however many agencies record it and whether it was reported, recorded on its
case, or both.

Two records are one seizure when one names the other (`same_as`), or when both carry the same
(state, district, police station, FIR number, category): an FIR is registered once. A record
with no FIR and no `same_as` is a seizure of its own. Pure: the adapters keep the groups.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from prahari_cases.domain.identifiers import text

IST = timezone(timedelta(hours=5, minutes=30), "IST")
DIMENSIONS = ("category", "state", "district", "day")
# What the tallies are counted in, in this order (cash's quantity is in rupees).
UNITS = ("inr", "litres", "kg", "grams", "count")


@dataclass(frozen=True, slots=True)
class SeizureItem:
    item_id: uuid.UUID  # a seizure report's id, or a case record's seizure_id
    same_as: uuid.UUID | None
    state: int
    district: int
    police_station: str | None
    fir_number: str | None
    category: str
    unit: str
    quantity: float
    value_inr: int
    agency: str
    day: date  # the IST day it happened (or was recorded)
    source: str  # "report" or "case"

    @property
    def key(self) -> str | None:
        """The FIR identity, when the record has an FIR number."""
        if not self.fir_number:
            return None
        station = text(self.police_station or "")
        return f"{self.state}|{self.district}|{station}|{text(self.fir_number)}|{self.category}"


def ist_day(moment: datetime) -> date:
    return moment.astimezone(IST).date()

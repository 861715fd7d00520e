"""Which phone numbers may file reports by SMS: every unit of the unit directory that has a
phone and a state (`prahari_events.units`), each number tied to its unit."""

from __future__ import annotations

from prahari_events.auth import Unit
from prahari_events.units import UnitDirectory


def senders_from(units: UnitDirectory) -> dict[str, Unit]:
    return {
        unit.phone: unit.as_unit()
        for unit in units
        if unit.phone is not None and unit.state is not None and unit.role != "auditor"
    }

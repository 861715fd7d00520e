"""Which phone numbers may file reports by SMS: every unit of the unit directory that has a
phone and a state (`prahari_events.units`), each number tied to its unit."""

from __future__ import annotations

from dataclasses import dataclass

from prahari_events.auth import Unit
from prahari_events.units import UnitDirectory


@dataclass(frozen=True, slots=True)
class Sender:
    unit: Unit
    pin: str | None  # the PIN its messages must start with, if the directory sets one


def senders_from(units: UnitDirectory) -> dict[str, Sender]:
    """Registered numbers (E.164, as the directory holds them) and who they are."""
    return {
        unit.phone: Sender(unit.as_unit(), unit.sms_pin)
        for unit in units
        if unit.phone is not None and unit.state is not None and unit.role != "auditor"
    }

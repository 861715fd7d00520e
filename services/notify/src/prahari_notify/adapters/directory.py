"""The control rooms notify tells, from the shared unit directory (`prahari_events.units`)."""

from __future__ import annotations

from prahari_events import lgd
from prahari_events.units import CONTROL_ROOM_KINDS, load_units
from prahari_notify.domain.messages import ContactDirectory, ControlRoom


def load_directory(path: str, places: lgd.Directory) -> ContactDirectory:
    units = load_units(path, places)
    return ContactDirectory(
        [
            ControlRoom(u.name, u.state, u.district, u.email, u.phone, u.language)
            for u in units
            if u.kind in CONTROL_ROOM_KINDS and u.state is not None
        ]
    )

"""Who hears of what: the routing table (data/routes.json, reviewed like code) and the pure
resolution of a case event into the units to tell, or into the reason a recipient cannot
be reached. Nothing here reads a database or a clock.

A route names, for one event type, the recipients (selectors below), the template, whether
follow-ups are folded into digests, and its time to live: an alert not delivered within it
has expired and is raised to the next level.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prahari_events import catalogue as c
from prahari_events.errors import ConfigError
from prahari_events.policy import Area, CaseAccess, UnitRef
from prahari_events.units import DirectoryUnit, UnitDirectory
from prahari_notify.domain.templates import TEMPLATES

SELECTORS = (
    "case_control_room",  # the control room of the case's district (its state's if none)
    "assignee",  # the unit the case is assigned to
    "area_control_rooms",  # the other state's control room, and the district's when named
    "next_level_control_room",  # the control room one level above the case's
    "watchlist_owner",  # the unit that owns the watchlist entry
    "reporting_unit",  # the unit that filed the report the case was opened from
    "thread_audience",  # the control rooms of a thread's districts (or states)
)


@dataclass(frozen=True, slots=True)
class Route:
    event_type: str
    to: tuple[str, ...]
    template: str
    ttl_s: float
    digest: bool = False
    # An expired alert is raised one level; an alert about an expiry is not raised again.
    escalate: bool = True


@dataclass(frozen=True, slots=True)
class RoutingTable:
    routes: Mapping[str, Route]
    expiry: Route
    reply: Route
    mention: Route

    def route(self, event_type: str) -> Route | None:
        return self.routes.get(event_type)

    @property
    def event_types(self) -> frozenset[str]:
        return frozenset(self.routes)


def parse_routes(raw: Mapping[str, Any]) -> RoutingTable:
    """Validate a decoded routing file; a mistake fails the service at start."""

    def route(event_type: str, spec: Mapping[str, Any]) -> Route:
        unknown = set(spec) - {"to", "template", "ttl_s", "digest", "escalate"}
        if unknown:
            raise ConfigError(f"route {event_type}: unknown keys {sorted(unknown)}")
        to = tuple(spec.get("to", ()))
        for selector in to:
            if selector not in SELECTORS:
                raise ConfigError(f"route {event_type}: unknown recipient {selector!r}")
        template = str(spec.get("template"))
        if template not in TEMPLATES:
            raise ConfigError(f"route {event_type}: unknown template {template!r}")
        if spec.get("digest") and f"{template}_digest" not in TEMPLATES:
            raise ConfigError(f"route {event_type}: no template {template}_digest for digests")
        ttl = spec.get("ttl_s")
        if not isinstance(ttl, int | float) or ttl <= 0:
            raise ConfigError(f"route {event_type}: ttl_s must be a positive number of seconds")
        return Route(
            event_type,
            to,
            template,
            float(ttl),
            bool(spec.get("digest", False)),
            bool(spec.get("escalate", True)),
        )

    if set(raw) - {"_", "routes", "expiry", "reply", "mention"}:
        raise ConfigError(f"the routing table has unknown keys {sorted(set(raw))}")
    routes = raw.get("routes")
    if not isinstance(routes, dict):
        raise ConfigError("the routing table needs a 'routes' object")
    known = set(c.build_registry().names())
    for event_type in routes:
        if event_type not in known:
            raise ConfigError(f"route for an event type that does not exist: {event_type}")
    return RoutingTable(
        {name: route(name, spec) for name, spec in routes.items()},
        route("expiry", raw.get("expiry", {})),
        route("reply", raw.get("reply", {})),
        route("mention", raw.get("mention", {})),
    )


def load_routes(path: str | Path) -> RoutingTable:
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read the routing table {path}: {exc}") from None
    return parse_routes(raw)


DEFAULT_ROUTES = Path(__file__).resolve().parent.parent / "data" / "routes.json"


@dataclass(frozen=True, slots=True)
class Unreachable:
    """A recipient a rule named that the directory cannot reach: told as an event."""

    selector: str
    who: str
    reason: str


def _place(payload: Mapping[str, Any], access: CaseAccess | None) -> Area | None:
    if "state" in payload and "district" in payload:
        return Area(payload["state"], payload["district"])
    return access.owner if access is not None else None


def _state_room(directory: UnitDirectory, state: int) -> list[DirectoryUnit]:
    return [u for u in directory.control_rooms(state, None) if u.district is None]


def resolve(  # noqa: PLR0912 (one branch per selector)
    selector: str,
    event_type: str,
    payload: Mapping[str, Any],
    access: CaseAccess | None,
    directory: UnitDirectory,
) -> tuple[list[DirectoryUnit], list[Unreachable]]:
    """The units one selector names for one case event, and what it named but cannot reach."""

    def one(ref: UnitRef | None, who: str) -> tuple[list[DirectoryUnit], list[Unreachable]]:
        if ref is None:
            return [], [Unreachable(selector, who, "the case names no such unit")]
        unit = directory.get(ref)
        if unit is None:
            return [], [
                Unreachable(selector, f"{ref.unit_id} ({ref.state})", "not in the unit directory")
            ]
        return [unit], []

    def rooms(area: Area | None, who: str) -> tuple[list[DirectoryUnit], list[Unreachable]]:
        if area is None:
            return [], [Unreachable(selector, who, "the case's place is not known to notify")]
        found = directory.control_rooms(area.state, area.district)
        if not found:
            return [], [Unreachable(selector, who, "no control room listed for this place")]
        return found, []

    if selector == "case_control_room":
        place = _place(payload, access)
        return rooms(place, f"control room of {place}")
    if selector == "assignee":
        a = payload.get("assignee")
        return one(UnitRef(a["state"], a["unit_id"]) if a else None, "assignee")
    if selector == "watchlist_owner":
        o = payload.get("owner")
        return one(UnitRef(o["state"], o["unit_id"]) if o else None, "watchlist owner")
    if selector == "reporting_unit":
        return one(access.reported_by if access else None, "reporting unit")
    if selector == "area_control_rooms":
        spec = payload.get("partner") or payload.get("to")
        if spec is None:
            return [], [Unreachable(selector, "other state", "the event names no area")]
        area = Area(spec["state"], spec["district"])
        found = _state_room(directory, area.state)
        missing: list[Unreachable] = []
        if not found:
            missing.append(
                Unreachable(selector, f"state control room of {area.state}", "not listed")
            )
        if area.district is not None:
            local = [u for u in directory.control_rooms(area.state, area.district) if u.district]
            if local:
                found += local
            else:
                missing.append(
                    Unreachable(selector, f"control room of district {area.district}", "not listed")
                )
        return found, missing
    if selector == "thread_audience":
        heard: list[DirectoryUnit] = []
        lost: list[Unreachable] = []
        for spec in payload.get("audience", []):
            area = Area(spec["state"], spec["district"])
            found_here, missing_here = rooms(area, f"control room of {area}")
            heard += found_here
            lost += missing_here
        return heard, lost
    if selector == "next_level_control_room":
        # Two levels exist, district and state; above a district is its state's control
        # room, and the state's is the top: it hears of its own breaches too.
        place = _place(payload, access)
        if place is None:
            return [], [Unreachable(selector, "next level", "the case's place is not known")]
        found = _state_room(directory, place.state)
        if not found:
            return [], [Unreachable(selector, f"state control room of {place.state}", "not listed")]
        return found, []
    raise ValueError(f"unknown selector {selector}")


def recipients(
    route: Route,
    payload: Mapping[str, Any],
    access: CaseAccess | None,
    directory: UnitDirectory,
) -> tuple[list[DirectoryUnit], list[Unreachable]]:
    """Every unit the route names for this event, each once, and every one it cannot reach."""
    units: dict[tuple[int | None, str], DirectoryUnit] = {}
    missing: list[Unreachable] = []
    for selector in route.to:
        found, lost = resolve(selector, route.event_type, payload, access, directory)
        for unit in found:
            units.setdefault((unit.state, unit.unit_id), unit)
        missing += lost
    return list(units.values()), missing


def next_level(unit: DirectoryUnit, directory: UnitDirectory) -> list[DirectoryUnit]:
    """Whom to tell when an alert to `unit` expired: its state's control room, unless it is
    that control room (there is no level above a state's)."""
    if unit.state is None or unit.kind == "state_control_room":
        return []
    return _state_room(directory, unit.state)

"""Who may see a case's notifications: notify's own fold of the case events into the shared
policy's CaseAccess (owner, shares, assignee, reporting unit, former owners, a pending
transfer), so that notify answers exactly as cases does. Pure."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from prahari_events import catalogue as c
from prahari_events.envelope import Envelope
from prahari_events.policy import Area, CaseAccess, UnitRef

# The case events that change who may see a case; notify follows these.
ACCESS_EVENTS = frozenset(
    {
        c.CASE_OPENED,
        c.CASE_ASSIGNED,
        c.CASE_SHARED,
        c.CASE_SHARE_REVOKED,
        c.CASE_TRANSFER_REQUESTED,
        c.CASE_TRANSFER_WITHDRAWN,
        c.CASE_TRANSFER_REFUSED,
        c.CASE_TRANSFERRED,
        c.CASE_REOPENED,
    }
)


def _area(p: Mapping[str, Any]) -> Area:
    return Area(p["state"], p["district"])


def evolve(access: CaseAccess | None, event: Envelope) -> CaseAccess | None:
    p = event.payload
    r = dataclasses.replace
    if event.type == c.CASE_OPENED:
        by = p["reported_by"]
        reporter = UnitRef(by["state"], by["unit_id"]) if by["state"] is not None else None
        return CaseAccess(owner=Area(p["state"], p["district"]), reported_by=reporter)
    if access is None:
        return None  # an event of a case notify never saw opened: nothing to guard
    if event.type == c.CASE_ASSIGNED:
        return r(access, assignee=UnitRef(p["assignee"]["state"], p["assignee"]["unit_id"]))
    if event.type == c.CASE_SHARED:
        partner = _area(p["partner"])
        kept = tuple(s for s in access.shares if s.state != partner.state)
        return r(access, shares=(*kept, partner))
    if event.type == c.CASE_SHARE_REVOKED:
        gone = _area(p["partner"])
        return r(access, shares=tuple(s for s in access.shares if s != gone))
    if event.type == c.CASE_TRANSFER_REQUESTED:
        return r(access, transfer_to=_area(p["to"]))
    if event.type in (c.CASE_TRANSFER_WITHDRAWN, c.CASE_TRANSFER_REFUSED):
        return r(access, transfer_to=None)
    if event.type == c.CASE_TRANSFERRED:
        origin, to = _area(p["from"]), _area(p["to"])
        formers = tuple(a for a in access.former_owners if a not in (origin, to))
        return r(
            access, owner=to, former_owners=(*formers, origin), transfer_to=None, assignee=None
        )
    if event.type == c.CASE_REOPENED:
        return r(access, assignee=None)
    return access


@dataclasses.dataclass(frozen=True, slots=True)
class Known:
    """What notify keeps per case (its case_access row): the version of the last access
    event folded, the access, and the case's report type."""

    version: int
    access: CaseAccess
    report_type: str | None


def follow(known: Known | None, event: Envelope) -> Known | None:
    """The row after a case event, or None when the event changes nothing: one seen
    already (a redelivery of an older event), one that does not change access, or one of
    a case never seen opened."""
    if known is not None and known.version >= event.stream_version:
        return None
    if event.type not in ACCESS_EVENTS:
        return None
    access = evolve(known.access if known else None, event)
    if access is None:
        return None
    report_type = event.payload.get("report_type") or (known.report_type if known else None)
    return Known(event.stream_version, access, report_type)


def to_json(access: CaseAccess) -> dict[str, Any]:
    def area(a: Area) -> dict[str, Any]:
        return {"state": a.state, "district": a.district}

    def ref(u: UnitRef | None) -> dict[str, Any] | None:
        return {"state": u.state, "unit_id": u.unit_id} if u else None

    return {
        "owner": area(access.owner),
        "reported_by": ref(access.reported_by),
        "assignee": ref(access.assignee),
        "shares": [area(a) for a in access.shares],
        "former_owners": [area(a) for a in access.former_owners],
        "transfer_to": area(access.transfer_to) if access.transfer_to else None,
    }


def from_json(p: Mapping[str, Any]) -> CaseAccess:
    def ref(u: Mapping[str, Any] | None) -> UnitRef | None:
        return UnitRef(u["state"], u["unit_id"]) if u else None

    return CaseAccess(
        owner=_area(p["owner"]),
        reported_by=ref(p["reported_by"]),
        assignee=ref(p["assignee"]),
        shares=tuple(_area(a) for a in p["shares"]),
        former_owners=tuple(_area(a) for a in p["former_owners"]),
        transfer_to=_area(p["transfer_to"]) if p["transfer_to"] else None,
    )

"""notify's own fold of case access agrees with the shared policy as cases applies it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from prahari_events.auth import Unit
from prahari_events.envelope import Actor, Envelope, Jurisdiction
from prahari_events.policy import may_read
from prahari_notify.domain.access import evolve, from_json, to_json

CASE = uuid.uuid4()
UP_ROOM = Unit("UP-SON-DCR", "district_control_room", "control_room", 9, 184)
STATION = Unit("UP-SON-PS-ROBERTSGANJ", "police_station", "reporter", 9, 184)
SQUAD = Unit("UP-SON-FS-1", "flying_squad", "reporter", 9, 184)
BIHAR = Unit("BR-SCR", "state_control_room", "control_room", 10, None)
KAIMUR = Unit("BR-KAI-DCR", "district_control_room", "control_room", 10, 200)


def event(version: int, type_: str, **payload: Any) -> Envelope:
    now = datetime(2024, 4, 11, tzinfo=UTC)
    return Envelope(
        uuid.uuid4(), type_, 1, f"case-{CASE}", version, now, now,
        Actor("service:cases", "system", "service"), Jurisdiction(9, 184), CASE, None, {},
        {"case_id": str(CASE), **payload},
    )  # fmt: skip


def test_the_fold_follows_assignment_sharing_and_transfer() -> None:
    by = STATION.actor().to_json()
    access = evolve(None, event(1, "case.opened", state=9, district=184, reported_by=by))
    assert access is not None
    readers = {u.unit_id for u in (UP_ROOM, STATION, SQUAD, BIHAR) if may_read(u, access)}
    assert readers == {"UP-SON-DCR", "UP-SON-PS-ROBERTSGANJ"}
    access = evolve(
        access, event(2, "case.assigned", assignee={"state": 9, "unit_id": SQUAD.unit_id})
    )
    assert access is not None
    assert may_read(SQUAD, access)
    access = evolve(access, event(3, "case.shared", partner={"state": 10, "district": None}))
    assert access is not None
    assert may_read(BIHAR, access)
    assert may_read(KAIMUR, access)
    access = evolve(access, event(4, "case.share_revoked", partner={"state": 10, "district": None}))
    assert access is not None
    assert not may_read(BIHAR, access)
    to, origin = {"state": 10, "district": 200}, {"state": 9, "district": 184}
    access = evolve(access, event(5, "case.transfer_requested", to=to, reason="r"))
    assert access is not None
    assert may_read(KAIMUR, access)
    access = evolve(access, event(6, "case.transferred", **{"from": origin, "to": to}))
    assert access is not None
    assert may_read(KAIMUR, access)
    assert may_read(UP_ROOM, access)
    assert not may_read(SQUAD, access)  # the assignment ended with the transfer
    assert from_json(to_json(access)) == access

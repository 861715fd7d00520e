"""Who may read and do what with a case: the one access policy every service applies.

A unit's relation to a case follows from the case's owner jurisdiction, its shares, its
assignee, its reporting unit, its former owners and a pending transfer:

- owner: every control room covering the case's current state and district (the
  district's room and the state's room);
- partner: the control rooms of a state (or of one district of it) the case is shared
  with: they read, add notes and record seizures;
- assignee: the unit the case is assigned to, matched on state and unit id together;
- reporter: the unit that filed the case's report;
- former owner: control rooms that owned the case before a transfer keep read access;
- transfer target: the control rooms a transfer was offered to read it to decide;
- auditor: reads everything and changes nothing.

Both the in-memory check and the SQL filter over many cases are the same rule: a case
carries access keys (`read_keys`), a unit holds keys (`unit_keys`), and the unit reads the
case when they share one. The adapters store the case's keys and filter with `&&`, so a
list can never show what a single read would refuse.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from prahari_events.auth import Unit


class Action(StrEnum):
    READ = "read"
    ASSIGN = "assign"
    ACKNOWLEDGE = "acknowledge"
    ADD_NOTE = "add_note"
    FILE_FIELD_REPORT = "file_field_report"
    RECORD_SEIZURE = "record_seizure"
    ESCALATE = "escalate"
    SHARE = "share"
    REVOKE_SHARE = "revoke_share"
    REQUEST_TRANSFER = "request_transfer"
    WITHDRAW_TRANSFER = "withdraw_transfer"
    ANSWER_TRANSFER = "answer_transfer"
    CLOSE = "close"
    REOPEN = "reopen"
    UNLINK_REPORT = "unlink_report"
    REQUEST_TAKEDOWN = "request_takedown"
    RECORD_TAKEDOWN_OUTCOME = "record_takedown_outcome"
    PUBLISH_FACT_CHECK = "publish_fact_check"
    RECORD_SOURCE_ACTION = "record_source_action"


class Relation(StrEnum):
    OWNER = "owner"
    PARTNER = "partner"
    ASSIGNEE = "assignee"
    REPORTER = "reporter"
    FORMER_OWNER = "former_owner"
    TRANSFER_TARGET = "transfer_target"


_OWNER = frozenset({Relation.OWNER})
_WORKERS = frozenset({Relation.OWNER, Relation.ASSIGNEE, Relation.PARTNER})

# Who may do each thing. Reading is any relation at all.
RULES: dict[Action, frozenset[Relation]] = {
    Action.READ: frozenset(Relation),
    Action.ASSIGN: _OWNER,
    Action.ACKNOWLEDGE: frozenset({Relation.ASSIGNEE}),
    Action.ADD_NOTE: _WORKERS,
    Action.FILE_FIELD_REPORT: frozenset({Relation.ASSIGNEE}),
    Action.RECORD_SEIZURE: _WORKERS,
    Action.ESCALATE: _OWNER,
    Action.SHARE: _OWNER,
    Action.REVOKE_SHARE: _OWNER,
    Action.REQUEST_TRANSFER: _OWNER,
    Action.WITHDRAW_TRANSFER: _OWNER,
    Action.ANSWER_TRANSFER: frozenset({Relation.TRANSFER_TARGET}),
    Action.CLOSE: _OWNER,
    Action.REOPEN: _OWNER,
    Action.UNLINK_REPORT: _OWNER,
    # A rumour's response is the owning control rooms' (the state's room holds the nodal
    # officer); the station the case is assigned to registers the FIR against the source.
    Action.REQUEST_TAKEDOWN: _OWNER,
    Action.RECORD_TAKEDOWN_OUTCOME: _OWNER,
    Action.PUBLISH_FACT_CHECK: _OWNER,
    Action.RECORD_SOURCE_ACTION: frozenset({Relation.OWNER, Relation.ASSIGNEE}),
}


@dataclass(frozen=True, slots=True)
class Area:
    """A state and, optionally, one of its districts (LGD codes). As the target of a share,
    an area without a district means every control room of that state."""

    state: int
    district: int | None = None


@dataclass(frozen=True, slots=True)
class UnitRef:
    """A unit named as the directory names it: ids are unique within a state only."""

    state: int
    unit_id: str


@dataclass(frozen=True, slots=True)
class CaseAccess:
    owner: Area
    reported_by: UnitRef | None
    assignee: UnitRef | None = None
    shares: tuple[Area, ...] = ()
    former_owners: tuple[Area, ...] = ()
    transfer_to: Area | None = None


def _covering(area: Area) -> list[str]:
    """Keys of the control rooms covering an area: its district's room and its state's
    room; for a state-wide area, every control room of that state."""
    if area.district is None:
        return [f"cr-any:{area.state}"]
    return [f"cr:{area.state}", f"cr:{area.state}:{area.district}"]


def _unit(ref: UnitRef) -> str:
    return f"unit:{ref.state}:{ref.unit_id}"


def relation_keys(access: CaseAccess) -> dict[Relation, list[str]]:
    keys: dict[Relation, list[str]] = {
        Relation.OWNER: _covering(access.owner),
        Relation.PARTNER: [k for area in access.shares for k in _covering(area)],
        Relation.FORMER_OWNER: [k for area in access.former_owners for k in _covering(area)],
        Relation.TRANSFER_TARGET: _covering(access.transfer_to) if access.transfer_to else [],
        Relation.REPORTER: [_unit(access.reported_by)] if access.reported_by else [],
        Relation.ASSIGNEE: [_unit(access.assignee)] if access.assignee else [],
    }
    return keys


def read_keys(access: CaseAccess) -> list[str]:
    """Every key that lets a unit read the case, for the read model's filter column."""
    return sorted({k for keys in relation_keys(access).values() for k in keys})


def partner_keys(access: CaseAccess) -> list[str]:
    """The keys that make a unit a sharing partner (the `shared_with_me` filter)."""
    return sorted(set(relation_keys(access)[Relation.PARTNER]))


def unit_keys(unit: Unit) -> list[str]:
    """The keys a unit holds. A control room covers its district, or its whole state."""
    if unit.state is None:
        return []
    keys = [f"unit:{unit.state}:{unit.unit_id}"]
    if unit.role == "control_room":
        keys.append(f"cr-any:{unit.state}")
        keys.append(
            f"cr:{unit.state}" if unit.district is None else f"cr:{unit.state}:{unit.district}"
        )
    return keys


def relations(unit: Unit, access: CaseAccess) -> frozenset[Relation]:
    held = set(unit_keys(unit))
    return frozenset(
        relation for relation, keys in relation_keys(access).items() if held.intersection(keys)
    )


# --- threads -------------------------------------------------------------------------------
# Members of a thread are units, never persons, so a posting or a transfer of an officer
# changes nothing.

# A case's thread: its owner's control rooms, its assignee and its sharing partners.
CASE_THREAD_RELATIONS = frozenset({Relation.OWNER, Relation.ASSIGNEE, Relation.PARTNER})


def border_thread_member(unit: Unit, sides: Sequence[Area]) -> bool:
    """A border pair's standing thread: every unit of either district (its control room,
    stations, check-posts, squads) and both states' control rooms."""
    for side in sides:
        if unit.state != side.state:
            continue
        if unit.district is not None and unit.district == side.district:
            return True
        if unit.district is None and unit.role == "control_room":
            return True
    return False


def case_thread_member(unit: Unit, access: CaseAccess) -> bool:
    return bool(relations(unit, access) & CASE_THREAD_RELATIONS)


def may_read_thread(unit: Unit, member: bool) -> bool:
    """Members and auditors read a thread; to anyone else it does not exist."""
    return member or is_auditor(unit)


def may_post_thread(unit: Unit, member: bool) -> bool:
    return member and not is_auditor(unit)


def may_read_watchlist(unit: Unit, owner_state: int) -> bool:
    """A watchlist entry (and why it is there) is for its owner state's control rooms and
    for auditors."""
    return is_auditor(unit) or (unit.role == "control_room" and unit.state == owner_state)


def may_change_watchlist(unit: Unit, owner_state: int) -> bool:
    return unit.role == "control_room" and unit.state == owner_state


def is_auditor(unit: Unit) -> bool:
    return unit.role == "auditor"


def may_read(unit: Unit, access: CaseAccess) -> bool:
    return is_auditor(unit) or bool(relations(unit, access))


def may(unit: Unit, action: Action, access: CaseAccess) -> bool:
    """Auditors read everything and change nothing; everyone else by relation."""
    if action is Action.READ:
        return may_read(unit, access)
    if is_auditor(unit):
        return False
    return bool(relations(unit, access) & RULES[action])

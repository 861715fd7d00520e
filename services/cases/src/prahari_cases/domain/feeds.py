"""Partner states' feeds: which state's feed (`prahari.share.<state>`) carries what of a case.

A state sees a case on its feed while the case is shared with it, while a transfer to it is
offered, and for good once it has taken the case over by a transfer (the case is its own
then, and it came across a border). The state that opened a case and never gave it away
reads it through its own systems, not a feed.

When a state starts seeing a case, its feed gets the case as it stood then (a snapshot at
the version of the event that let it in) and after that every event of the case; the event
that ends its view (a share revoked, a transfer withdrawn or refused) is the last it gets.
"""

from __future__ import annotations

from dataclasses import dataclass

from prahari_cases.domain.case import Case


def audience(case: Case | None) -> frozenset[int]:
    """The states (LGD codes) whose feeds carry the case as it stands."""
    if case is None:
        return frozenset()
    states = {s.partner.state for s in case.shares}
    if case.transfer is not None:
        states.add(case.transfer.to.state)
    if case.former_owners:
        states.add(case.state)  # taken over by a transfer: it came from another state
    return frozenset(states)


@dataclass(frozen=True, slots=True)
class Delivery:
    """One message for one state's feed: the event itself, or (`snapshot`) the case as the
    event left it, for a state that starts seeing the case with this event."""

    state: int
    snapshot: bool
    reason: str = ""  # for a snapshot: "shared" or "transfer"


def deliveries(before: Case | None, after: Case) -> list[Delivery]:
    """What one event (taking the case from `before` to `after`) puts on which feed."""
    old, new = audience(before), audience(after)
    out = [Delivery(state, snapshot=False) for state in sorted(old)]
    for state in sorted(new - old):
        shared = any(s.partner.state == state for s in after.shares)
        out.append(Delivery(state, snapshot=True, reason="shared" if shared else "transfer"))
    return out

"""Partner states' feeds (domain.feeds), table-driven: along one case's life across the UP
and Bihar border, which state's feed gets each event, and when a state gets the whole case
instead (a snapshot, when it starts seeing the case)."""

from __future__ import annotations

import uuid

from prahari_cases.domain import commands as cmd
from prahari_cases.domain.feeds import Delivery, audience, deliveries
from prahari_events.policy import Area
from prahari_events.registry import Registry
from tests.factories import BIHAR, UP
from tests.unit.test_case_lifecycle import ASSIGN, KAIMUR, OPEN, SHARE, TRANSFER, History

JHARKHAND = 20
NOTE = cmd.AddNote(uuid.uuid4(), "टोल प्लाज़ा पर दिखा")


def event(state: int) -> Delivery:
    return Delivery(state, snapshot=False)


def snapshot(state: int, reason: str) -> Delivery:
    return Delivery(state, snapshot=True, reason=reason)


# One case's life, in order: the command, and what its event puts on which feed.
LIFE: list[tuple[cmd.Command, list[Delivery]]] = [
    (OPEN, []),  # UP's own case: on no feed
    (ASSIGN, []),
    (SHARE, [snapshot(BIHAR, "shared")]),  # Bihar starts seeing it: the whole case
    (NOTE, [event(BIHAR)]),
    (cmd.Share(Area(BIHAR, KAIMUR), "only Kaimur now"), [event(BIHAR)]),  # still Bihar's
    (cmd.RevokeShare(BIHAR), [event(BIHAR)]),  # the last thing Bihar's feed gets
    (NOTE, []),
    (TRANSFER, [snapshot(BIHAR, "transfer")]),  # offered to Bihar: it sees the case again
    (cmd.WithdrawTransfer("phone call"), [event(BIHAR)]),
    (TRANSFER, [snapshot(BIHAR, "transfer")]),
    (cmd.AcceptTransfer(), [event(BIHAR)]),
    (NOTE, [event(BIHAR)]),  # Bihar's now, and it came across the border: on its feed
    (
        cmd.Share(Area(JHARKHAND, None), "the gang moves through Jharkhand"),
        [event(BIHAR), snapshot(JHARKHAND, "shared")],
    ),
    (cmd.Share(Area(UP, None), "the first owner keeps watch"), [
        event(BIHAR), event(JHARKHAND), snapshot(UP, "shared")
    ]),
]  # fmt: skip


def test_each_event_of_a_cross_border_case_goes_to_the_feeds_that_see_it(
    registry: Registry,
) -> None:
    history = History(registry)
    for command, expected in LIFE:
        before = history.case
        history.do(command)
        assert deliveries(before, history.now) == expected, command
    assert audience(history.now) == {BIHAR, JHARKHAND, UP}


def test_a_refused_transfer_ends_the_offered_states_view(registry: Registry) -> None:
    history = History(registry).do(OPEN, TRANSFER)
    before = history.case
    history.do(cmd.RefuseTransfer("not ours"))
    assert deliveries(before, history.now) == [event(BIHAR)]
    assert audience(history.now) == set()

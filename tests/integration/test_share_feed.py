"""Partner states' feeds on the real PostgreSQL and Kafka: cases, working cases across the
UP-Bihar border over HTTP, puts on `prahari.share.10` exactly what Bihar may see (the whole
case when Bihar starts seeing it, then its events, up to the share's revocation), nothing of
a case shared with another state and nothing of UP's own cases; the example consumer in
docs/ reads the feed and finds every message valid against the published AsyncAPI schemas.
(The broker's ACLs that keep each state to its own feed: test_kafka_security.py.)"""

from __future__ import annotations

import json
from typing import Any

import pytest
from aiokafka import ConsumerRecord

from prahari_events.kafka import KafkaAccess, Topics
from tests.cases_support import JHARKHAND, KAI_ROOM, KAIMUR, SON_ROOM, Client, do, run_example
from tests.factories import BIHAR, UP
from tests.support import KAFKA, read_topic

pytestmark = pytest.mark.integration


def by_case(records: list[ConsumerRecord[bytes, bytes]]) -> dict[str, list[tuple[str, int]]]:
    """(ce_type, version) of each message, per case, in the order the feed gave them (one
    case's messages share a key, hence a partition, hence an order)."""
    out: dict[str, list[tuple[str, int]]] = {}
    for record in records:
        headers, body = dict(record.headers), json.loads(record.value or b"{}")
        assert headers["ce_subject"].decode() == body["stream_id"] == (record.key or b"").decode()
        out.setdefault(body["stream_id"], []).append(
            (headers["ce_type"].decode(), body["stream_version"])
        )
    return out


def example_env(kafka: KafkaAccess) -> dict[str, str]:
    return {"PRAHARI_KAFKA_BOOTSTRAP": kafka.bootstrap}


async def test_a_partner_states_feed_carries_what_it_may_see_from_the_share_on(
    cases: Client, open_case: Any, topics: Topics
) -> None:
    shared = await open_case()
    await do(cases, shared, "/notes", SON_ROOM, {"text": "before the share: in the snapshot"})
    await do(cases, shared, "/shares", SON_ROOM, {"state": BIHAR, "reason": "बिहार नंबर का ट्रक"})
    await do(cases, shared, "/notes", SON_ROOM, {"text": "कैमूर चेकपोस्ट को सूचना"})
    await do(cases, shared, f"/shares/{BIHAR}", SON_ROOM, method="DELETE")
    await do(cases, shared, "/notes", SON_ROOM, {"text": "after the share: never on the feed"})
    moved = await open_case()
    transfer = {"state": BIHAR, "district": KAIMUR, "reason": "the crossing is in Kaimur"}
    await do(cases, moved, "/transfer", SON_ROOM, transfer)
    await do(cases, moved, "/transfer/acceptance", KAI_ROOM)
    await do(cases, moved, "/notes", KAI_ROOM, {"text": "अब बिहार का मामला"})
    await open_case()  # UP's own: on no feed
    # Last: the feed follows the store's global order, so once this case is on Jharkhand's
    # feed, everything before it has been placed on (or kept off) every feed.
    other = await open_case()
    await do(cases, other, "/shares", SON_ROOM, {"state": JHARKHAND, "reason": "gang route"})

    assert by_case(await read_topic(topics.share(JHARKHAND), at_least=1)) == {
        f"case-{other}": [("case.snapshot", 2)]
    }
    bihar = await read_topic(topics.share(BIHAR), at_least=6)
    assert by_case(bihar) == {
        f"case-{shared}": [
            ("case.snapshot", 3),  # the case as the share left it
            ("case.note_added", 4),
            ("case.share_revoked", 5),  # the last Bihar gets of this case
        ],
        f"case-{moved}": [
            ("case.snapshot", 2),  # the transfer offered: Bihar sees the case
            ("case.transferred", 3),
            ("case.note_added", 4),  # Bihar's own case now, from across the border
        ],
    }
    snapshot = next(json.loads(r.value or b"") for r in bihar if r.key == f"case-{shared}".encode())
    assert snapshot["type"] == "case.snapshot"
    assert snapshot["payload"]["for_state"] == BIHAR
    assert snapshot["payload"]["reason"] == "shared"
    whole = snapshot["payload"]["case"]
    assert whole["case_id"] == snapshot["payload"]["case_id"] == shared
    assert whole["version"] == snapshot["stream_version"] == 3
    assert [n["text"] for n in whole["notes"]] == ["before the share: in the snapshot"]
    assert snapshot["actor"]["unit_id"] == SON_ROOM.unit_id  # who let Bihar in
    assert await read_topic(topics.share(UP), at_least=0, within=1) == []

    summary = await run_example(BIHAR, topics.prefix, example_env(KAFKA))
    assert summary == {
        "topic": topics.share(BIHAR), "cases": 2, "messages": 6, "ignored": 0, "duplicates": 0,
        "invalid": 0, "snapshots": 2, "events": 4, "orphans": 0,
    }  # fmt: skip

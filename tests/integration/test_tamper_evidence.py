"""Tamper evidence: prahari-audit verify finds any edit or deletion of stored history: the
hash chains alone find edits and deletions inside a stream; signed checkpoints find the rest."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from prahari_audit.verify import verify
from prahari_events.checkpoints import Checkpointer, ensure_key
from prahari_events.kafka import Topics
from prahari_events.keys import load_signing_key
from prahari_events.outbox import OutboxRelay
from prahari_events.store import EventStore, chain_hash
from tests.factories import report_draft
from tests.support import DATABASE_URL, published_schema, read_topic

pytestmark = pytest.mark.integration


async def _history(pool: asyncpg.Pool, store: EventStore) -> None:
    for stream in ("case-a", "case-b", "case-c"):
        async with pool.acquire() as conn, conn.transaction():
            await store.append(conn, stream, 0, [report_draft() for _ in range(4)])


async def _run_verify(schema: str, *options: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "prahari_audit.cli",
        "--database-url",
        DATABASE_URL,
        *options,
        "verify",
        "--schema",
        schema,
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ},
    )
    out, _ = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode()


async def _tamper(pool: asyncpg.Pool, sql: str, *args: object) -> None:
    """What someone with the table owner's rights could do behind the application's back."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("ALTER TABLE events DISABLE TRIGGER events_append_only")
        await conn.execute(sql, *args)
        await conn.execute("ALTER TABLE events ENABLE TRIGGER events_append_only")


async def test_intact_history_verifies(pool: asyncpg.Pool, store: EventStore, schema: str) -> None:
    await _history(pool, store)
    code, out = await _run_verify(schema)
    assert code == 0, out
    assert "ok: 12 events in 3 streams" in out


async def test_an_edited_event_is_named(pool: asyncpg.Pool, store: EventStore, schema: str) -> None:
    await _history(pool, store)
    await _tamper(
        pool,
        "UPDATE events SET body = convert_to(replace(convert_from(body, 'UTF8'),"
        " 'अवैध शराब', 'वैध शराब'), 'UTF8') WHERE stream_id = 'case-b' AND stream_version = 2",
    )
    code, out = await _run_verify(schema)
    assert code == 1
    assert out.startswith(f"{schema}: BROKEN: stream case-b version 2")
    assert "edited" in out


async def test_a_deleted_event_is_named(pool: asyncpg.Pool, store: EventStore, schema: str) -> None:
    await _history(pool, store)
    await _tamper(pool, "DELETE FROM events WHERE stream_id = 'case-a' AND stream_version = 3")
    report = await verify(pool)
    assert [(b.stream_id, b.stream_version) for b in report.broken] == [("case-a", 4)]
    assert "version 3 is missing" in report.broken[0].reason


async def test_an_edit_with_a_recomputed_hash_still_breaks_the_chain(
    pool: asyncpg.Pool, store: EventStore
) -> None:
    await _history(pool, store)
    row = await pool.fetchrow(
        "SELECT body, prev_hash FROM events WHERE stream_id = 'case-c' AND stream_version = 2"
    )
    assert row is not None
    forged = row["body"].replace("ट्रक".encode(), "कार".encode())
    await _tamper(
        pool,
        "UPDATE events SET body = $1, hash = $2 WHERE stream_id = 'case-c' AND stream_version = 2",
        forged,
        chain_hash(row["prev_hash"], forged),
    )
    report = await verify(pool)
    assert [(b.stream_id, b.stream_version) for b in report.broken] == [("case-c", 3)]
    assert "prev_hash" in report.broken[0].reason


async def test_columns_that_disagree_with_the_hashed_body_are_found(
    pool: asyncpg.Pool, store: EventStore
) -> None:
    await _history(pool, store)
    await _tamper(
        pool,
        "UPDATE events SET type = 'case.closed' WHERE stream_id = 'case-a' AND stream_version = 1",
    )
    report = await verify(pool)
    assert [(b.stream_id, b.stream_version) for b in report.broken] == [("case-a", 1)]
    assert "type" in report.broken[0].reason


async def test_an_edited_recorded_at_is_found(pool: asyncpg.Pool, store: EventStore) -> None:
    # Moving an event in time (to pass it off as recorded before a deadline) is an edit too.
    await _history(pool, store)
    await _tamper(
        pool,
        "UPDATE events SET recorded_at = recorded_at - interval '1 hour'"
        " WHERE stream_id = 'case-b' AND stream_version = 3",
    )
    report = await verify(pool)
    assert [(b.stream_id, b.stream_version) for b in report.broken] == [("case-b", 3)]
    assert "recorded_at" in report.broken[0].reason


# Signed checkpoints: what a chain cannot show alone.


async def _anchor(
    pool: asyncpg.Pool, topics: Topics, producer: AIOKafkaProducer, key: Ed25519PrivateKey
) -> dict[str, Any] | None:
    """What the cases service does on its schedule: sign a checkpoint and publish it."""
    made = await Checkpointer(
        pool, key, service="cases", topic=topics.checkpoints("cases")
    ).make_once()
    relay = OutboxRelay(pool, producer, schema="-", connect=_no_listener)
    while await relay.relay_once():
        pass
    return made


async def _no_listener() -> asyncpg.Connection:
    raise AssertionError("relay_once needs no listener")


async def _anchored_verify(schema: str, topics: Topics, trust: Path) -> tuple[int, str]:
    return await _run_verify(
        schema, "--cases-schema", schema, "--topic-prefix", topics.prefix, "--trust", str(trust)
    )


@pytest.fixture
def key(tmp_path: Path) -> tuple[Ed25519PrivateKey, Path]:
    trust = tmp_path / "trust.json"
    ensure_key("cases", tmp_path / "cases.pem", trust)
    return load_signing_key(tmp_path / "cases.pem"), trust


async def test_anchored_history_verifies_and_checkpoints_carry_only_changes(
    pool: asyncpg.Pool,
    store: EventStore,
    schema: str,
    topics: Topics,
    producer: AIOKafkaProducer,
    key: tuple[Ed25519PrivateKey, Path],
) -> None:
    await _history(pool, store)
    first = await _anchor(pool, topics, producer, key[0])
    assert first is not None
    assert [h[:2] for h in first["heads"]] == [["case-a", 4], ["case-b", 4], ["case-c", 4]]
    assert await _anchor(pool, topics, producer, key[0]) is None  # nothing new: none made
    async with pool.acquire() as conn, conn.transaction():
        await store.append(conn, "case-b", 4, [report_draft()])
    second = await _anchor(pool, topics, producer, key[0])
    assert second is not None
    assert (second["seq"], second["events"], second["prev"]) == (2, 1, first["digest"])
    assert [h[:2] for h in second["heads"]] == [["case-b", 5]]
    code, out = await _anchored_verify(schema, topics, key[1])
    assert code == 0, out
    assert "ok: 13 events in 3 streams, every hash chain intact; 2 signed checkpoints" in out
    # As docs/asyncapi.yaml describes them.
    validator = published_schema("checkpoint.signed")
    for message in await read_topic(topics.checkpoints("cases"), at_least=2):
        body = json.loads(message.value or b"")
        assert validator.is_valid(body), list(validator.iter_errors(body))[:3]


@pytest.mark.parametrize(
    ("tampering", "named"),
    [
        # A stream's newest events removed: the chain that is left is whole.
        (
            "DELETE FROM events WHERE stream_id = 'case-a' AND stream_version > 2",
            "stream case-a version 3 (event -): versions 3..4 are gone",
        ),
        # A whole stream removed.
        (
            "DELETE FROM events WHERE stream_id = 'case-b'",
            "stream case-b version 1 (event -): the stream is gone",
        ),
    ],
)
async def test_removals_a_chain_cannot_see_are_found_by_the_checkpoints(
    pool: asyncpg.Pool,
    store: EventStore,
    schema: str,
    topics: Topics,
    producer: AIOKafkaProducer,
    key: tuple[Ed25519PrivateKey, Path],
    tampering: str,
    named: str,
) -> None:
    await _history(pool, store)
    await _anchor(pool, topics, producer, key[0])
    await _tamper(pool, tampering)
    assert (await verify(pool)).broken == []  # the chains alone look whole
    code, out = await _anchored_verify(schema, topics, key[1])
    assert code == 1, out
    assert out.startswith(f"{schema}: BROKEN: {named}"), out


async def test_a_recomputed_chain_is_found_by_the_checkpoints(
    pool: asyncpg.Pool,
    store: EventStore,
    schema: str,
    topics: Topics,
    producer: AIOKafkaProducer,
    key: tuple[Ed25519PrivateKey, Path],
) -> None:
    await _history(pool, store)
    await _anchor(pool, topics, producer, key[0])
    # Someone with database access edits version 2 and recomputes every later link.
    rows = await pool.fetch(
        "SELECT stream_version, body, prev_hash FROM events WHERE stream_id = 'case-c'"
        " ORDER BY stream_version"
    )
    prev = rows[0]["prev_hash"]
    for row in rows:
        body = row["body"]
        if row["stream_version"] == 2:
            body = body.replace("ट्रक".encode(), "कार".encode())
        digest = chain_hash(prev, body)
        await _tamper(
            pool,
            "UPDATE events SET body = $1, prev_hash = $2, hash = $3"
            " WHERE stream_id = 'case-c' AND stream_version = $4",
            body,
            prev,
            digest,
            row["stream_version"],
        )
        prev = digest
    assert (await verify(pool)).broken == []  # a whole, recomputed chain
    code, out = await _anchored_verify(schema, topics, key[1])
    assert code == 1, out
    assert out.startswith(f"{schema}: BROKEN: stream case-c version 4"), out
    assert "recomputed" in out


async def test_a_checkpoint_signed_with_an_untrusted_key_is_a_finding(
    pool: asyncpg.Pool,
    store: EventStore,
    schema: str,
    topics: Topics,
    producer: AIOKafkaProducer,
    key: tuple[Ed25519PrivateKey, Path],
) -> None:
    await _history(pool, store)
    # Whoever holds the database cannot sign as the service: a key of their own is not
    # in the auditors' trust file.
    await _anchor(pool, topics, producer, Ed25519PrivateKey.generate())
    code, out = await _anchored_verify(schema, topics, key[1])
    assert code == 1, out
    assert "checkpoint 1: signed with key" in out
    assert "which the trust file does not list" in out

"""Signed checkpoints: anchors for the hash chains outside the database.

A per-stream hash chain shows an edited or deleted event, but not a stream's newest events
removed, a whole stream removed, or a chain recomputed by someone with database access.
So each service, on a schedule, signs what its store holds and publishes it to a topic of
its own: the global position reached and, for every stream that changed since the last
checkpoint, its head (version and hash). Checkpoints chain too (each carries the previous
one's digest), so folding them in order gives every stream's head as of the newest one;
`prahari-audit verify` compares that with the database.

The signature is Ed25519 with a key per service; the public keys are in a trust file that
auditors hold. A checkpoint covers only what was committed before it: an edit made after
the newest checkpoint and hidden by recomputing the chain is found by the next one.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import json
import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from prahari_events.db import Conn
from prahari_events.envelope import iso, utcnow
from prahari_events.errors import ConfigError
from prahari_events.kafka import cloudevent_headers
from prahari_events.keys import (
    key_id,
    load_signing_key,
    trust_entry,
    trusted_keys,
    write_new_key,
)
from prahari_events.outbox import OutboxMessage, enqueue
from prahari_events.registry import canonical_json
from prahari_events.store import AFTER, Position

log = logging.getLogger("prahari.checkpoints")

GENESIS_DIGEST = bytes(32)
FORMAT = 1
# Heads per checkpoint, so one message stays well under Kafka's 1 MB default: a head is
# about 150 bytes. More changes than this make several checkpoints in a row.
MAX_EVENTS = 5000


def signed_part(doc: Mapping[str, Any]) -> bytes:
    """The bytes a signature covers: the document without its signature, canonical."""
    return canonical_json({k: v for k, v in doc.items() if k != "signature"})


def chain_digest(prev: bytes, doc: Mapping[str, Any]) -> bytes:
    """A checkpoint's digest: over the previous digest and everything it states."""
    stated = {k: v for k, v in doc.items() if k not in ("digest", "signature", "kid")}
    return hashlib.sha256(prev + canonical_json(stated)).digest()


@dataclass(frozen=True, slots=True)
class Trust:
    """Per service, the public keys (by id) whose checkpoints count."""

    keys: Mapping[str, Mapping[str, Ed25519PublicKey]]

    @classmethod
    def load(cls, path: str | Path) -> Trust:
        try:
            data = json.loads(Path(path).read_text("utf-8"))
            return cls({service: trusted_keys(keys) for service, keys in data["services"].items()})
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"trust file {path}: {exc}") from exc

    def problem(self, service: str, doc: Mapping[str, Any]) -> str | None:
        """None when the document is signed by a key trusted for `service`."""
        if doc.get("service") != service:
            return f"names service {doc.get('service')!r}, not {service!r}"
        key = self.keys.get(service, {}).get(str(doc.get("kid")))
        if key is None:
            return f"signed with key {doc.get('kid')!r}, which the trust file does not list"
        try:
            key.verify(base64.b64decode(str(doc.get("signature", ""))), signed_part(doc))
        except (InvalidSignature, ValueError):
            return "signature does not verify (forged or altered)"
        return None


class Checkpointer:
    """Makes the service's checkpoints: one every `interval_s` when something changed.

    Only one process of a service makes them at a time (an advisory lock held for the
    transaction), and the checkpoint's row and its outbox row commit together, so the chain
    of checkpoints has no gap and no fork."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        key: Ed25519PrivateKey,
        *,
        service: str,
        topic: str,
        interval_s: float = 60.0,
        max_events: int = MAX_EVENTS,
    ) -> None:
        self._pool = pool
        self._key = key
        self._kid = key_id(key)
        self._service = service
        self._topic = topic
        self._interval_s = interval_s
        self._max_events = max_events
        self._stopping = asyncio.Event()
        self.made = 0

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                while await self.make_once() is not None:
                    pass  # a backlog: catch up before sleeping
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("checkpoint not made, retrying", extra={"fields": {"error": repr(exc)}})
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._interval_s)

    async def make_once(self) -> dict[str, Any] | None:
        """Sign and queue one checkpoint of what changed since the last; None when nothing
        did (or another process holds the maker's lock)."""
        async with self._pool.acquire() as conn, conn.transaction():
            if not await conn.fetchval(
                "SELECT pg_try_advisory_xact_lock(hashtext('checkpoint:' || current_schema()))"
            ):
                return None
            last = await conn.fetchrow(
                "SELECT seq, tx_id::text AS tx, position, digest FROM checkpoints"
                " ORDER BY seq DESC LIMIT 1"
            )
            after = Position(int(last["tx"]), last["position"]) if last else Position.start()
            heads, upto, count = await _changes(conn, after, self._max_events)
            if count == 0:
                return None
            seq = last["seq"] + 1 if last else 1
            prev = bytes(last["digest"]) if last else GENESIS_DIGEST
            doc: dict[str, Any] = {
                "format": FORMAT,
                "service": self._service,
                "seq": seq,
                "upto": str(upto),
                "made_at": iso(utcnow()),
                "events": count,
                "prev": prev.hex(),
                "heads": heads,
            }
            digest = chain_digest(prev, doc)
            doc["digest"] = digest.hex()
            doc["kid"] = self._kid
            doc["signature"] = base64.b64encode(self._key.sign(signed_part(doc))).decode()
            await conn.execute(
                "INSERT INTO checkpoints (seq, tx_id, position, digest, made_at)"
                " VALUES ($1, $2::text::xid8, $3, $4, now())",
                seq,
                str(upto.tx_id),
                upto.position,
                digest,
            )
            event_id = uuid.uuid5(uuid.NAMESPACE_URL, f"prahari:checkpoint:{self._service}:{seq}")
            # A CloudEvent like every message (docs/versioning.md).
            headers = cloudevent_headers(
                id=str(event_id),
                type="checkpoint.signed",
                source=f"/prahari/{self._service}",
                time=iso(utcnow()),
                subject=f"checkpoint-{seq}",
            )
            await enqueue(
                conn,
                [OutboxMessage(event_id, self._topic, self._service, canonical_json(doc), headers)],
            )
        self.made += 1
        return doc


async def _changes(
    conn: Conn, after: Position, limit: int
) -> tuple[list[list[Any]], Position, int]:
    """The heads of the streams that changed after `after`, in stream order, the position
    reached and how many events that covers. Only transactions older than every running one
    are read (as read_all does), so no event can later commit behind the position."""
    rows = await conn.fetch(
        f"SELECT tx_id::text AS tx, position, stream_id, stream_version, hash{AFTER}",
        str(after.tx_id),
        after.position,
        limit,
    )
    heads: dict[str, tuple[int, bytes]] = {}
    for row in rows:
        held = heads.get(row["stream_id"])
        if held is None or row["stream_version"] > held[0]:
            heads[row["stream_id"]] = (row["stream_version"], row["hash"])
    upto = Position(int(rows[-1]["tx"]), rows[-1]["position"]) if rows else after
    return (
        [[stream, version, bytes(h).hex()] for stream, (version, h) in sorted(heads.items())],
        upto,
        len(rows),
    )


@dataclass(frozen=True, slots=True)
class Anchored:
    """What a service's published checkpoints say, folded: every stream's head."""

    checkpoints: int
    upto: str | None
    heads: dict[str, tuple[int, str]]  # stream -> (version, hash hex)
    problems: list[str]  # about the checkpoints themselves: a gap, a fork, a bad signature


def fold(service: str, docs: Sequence[Mapping[str, Any]], trust: Trust) -> Anchored:
    """Check the chain of checkpoints as published, in seq order, and fold their heads.
    A redelivered copy of a checkpoint (the outbox publishes at least once) is skipped."""
    heads: dict[str, tuple[int, str]] = {}
    problems: list[str] = []
    seen: dict[int, str] = {}
    prev = GENESIS_DIGEST
    upto: str | None = None
    count = 0
    for doc in sorted(docs, key=lambda d: int(d.get("seq", 0))):
        seq = int(doc.get("seq", 0))
        bad = trust.problem(service, doc)
        if bad is not None:
            problems.append(f"checkpoint {seq}: {bad}")
            continue
        if seq in seen:
            if seen[seq] != doc["digest"]:
                problems.append(f"checkpoint {seq}: two different checkpoints (a fork)")
            continue
        if seq != count + 1:
            problems.append(f"checkpoint {count + 1}..{seq - 1}: missing from the topic")
        elif bytes.fromhex(doc["prev"]) != prev or chain_digest(prev, doc).hex() != doc["digest"]:
            problems.append(f"checkpoint {seq}: does not follow checkpoint {seq - 1}")
        seen[seq] = doc["digest"]
        prev = bytes.fromhex(doc["digest"])
        count = seq
        upto = doc["upto"]
        for stream, version, hash_hex in doc["heads"]:
            heads[stream] = (int(version), str(hash_hex))
    return Anchored(len(seen), upto, heads, problems)


def ensure_key(service: str, key_path: Path, trust_path: Path) -> str:
    """Make the service's signing key unless it exists (readable by its owner only) and list
    its public half in the trust file; returns the key's id."""
    key = load_signing_key(key_path) if key_path.exists() else write_new_key(key_path)
    trust: dict[str, Any] = {"services": {}}
    if trust_path.exists():
        trust = json.loads(trust_path.read_text("utf-8"))
    listed = trust["services"].setdefault(service, [])
    if not any(k["kid"] == key_id(key) for k in listed):
        listed.append(trust_entry(key))
    trust_path.write_text(json.dumps(trust, indent=1) + "\n", "utf-8")
    return key_id(key)


def keygen_main() -> None:
    """prahari-checkpoint-key --service S --key FILE --trust FILE (development and first
    installs; in production the key is made where the service runs, and only the trust
    entry leaves that machine)."""
    parser = argparse.ArgumentParser(prog="prahari-checkpoint-key", description=keygen_main.__doc__)
    parser.add_argument("--service", required=True)
    parser.add_argument("--key", required=True, type=Path)
    parser.add_argument("--trust", required=True, type=Path)
    args = parser.parse_args()
    print(ensure_key(args.service, args.key, args.trust))

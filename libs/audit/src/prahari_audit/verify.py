"""Walks every stream of an event store and checks its hash chain.

For each stream, in version order: versions run 1, 2, 3 ... with no gap (a deleted event
leaves one); each event's prev_hash is its predecessor's hash; its hash is
SHA-256(prev_hash || body); and the indexed columns, `recorded_at` among them, agree with the
body. Any edit of a stored event's bytes or of its columns, any deletion inside a stream,
and any reordering is found, and the first broken event is named.

What a per-stream chain cannot show on its own: the removal of a stream's newest events, the
removal of a whole stream, or a rewrite of a chain by someone who also recomputes every later
hash. For those the heads are anchored outside the database: the service's signed
checkpoints on Kafka (prahari_events.checkpoints), folded into every stream's head as of the
newest one. Each anchored head must still be in the database with the same hash.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import asyncpg

from prahari_audit.progress import Progress
from prahari_events.checkpoints import Anchored
from prahari_events.envelope import iso
from prahari_events.store import GENESIS, chain_hash


@dataclass(frozen=True, slots=True)
class Broken:
    stream_id: str
    stream_version: int
    event_id: str
    reason: str

    def __str__(self) -> str:
        return (
            f"stream {self.stream_id} version {self.stream_version} (event {self.event_id}):"
            f" {self.reason}"
        )


@dataclass(frozen=True, slots=True)
class Report:
    events: int
    streams: int
    broken: list[Broken]  # the first broken event of each broken stream, in stream order


async def verify(
    pool: asyncpg.Pool,
    *,
    anchored: Anchored | None = None,
    batch: int = 1000,
    progress: Progress | None = None,
) -> Report:
    broken: list[Broken] = []
    heads = anchored.heads if anchored else {}
    seen: set[str] = set()
    events = streams = 0
    current: str | None = None
    expected_version, prev_hash, stream_ok = 1, GENESIS, True

    def end_of(stream: str | None, last_version: int) -> None:
        """The stream ended at `last_version`: did a checkpoint see it longer?"""
        if stream is None or not stream_ok or stream not in heads:
            return
        version, _ = heads[stream]
        if last_version < version:
            broken.append(
                Broken(stream, last_version + 1, "-", f"versions {last_version + 1}..{version}"
                       f" are gone: a signed checkpoint saw the stream at version {version}"
                       " (its newest events were removed)")
            )  # fmt: skip

    async with pool.acquire() as conn, conn.transaction(readonly=True, isolation="repeatable_read"):
        cursor = conn.cursor(
            "SELECT stream_id, stream_version, event_id, type, version, recorded_at, body,"
            " prev_hash, hash FROM events ORDER BY stream_id, stream_version",
            prefetch=batch,
        )
        async for row in cursor:
            events += 1
            if progress is not None:
                progress.advance()
            if row["stream_id"] != current:
                end_of(current, expected_version - 1)
                current, expected_version, prev_hash, stream_ok = row["stream_id"], 1, GENESIS, True
                streams += 1
                seen.add(current)
            if not stream_ok:
                continue
            reason = _problem(row, expected_version, prev_hash) or _unanchored(row, heads)
            if reason is not None:
                broken.append(
                    Broken(row["stream_id"], row["stream_version"], str(row["event_id"]), reason)
                )
                stream_ok = False
                continue
            expected_version += 1
            prev_hash = row["hash"]
        end_of(current, expected_version - 1)
    for stream in sorted(set(heads) - seen):
        version, _ = heads[stream]
        broken.append(
            Broken(stream, 1, "-", f"the stream is gone: a signed checkpoint saw it at version"
                   f" {version} (the whole stream was removed)")
        )  # fmt: skip
    return Report(events, streams, broken)


def _unanchored(row: asyncpg.Record, heads: dict[str, tuple[int, str]]) -> str | None:
    anchor = heads.get(row["stream_id"])
    if anchor is None or anchor[0] != row["stream_version"] or anchor[1] == row["hash"].hex():
        return None
    return (
        "hash differs from the one a signed checkpoint recorded for this version"
        " (the chain was recomputed after an edit, or the event replaced)"
    )


def _problem(row: asyncpg.Record, expected_version: int, prev_hash: bytes) -> str | None:
    if row["stream_version"] != expected_version:
        return f"version {expected_version} is missing (deleted?)"
    if row["prev_hash"] != prev_hash:
        return (
            "prev_hash does not match the previous event's hash (an event was removed or replaced)"
        )
    if chain_hash(row["prev_hash"], row["body"]) != row["hash"]:
        return "content does not match its hash (the event was edited)"
    try:
        body = json.loads(row["body"])
    except ValueError:
        return "body is not JSON"
    columns = {
        "stream_id": row["stream_id"],
        "stream_version": row["stream_version"],
        "event_id": str(row["event_id"]),
        "type": row["type"],
        "version": row["version"],
        "recorded_at": iso(row["recorded_at"]),
    }
    disagreeing = sorted(k for k, v in columns.items() if body.get(k) != v)
    if disagreeing:
        return f"columns disagree with the hashed body: {', '.join(disagreeing)}"
    return None

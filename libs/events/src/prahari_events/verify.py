"""Walks every stream of an event store and checks its hash chain.

For each stream, in version order: versions run 1, 2, 3 ... with no gap (a deleted event
leaves one); each event's prev_hash is its predecessor's hash; its hash is
SHA-256(prev_hash || body); and the indexed columns agree with the body. Any edit of a stored
event's bytes, any deletion inside a stream, and any reordering is found, and the first
broken event is named.

What a per-stream chain cannot show on its own: the removal of a stream's newest events, or a
rewrite of a whole chain by someone who also recomputes every later hash. For those the
chain heads must be anchored elsewhere; the published copy on Kafka is one such anchor.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from prahari_events.db import create_pool
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


async def verify(pool: asyncpg.Pool, *, batch: int = 1000) -> Report:
    broken: list[Broken] = []
    events = streams = 0
    current: str | None = None
    expected_version, prev_hash, stream_ok = 1, GENESIS, True
    async with pool.acquire() as conn, conn.transaction(readonly=True, isolation="repeatable_read"):
        cursor = conn.cursor(
            "SELECT stream_id, stream_version, event_id, type, version, body, prev_hash, hash"
            " FROM events ORDER BY stream_id, stream_version",
            prefetch=batch,
        )
        async for row in cursor:
            events += 1
            if row["stream_id"] != current:
                current, expected_version, prev_hash, stream_ok = row["stream_id"], 1, GENESIS, True
                streams += 1
            if not stream_ok:
                continue
            reason = _problem(row, expected_version, prev_hash)
            if reason is not None:
                broken.append(
                    Broken(row["stream_id"], row["stream_version"], str(row["event_id"]), reason)
                )
                stream_ok = False
                continue
            expected_version += 1
            prev_hash = row["hash"]
    return Report(events, streams, broken)


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
    }
    disagreeing = sorted(k for k, v in columns.items() if body.get(k) != v)
    if disagreeing:
        return f"columns disagree with the hashed body: {', '.join(disagreeing)}"
    return None


async def _main(url: str, schema: str) -> int:
    pool = await create_pool(url, schema, application="prahari-verify", max_size=1)
    try:
        report = await verify(pool)
    finally:
        await pool.close()
    if report.broken:
        print(f"BROKEN: {report.broken[0]}")
        for more in report.broken[1:]:
            print(f"also broken: {more}")
        print(
            f"{len(report.broken)} of {report.streams} streams broken; {report.events} events read"
        )
        return 1
    print(f"ok: {report.events} events in {report.streams} streams, every hash chain intact")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="prahari-verify",
        description="Check every stream's hash chain in a service's event store; exits 1 and "
        "names the first broken event when history was edited or deleted.",
    )
    parser.add_argument("--schema", required=True, help="the service's schema: cases, notify")
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "DATABASE_URL", "postgresql://prahari:prahari@127.0.0.1:54329/prahari"
        ),
    )
    args = parser.parse_args(argv)
    return asyncio.run(_main(args.database_url, args.schema))


if __name__ == "__main__":
    sys.exit(main())

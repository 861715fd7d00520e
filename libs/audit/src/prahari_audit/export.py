"""Export history for people outside the system (a court, the Election Commission), and
check such an export offline.

`export` writes, for the events recorded in a time window (optionally of one state), a JSON
Lines file with each event's stored bytes and its chain hashes, and a CSV for spreadsheets
(UTF-8 with a byte-order mark, so Excel shows Hindi). `verify_export` needs nothing but the
file: each line's hash must be SHA-256(prev_hash || body), consecutive versions of a stream
in the file must chain, and the line's columns must agree with its hashed body.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg

from prahari_audit.progress import Progress
from prahari_events.db import create_pool
from prahari_events.envelope import iso
from prahari_events.store import chain_hash

CSV_COLUMNS = (
    "service",
    "recorded_at",
    "type",
    "stream_id",
    "stream_version",
    "actor",
    "actor_state",
    "state",
    "district",
    "event_id",
    "hash",
)


_WINDOW = (
    " FROM events WHERE recorded_at >= $1 AND recorded_at < $2"
    " AND ($3::integer IS NULL OR"
    "      (convert_from(body, 'UTF8')::jsonb -> 'jurisdiction' ->> 'state')::int = $3)"
)


async def exported(
    url: str,
    schemas: dict[str, str],
    since: datetime,
    until: datetime,
    state: int | None,
    *,
    progress: Progress | None = None,
) -> list[dict[str, Any]]:
    """The window's events of each service (name -> schema), in recorded order per service."""
    lines: list[dict[str, Any]] = []
    for service, schema in schemas.items():
        pool = await create_pool(url, schema, application="prahari-audit", max_size=1)
        try:
            async with (
                pool.acquire() as conn,
                conn.transaction(readonly=True, isolation="repeatable_read"),
            ):
                if progress is not None and progress.shown:  # a count is a scan of its own
                    progress.total += await conn.fetchval(
                        f"SELECT count(*){_WINDOW}", since, until, state
                    )
                async for r in conn.cursor(
                    "SELECT stream_id, stream_version, event_id, type, recorded_at, body,"
                    f" prev_hash, hash{_WINDOW} ORDER BY stream_id, stream_version",
                    since,
                    until,
                    state,
                    prefetch=2000,
                ):
                    lines.append(_line(service, r))
                    if progress is not None:
                        progress.advance()
        except asyncpg.UndefinedTableError:
            pass  # that service has no store here
        finally:
            await pool.close()
    return lines


def _line(service: str, r: asyncpg.Record) -> dict[str, Any]:
    return {
        "service": service,
        "stream_id": r["stream_id"],
        "stream_version": r["stream_version"],
        "event_id": str(r["event_id"]),
        "type": r["type"],
        "recorded_at": iso(r["recorded_at"]),
        "prev_hash": r["prev_hash"].hex(),
        "hash": r["hash"].hex(),
        # The stored bytes themselves (canonical JSON is UTF-8): what the hash covers.
        "body": bytes(r["body"]).decode("utf-8"),
    }


def write(lines: list[dict[str, Any]], out: Path) -> tuple[Path, Path]:
    jsonl, sheet = out.with_suffix(".jsonl"), out.with_suffix(".csv")
    with jsonl.open("w", encoding="utf-8") as handle:
        for line in lines:
            handle.write(json.dumps(line, ensure_ascii=False) + "\n")
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for line in lines:
        body = json.loads(line["body"])
        writer.writerow(
            [
                line["service"],
                line["recorded_at"],
                line["type"],
                line["stream_id"],
                line["stream_version"],
                body["actor"]["unit_id"],
                body["actor"]["state"],
                body["jurisdiction"]["state"],
                body["jurisdiction"]["district"],
                line["event_id"],
                line["hash"],
            ]
        )
    sheet.write_text("\ufeff" + buffer.getvalue(), encoding="utf-8")
    return jsonl, sheet


@dataclass(frozen=True, slots=True)
class Finding:
    line: int
    stream_id: str
    stream_version: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.stream_id} version {self.stream_version}: {self.reason}"


def read_lines(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    with path.open(encoding="utf-8") as handle:
        for number, text in enumerate(handle, start=1):
            if text.strip():
                yield number, json.loads(text)


def verify_export(lines: Iterable[tuple[int, dict[str, Any]]]) -> tuple[int, list[Finding]]:
    """(lines read, findings). Needs nothing but the file."""
    findings: list[Finding] = []
    last: dict[tuple[str, str], tuple[int, str]] = {}  # (service, stream) -> (version, hash)
    count = 0
    for number, line in lines:
        count += 1
        key = (line["service"], line["stream_id"])
        body = line["body"].encode("utf-8")

        def found(reason: str, line: dict[str, Any] = line, number: int = number) -> None:
            findings.append(Finding(number, line["stream_id"], line["stream_version"], reason))

        if chain_hash(bytes.fromhex(line["prev_hash"]), body).hex() != line["hash"]:
            found("content does not match its hash (edited)")
        previous = last.get(key)
        if previous is not None:
            if line["stream_version"] != previous[0] + 1:
                found(f"version {previous[0] + 1} is missing from the export")
            elif line["prev_hash"] != previous[1]:
                found("does not chain to the previous version's hash")
        last[key] = (line["stream_version"], line["hash"])
        decoded = json.loads(body)
        for column in ("stream_id", "stream_version", "event_id", "type", "recorded_at"):
            if decoded.get(column) != line[column]:
                found(f"{column} disagrees with the hashed body")
    return count, findings

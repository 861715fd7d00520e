"""prahari-audit: one command per auditor's question. Human-readable by default, `--json`
for machines; exit 0 when all is well, 1 on any finding (a broken chain, a case that did not
exist), 2 on a usage error.

    prahari-audit [--trust checkpoint-trust.json] verify [--schema cases --schema notify]
    prahari-audit as-of --case ID --at 2024-04-11T14:05:00+05:30
    prahari-audit timeline --case ID | --report ID
    prahari-audit export --from 2024-04-01T00:00+05:30 --to 2024-04-02T00:00+05:30 --out F
    prahari-audit verify-export FILE.jsonl
    prahari-audit replay --service cases | notify

It only reads, as the read-only audit role (its one write: a row in the access log saying who
ran which command). replay's scratch schema lives in a transaction that is rolled back.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import getpass
import json
import os
import sys
import uuid
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import orjson

from prahari_audit import export
from prahari_audit.progress import Progress
from prahari_audit.replay import replay_cases
from prahari_audit.replay_notify import replay_notify
from prahari_audit.timeline import Entry, case_timeline, report_timeline
from prahari_audit.topics import read_whole
from prahari_audit.verify import verify
from prahari_cases.domain.case import replay, stream_for
from prahari_events.catalogue import build_registry
from prahari_events.checkpoints import Anchored, Trust, fold
from prahari_events.db import create_pool
from prahari_events.errors import ConfigError
from prahari_events.kafka import KafkaAccess, Topics
from prahari_events.store import EventStore

# The auditors' role: reads every schema, inserts into the access log and nothing else.
DEFAULT_URL = "postgresql://prahari_audit:prahari_audit@127.0.0.1:54329/prahari"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="prahari-audit", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url", default=os.environ.get("PRAHARI_AUDIT_DATABASE_URL", DEFAULT_URL)
    )
    parser.add_argument("--json", action="store_true", help="one JSON document on stdout")
    parser.add_argument(
        "--auditor-id",
        default=os.environ.get("PRAHARI_AUDITOR_ID") or getpass.getuser(),
        help="who runs the command, for the access log (default: the login name)",
    )
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="a progress line on stderr (default: when stderr is a terminal)",
    )
    parser.add_argument("--cases-schema", default="cases")
    parser.add_argument("--notify-schema", default="notify")
    parser.add_argument(
        "--kafka",
        default=None,
        help="the brokers (default: $PRAHARI_KAFKA_BOOTSTRAP; security from PRAHARI_KAFKA_*)",
    )
    parser.add_argument(
        "--topic-prefix", default=os.environ.get("PRAHARI_TOPIC_PREFIX", ""), help=argparse.SUPPRESS
    )
    parser.add_argument(
        "--trust",
        default=os.environ.get("PRAHARI_AUDIT_TRUST"),
        help="the trust file of the services' checkpoint keys (default: $PRAHARI_AUDIT_TRUST)",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("verify", help="every stream's hash chain, recorded_at included")
    check.add_argument(
        "--schema", action="append", help="a service's schema (default: cases and notify)"
    )
    as_of = commands.add_parser("as-of", help="a case as it stood at a moment, from its events")
    as_of.add_argument("--case", required=True, type=uuid.UUID)
    as_of.add_argument("--at", required=True, type=_moment)
    timeline = commands.add_parser(
        "timeline", help="everything that happened to a report or a case, across services"
    )
    which = timeline.add_mutually_exclusive_group(required=True)
    which.add_argument("--case", type=uuid.UUID)
    which.add_argument("--report", type=uuid.UUID)
    export = commands.add_parser(
        "export", help="a time window's events: JSON Lines with stored bytes and hashes, and CSV"
    )
    export.add_argument("--from", dest="since", required=True, type=_moment)
    export.add_argument("--to", dest="until", required=True, type=_moment)
    export.add_argument("--state", type=int, help="only events of this LGD state")
    export.add_argument("--out", required=True, type=Path, help="writes OUT.jsonl and OUT.csv")
    check = commands.add_parser("verify-export", help="check an export's hashes, offline")
    check.add_argument("file", type=Path)
    rebuild = commands.add_parser(
        "replay", help="rebuild a service's read models from its events and name what differs"
    )
    rebuild.add_argument("--service", required=True, choices=["cases", "notify"])
    return parser


def _moment(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError("give the time with its offset, e.g. +05:30 or Z")
    return moment


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = _parser().parse_args(argv)
    try:
        # The audit principal on an authenticated broker: it reads every topic, writes none.
        access = KafkaAccess.from_environ(os.environ)
        args.kafka = dataclasses.replace(access, bootstrap=args.kafka or access.bootstrap)
    except ConfigError as exc:
        print(f"prahari-audit: {exc}", file=sys.stderr)
        return 2
    try:
        if args.command != "verify-export":  # offline: reads a file, not the stores
            asyncio.run(_record_use(args, argv))
        return asyncio.run(_run(args))
    except (OSError, asyncpg.PostgresError) as exc:
        print(f"prahari-audit: cannot read the stores: {exc}", file=sys.stderr)
        return 2


def verify_alias() -> int:
    """`prahari-verify --schema S` as before: now `prahari-audit verify --schema S`."""
    return main(["verify", *sys.argv[1:]])


async def _record_use(args: argparse.Namespace, argv: Sequence[str]) -> None:
    """Who ran which command, in cases' access log (the auditors' role may insert there and
    nowhere else), before anything is read: a use that cannot be recorded does not run."""
    pool = await create_pool(
        args.database_url, args.cases_schema, application="prahari-audit", max_size=1
    )
    try:
        await pool.execute(
            "INSERT INTO access_log (unit_id, role, kind, what, detail)"
            " VALUES ($1, 'auditor', 'audit_tool', $2, $3)",
            args.auditor_id,
            f"audit.{args.command}",
            {"argv": list(argv)},
        )
    finally:
        await pool.close()


async def _run(args: argparse.Namespace) -> int:
    if args.command == "verify":
        return await _verify(args)
    if args.command == "as-of":
        return await _as_of(args)
    if args.command == "export":
        return await _export(args)
    if args.command == "verify-export":
        return _verify_export(args)
    if args.command == "replay":
        return await _replay(args)
    return await _timeline(args)


async def _export(args: argparse.Namespace) -> int:
    schemas = {"cases": args.cases_schema, "notify": args.notify_schema}
    progress = Progress("export", 0, shown=args.progress)
    try:
        lines = await export.exported(
            args.database_url, schemas, args.since, args.until, args.state, progress=progress
        )
    finally:
        progress.close()
    jsonl, sheet = export.write(lines, args.out)
    _out(
        args,
        {"events": len(lines), "jsonl": str(jsonl), "csv": str(sheet)},
        [f"{len(lines)} events written to {jsonl} and {sheet}"],
    )
    return 0


async def _replay(args: argparse.Namespace) -> int:
    schema = args.cases_schema if args.service == "cases" else args.notify_schema
    # A pool's connection: it carries the services' JSON codecs, which their projection
    # code relies on.
    pool = await create_pool(args.database_url, schema, application="prahari-audit", max_size=1)
    progress = Progress(f"replay {args.service}: reading events", 0, shown=args.progress)
    topics = Topics(args.topic_prefix)
    try:
        async with pool.acquire() as conn:
            if args.service == "cases":
                result = await replay_cases(
                    conn, schema, kafka=args.kafka, reports_topic=topics.reports,
                    progress=progress,
                )  # fmt: skip
            else:
                result = await replay_notify(
                    conn, schema, kafka=args.kafka, case_topic=topics.case_events,
                    progress=progress,
                )  # fmt: skip
    finally:
        progress.close()
        await pool.close()
    found = [str(d) for d in result.differences]
    what = "cases" if args.service == "cases" else "cases' access"
    lines = [f"DIFFERS: {d}" for d in found] or [
        f"ok: {args.service} rebuilt from {result.events} events ({result.cases} {what});"
        " every read-model row matches"
    ]
    _out(args, {"events": result.events, "cases": result.cases, "differences": found}, lines)
    return 1 if found else 0


def _verify_export(args: argparse.Namespace) -> int:
    count, findings = export.verify_export(export.read_lines(args.file))
    lines = [f"BROKEN: {f}" for f in findings] or [
        f"ok: {count} events, every hash and chain link in the export intact"
    ]
    _out(args, {"events": count, "findings": [str(f) for f in findings]}, lines)
    return 1 if findings else 0


def _out(args: argparse.Namespace, document: Any, lines: list[str]) -> None:
    if args.json:
        print(json.dumps(document, ensure_ascii=False, default=str, indent=1))
    else:
        print("\n".join(lines))


async def _anchors(args: argparse.Namespace, service: str | None) -> Anchored | None:
    """The service's signed checkpoints as published on Kafka, checked and folded; None
    without a trust file or for a schema that is no known service's."""
    if args.trust is None or service is None:
        return None
    trust = Trust.load(args.trust)
    topic = Topics(args.topic_prefix).checkpoints(service)
    docs = [orjson.loads(v) for v in await read_whole(args.kafka, topic)]
    anchored = fold(service, docs, trust)
    if not docs and service in trust.keys:
        anchored.problems.append(f"no signed checkpoints on {topic}")
    return anchored


async def _verify(args: argparse.Namespace) -> int:
    services = {args.cases_schema: "cases", args.notify_schema: "notify"}
    schemas = args.schema or [args.cases_schema, args.notify_schema]
    found: list[dict[str, Any]] = []
    lines: list[str] = []
    if args.trust is None:
        print(
            "prahari-audit: warning: no --trust file: a stream's newest events removed, a"
            " stream removed or a chain recomputed cannot be seen",
            file=sys.stderr,
        )
    for schema in schemas:
        anchored = await _anchors(args, services.get(schema))
        pool = await create_pool(args.database_url, schema, application="prahari-audit", max_size=1)
        try:
            progress = Progress(f"verify {schema}", 0, shown=args.progress)
            if progress.shown:  # counting is a scan of its own: only for someone watching
                progress.total = await pool.fetchval("SELECT count(*) FROM events")
            report = await verify(pool, anchored=anchored, progress=progress)
            progress.close()
        finally:
            await pool.close()
        problems = [str(b) for b in report.broken] + (anchored.problems if anchored else [])
        found.append(
            {
                "schema": schema,
                "events": report.events,
                "streams": report.streams,
                "checkpoints": anchored.checkpoints if anchored else None,
                "anchored_upto": anchored.upto if anchored else None,
                "broken": problems,
            }
        )
        anchor = (
            f"; {anchored.checkpoints} signed checkpoints, {len(anchored.heads)} heads anchored"
            if anchored
            else "; not anchored"
        )
        if problems:
            lines.append(f"{schema}: BROKEN: {problems[0]}")
            lines += [f"{schema}: also broken: {more}" for more in problems[1:]]
            lines.append(
                f"{schema}: {len(problems)} findings in {report.streams} streams;"
                f" {report.events} events read{anchor}"
            )
        else:
            lines.append(
                f"{schema}: ok: {report.events} events in {report.streams} streams,"
                f" every hash chain intact{anchor}"
            )
    _out(args, {"schemas": found}, lines)
    return 1 if any(f["broken"] for f in found) else 0


async def _as_of(args: argparse.Namespace) -> int:
    pool = await create_pool(
        args.database_url, args.cases_schema, application="prahari-audit", max_size=1
    )
    try:
        async with pool.acquire() as conn, conn.transaction(readonly=True):
            events = await EventStore(build_registry()).read_stream(
                conn, stream_for(args.case), as_of=args.at
            )
    finally:
        await pool.close()
    case = replay(events)
    if case is None:
        _out(args, {"case_id": str(args.case), "at": args.at, "case": None},
             [f"case {args.case} did not exist at {args.at.isoformat()}"])  # fmt: skip
        return 1
    view = case.to_json()
    assignee = view.get("assignee") or {}
    lines = [
        f"case {view['case_id']} as it stood at {args.at.isoformat()}"
        f" (after {len(events)} events, version {view['version']})",
        f"  status     {view['status']} (level {view['level']})",
        f"  owner      state {view['state']}, district {view['district']}",
        f"  assignee   {assignee.get('unit_id', '-')}",
        "  shares     " + (", ".join(json.dumps(s) for s in view["shares"]) or "-"),
        f"  seizures   {len(view.get('seizures', []))}",
        *(
            f"    {s.get('category')} {s.get('quantity')} {s.get('unit')} ({s.get('agency')})"
            for s in view["seizures"]
        ),
    ]
    _out(args, {"case_id": str(args.case), "at": args.at, "case": view}, lines)
    return 0


async def _timeline(args: argparse.Namespace) -> int:
    if args.report is not None:
        subject = {"report_id": str(args.report)}
        entries = await report_timeline(
            args.database_url,
            args.report,
            kafka=args.kafka,
            reports_topic=Topics(args.topic_prefix).reports,
            cases=args.cases_schema,
            notify=args.notify_schema,
        )
    else:
        subject = {"case_id": str(args.case)}
        entries = await case_timeline(
            args.database_url, args.case, cases=args.cases_schema, notify=args.notify_schema
        )
    if not entries:
        _out(args, {**subject, "entries": []}, [f"nothing found for {subject}"])
        return 1
    _out(args, {**subject, "entries": [e.to_json() for e in entries]}, [_line(e) for e in entries])
    return 0


def _line(e: Entry) -> str:
    who = f"{e.actor} ({e.actor_state if e.actor_state is not None else '-'})"
    return f"{e.at.isoformat(timespec='seconds')}  {e.service:<7} {e.type:<28} {who:<34} {e.what}"


if __name__ == "__main__":
    sys.exit(main())

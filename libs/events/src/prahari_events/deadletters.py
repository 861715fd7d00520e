"""prahari-deadletters: list, inspect and replay the messages consumers could not process.

A dead letter is the original message (value, key, headers) with three more headers: why
(`dlq-reason`, scrubbed of numbers and addresses), which consumer (`dlq-consumer`) and
where it came from (`dlq-source`: topic/partition/offset). `replay` publishes the original
message again to its source topic, with a `dlq-replayed-from` header; consumers record
every event id they process, so a replay, or a second replay, of a message that has since
been processed has no second effect, and one that still cannot be processed is
dead-lettered again with its new reason. Connects with the PRAHARI_KAFKA_* settings (on an
authenticated broker: a principal allowed to write the source topics, the admin).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from prahari_events.errors import ConfigError
from prahari_events.kafka import KafkaAccess, Topics, make_producer, read_records

_OURS = ("dlq-reason", "dlq-consumer", "dlq-source", "dlq-replayed-from")


@dataclass(frozen=True, slots=True)
class DeadLetter:
    offset: int
    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...]

    def header(self, name: str) -> str:
        return dict(self.headers).get(name, b"").decode(errors="replace")

    @property
    def source_topic(self) -> str:
        return self.header("dlq-source").rsplit("/", 2)[0]

    def summary(self) -> dict[str, Any]:
        try:
            body = orjson.loads(self.value)
        except orjson.JSONDecodeError:
            body = None
        doc = body if isinstance(body, dict) else {}
        return {
            "offset": self.offset,
            "consumer": self.header("dlq-consumer"),
            "source": self.header("dlq-source"),
            "type": doc.get("type") or self.header("event-type") or None,
            "event_id": doc.get("event_id") or self.header("event-id") or None,
            "reason": self.header("dlq-reason"),
        }


async def read_all(kafka: KafkaAccess, topic: str) -> list[DeadLetter]:
    """Every dead letter, oldest first (the topic has one partition)."""
    return [
        DeadLetter(m.offset, m.key, m.value or b"", tuple(m.headers))
        for m in await read_records(kafka, topic)
    ]


async def replay(kafka: KafkaAccess, letters: Sequence[DeadLetter], deadletter_topic: str) -> int:
    """Publish each message again to its source topic, as it was first published."""
    producer = make_producer(kafka, "prahari-deadletters")
    await producer.start()
    try:
        for letter in letters:
            if not letter.source_topic:
                raise ConfigError(f"dead letter {letter.offset} names no source topic")
            headers = [(k, v) for k, v in letter.headers if k not in _OURS]
            headers.append(("dlq-replayed-from", f"{deadletter_topic}/0/{letter.offset}".encode()))
            await producer.send_and_wait(
                letter.source_topic, letter.value, key=letter.key, headers=headers
            )
    finally:
        await producer.stop()
    return len(letters)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="prahari-deadletters",
        description="List, inspect and replay the messages consumers could not process.",
    )
    parser.add_argument("--prefix", default=os.environ.get("PRAHARI_TOPIC_PREFIX", ""))
    parser.add_argument("--json", action="store_true", help="JSON instead of a table")
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="every dead letter, oldest first")
    listing.add_argument("--consumer", help="only those of this consumer")
    show = commands.add_parser("show", help="one dead letter whole: headers and body")
    show.add_argument("offset", type=int)
    again = commands.add_parser("replay", help="publish dead letters again to their source")
    again.add_argument("offsets", type=int, nargs="*", help="the dead letters' offsets")
    again.add_argument("--all", action="store_true", help="every dead letter (or --consumer's)")
    again.add_argument("--consumer", help="with --all: only those of this consumer")
    args = parser.parse_args(argv)
    if args.command == "replay" and bool(args.offsets) == args.all:
        parser.error("replay takes offsets or --all, one of the two")
    try:
        return asyncio.run(_run(args))
    except ConfigError as exc:
        print(f"prahari-deadletters: {exc}", file=sys.stderr)
        return 2


async def _run(args: argparse.Namespace) -> int:
    kafka = KafkaAccess.from_environ(os.environ)
    topic = Topics(args.prefix).deadletter
    letters = await read_all(kafka, topic)
    if args.command in ("list", "replay") and args.consumer:
        letters = [d for d in letters if d.header("dlq-consumer") == args.consumer]
    if args.command == "list":
        rows = [d.summary() for d in letters]
        if args.json:
            print(json.dumps(rows, ensure_ascii=False, indent=2))
        else:
            for r in rows:
                print(
                    f"{r['offset']:>6}  {r['consumer']:<20} {r['source']:<36}"
                    f" {r['type'] or '-':<24} {r['reason']}"
                )
            print(f"{len(rows)} dead letter(s)", file=sys.stderr)
        return 0
    by_offset = {d.offset: d for d in letters}
    wanted = [args.offset] if args.command == "show" else args.offsets
    missing = [o for o in wanted if o not in by_offset]
    if missing:
        raise ConfigError(f"no dead letter at offset(s) {missing} of {topic}")
    if args.command == "show":
        letter = by_offset[args.offset]
        try:
            body: Any = orjson.loads(letter.value)
        except orjson.JSONDecodeError:
            body = letter.value.decode(errors="replace")
        doc = {
            **letter.summary(),
            "key": (letter.key or b"").decode(errors="replace"),
            "headers": {k: v.decode(errors="replace") for k, v in letter.headers},
            "body": body,
        }
        print(json.dumps(doc, ensure_ascii=False, indent=2))
        return 0
    chosen = letters if args.all else [by_offset[o] for o in wanted]
    count = await replay(kafka, chosen, topic)
    print(f"replayed {count} dead letter(s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

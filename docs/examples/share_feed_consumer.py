"""A partner state's system reading its Prahari feed: an example to copy, not part of Prahari.

It uses nothing of Prahari's code: a plain Kafka client (aiokafka), the published AsyncAPI
document (docs/asyncapi.yaml) and a JSON Schema validator (jsonschema-rs). For each message on
`prahari.share.<state>` it
- checks the CloudEvents headers (ce_type, ce_id, ce_dataschema) and the body against the
  schema the document publishes for that event type and version;
- skips a message whose ce_id it has seen (the feed is delivered at least once);
- keeps each case as the feed says: a `case.snapshot` gives the whole case at a version, and
  the case's later events follow in order (a real system would apply them; this one counts
  them).

Run it as a state's principal (docs/security.md), e.g. Bihar's, against a development broker:

    eval "$(infra/kafka.sh env state-10)"
    .venv/bin/python docs/examples/share_feed_consumer.py --state 10 --idle-s 5

It prints one line per message and, at the end, a JSON summary; it stops after --idle-s
seconds without a new message (a real consumer would run for ever, in a consumer group).
Exit status 1 if any message broke the published schema.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import ssl
import sys
from pathlib import Path
from typing import Any

import jsonschema_rs
import yaml
from aiokafka import AIOKafkaConsumer

HERE = Path(__file__).resolve().parent


def kafka_options() -> dict[str, Any]:
    """The connection, from the variables `infra/kafka.sh env <principal>` prints."""
    options: dict[str, Any] = {
        "bootstrap_servers": os.environ.get("PRAHARI_KAFKA_BOOTSTRAP", "127.0.0.1:9092")
    }
    if os.environ.get("PRAHARI_KAFKA_SECURITY", "plaintext") == "sasl_ssl":
        password_file = Path(os.environ["PRAHARI_KAFKA_PASSWORD_FILE"])
        options.update(
            security_protocol="SASL_SSL",
            sasl_mechanism="SCRAM-SHA-512",
            sasl_plain_username=os.environ["PRAHARI_KAFKA_USER"],
            sasl_plain_password=password_file.read_text(encoding="utf-8").strip(),
            ssl_context=ssl.create_default_context(cafile=os.environ["PRAHARI_KAFKA_CA"]),
        )
    return options


class Schemas:
    """The body schema of each event type and version, from the AsyncAPI document."""

    def __init__(self, document: dict[str, Any]) -> None:
        self._components = document["components"]
        # ce_dataschema (urn:prahari:event:<type>:v<n>) -> the message's schema name.
        self._by_uri = {
            message["x-dataschema"]: message["payload"]["$ref"].rsplit("/", 1)[1]
            for message in self._components["messages"].values()
            if "x-dataschema" in message  # the versioned events (not access or checkpoints)
        }
        self._validators: dict[str, jsonschema_rs.Draft202012Validator] = {}

    def problems(self, dataschema: str, body: Any) -> list[str]:
        name = self._by_uri.get(dataschema)
        if name is None:
            return [f"no published schema {dataschema}"]
        if name not in self._validators:
            root = {"$ref": f"#/components/schemas/{name}", "components": self._components}
            self._validators[name] = jsonschema_rs.Draft202012Validator(root)
        return [e.message for e in self._validators[name].iter_errors(body)]


async def consume(state: int, prefix: str, schemas: Schemas, idle_s: float, group: str) -> int:
    topic = f"{prefix}prahari.share.{state}"
    consumer = AIOKafkaConsumer(
        topic,
        **kafka_options(),
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    seen: set[str] = set()
    cases: dict[str, dict[str, Any]] = {}  # stream id -> {"version": n, "events": k}
    summary = {
        "messages": 0, "ignored": 0, "duplicates": 0, "invalid": 0, "snapshots": 0,
        "events": 0, "orphans": 0,
    }  # fmt: skip
    try:
        while True:
            batch = await consumer.getmany(timeout_ms=int(idle_s * 1000))
            if not batch:
                break
            for records in batch.values():
                for record in records:
                    summary["messages"] += 1
                    headers = {k: v.decode() for k, v in record.headers}
                    if headers.get("ce_specversion") != "1.0" or "ce_id" not in headers:
                        summary["ignored"] += 1  # not a CloudEvent: not Prahari's to check
                        continue
                    if headers["ce_id"] in seen:
                        summary["duplicates"] += 1
                        continue
                    seen.add(headers["ce_id"])
                    body = json.loads(record.value or b"null")
                    problems = schemas.problems(headers["ce_dataschema"], body)
                    if headers["ce_type"] != body.get("type"):
                        problems.append("ce_type and the body's type differ")
                    if problems:
                        summary["invalid"] += 1
                        print(f"INVALID {headers['ce_type']} {headers['ce_id']}: {problems[:3]}")
                        continue
                    known = cases.get(headers["ce_subject"])
                    if body["type"] == "case.snapshot":
                        summary["snapshots"] += 1
                        cases[headers["ce_subject"]] = {"version": body["stream_version"]}
                    elif known is None:
                        summary["orphans"] += 1  # an event of a case never snapshotted: a bug
                    elif body["stream_version"] > known["version"]:
                        summary["events"] += 1
                        known["version"] = body["stream_version"]
                    print(f"{headers['ce_type']} {headers['ce_subject']} v{body['stream_version']}")
            await consumer.commit()
    finally:
        await consumer.stop()
    print(json.dumps({"topic": topic, "cases": len(cases), **summary}))
    return 1 if summary["invalid"] else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--state", type=int, required=True, help="the state's LGD code")
    parser.add_argument("--prefix", default=os.environ.get("PRAHARI_TOPIC_PREFIX", ""))
    parser.add_argument("--asyncapi", type=Path, default=HERE.parent / "asyncapi.yaml")
    parser.add_argument("--idle-s", type=float, default=5.0)
    parser.add_argument("--group", help="consumer group (default: state-<code>-example)")
    args = parser.parse_args(argv)
    group = args.group or f"{args.prefix}state-{args.state}-example"
    schemas = Schemas(yaml.safe_load(args.asyncapi.read_text(encoding="utf-8")))
    return asyncio.run(consume(args.state, args.prefix, schemas, args.idle_s, group))


if __name__ == "__main__":
    sys.exit(main())

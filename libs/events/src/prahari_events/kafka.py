"""Kafka topics, producers and message headers.

Topics are created explicitly with their settings; the broker refuses auto-creation. The
audit topics keep their history forever. Messages are keyed by stream id, so all events of
one case land on one partition in order.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from prahari_events.envelope import Envelope
from prahari_events.errors import ConfigError

FOREVER = {"retention.ms": "-1", "retention.bytes": "-1", "cleanup.policy": "delete"}


@dataclass(frozen=True, slots=True)
class TopicSpec:
    name: str
    partitions: int
    configs: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Topics:
    """Topic names; a prefix gives each test (or environment) its own set."""

    prefix: str = ""

    @property
    def reports(self) -> str:
        return f"{self.prefix}prahari.intake.reports"

    @property
    def case_events(self) -> str:
        return f"{self.prefix}prahari.cases.events"

    @property
    def notify_events(self) -> str:
        return f"{self.prefix}prahari.notify.events"

    @property
    def intake_replies(self) -> str:
        return f"{self.prefix}prahari.intake.replies"

    @property
    def access(self) -> str:
        """Who read what, from every service's access log."""
        return f"{self.prefix}prahari.access"

    def checkpoints(self, service: str) -> str:
        """A service's signed checkpoints: a topic of its own, one partition, in order."""
        return f"{self.prefix}prahari.{service}.checkpoints"

    def written_by(self, service: str) -> list[str]:
        """The topics a service writes: what it must find replicated before it starts (and
        what a broker's ACLs would let its principal write)."""
        own = {
            "intake": [self.reports, self.intake_replies],
            "cases": [self.case_events, self.access, self.checkpoints("cases")],
            "notify": [self.notify_events, self.access, self.checkpoints("notify")],
        }
        return [*own[service], self.deadletter]

    @property
    def deadletter(self) -> str:
        return f"{self.prefix}prahari.deadletter"

    def specs(self, partitions: int = 3) -> list[TopicSpec]:
        return [
            TopicSpec(self.reports, partitions, FOREVER),
            TopicSpec(self.case_events, partitions, FOREVER),
            TopicSpec(self.notify_events, partitions, FOREVER),
            TopicSpec(self.intake_replies, partitions, FOREVER),
            TopicSpec(self.access, partitions, FOREVER),
            TopicSpec(self.checkpoints("cases"), 1, FOREVER),
            TopicSpec(self.checkpoints("notify"), 1, FOREVER),
            # Dead letters are evidence too: kept until someone has dealt with them.
            TopicSpec(self.deadletter, 1, FOREVER),
        ]


async def create_topics(
    bootstrap: str, specs: Sequence[TopicSpec], *, replication: int = 1, min_insync: int = 1
) -> list[str]:
    """Create the topics that do not exist yet; returns the names created."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="prahari-topics")
    await admin.start()
    created: list[str] = []
    try:
        existing = set(await admin.list_topics())
        wanted = [s for s in specs if s.name not in existing]
        for spec in wanted:
            try:
                configs = {**spec.configs, "min.insync.replicas": str(min_insync)}
                await admin.create_topics(
                    [NewTopic(spec.name, spec.partitions, replication, topic_configs=configs)]
                )
                created.append(spec.name)
            except TopicAlreadyExistsError:
                pass  # another process created it between our listing and our request
    finally:
        await admin.close()
    return created


async def check_replication(bootstrap: str, names: Sequence[str], replication: int) -> None:
    """ConfigError unless every topic exists with at least `replication` replicas in every
    partition: a service refuses to start rather than write to a topic that would lose
    acknowledged events with one broker."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="prahari-check")
    await admin.start()
    try:
        described = await admin.describe_topics(list(names))
    finally:
        await admin.close()
    found = {d["topic"]: d for d in described if d["error_code"] == 0}
    for name in names:
        topic = found.get(name)
        if topic is None:
            raise ConfigError(f"topic {name} does not exist: run prahari-topics")
        fewest = min(len(p["replicas"]) for p in topic["partitions"])
        if fewest < replication:
            raise ConfigError(
                f"topic {name} has {fewest} replica(s), fewer than"
                f" PRAHARI_KAFKA_REPLICATION={replication}"
            )


async def delete_topics(bootstrap: str, names: Sequence[str]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="prahari-topics")
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        doomed = [n for n in names if n in existing]
        if doomed:
            await admin.delete_topics(doomed)
    finally:
        await admin.close()


def make_producer(bootstrap: str, client_id: str) -> AIOKafkaProducer:
    """A durable producer: every write is acknowledged by all in-sync replicas, and the
    broker drops the duplicates of a retried send (idempotence)."""
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        client_id=client_id,
        acks="all",
        enable_idempotence=True,
        linger_ms=1,
        request_timeout_ms=10_000,
    )


def envelope_headers(envelope: Envelope) -> list[tuple[str, bytes]]:
    """Headers a consumer can route and trace by without decoding the body.

    A list, not a tuple: OpenTelemetry's aiokafka instrumentation only injects into lists.
    """
    headers = [
        ("event-type", envelope.type.encode()),
        ("event-version", str(envelope.version).encode()),
        ("event-id", str(envelope.event_id).encode()),
    ]
    headers.extend((key, value.encode()) for key, value in envelope.trace.items())
    return headers


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="prahari-topics", description="Create Prahari's Kafka topics (idempotent)."
    )
    parser.add_argument(
        "--bootstrap", default=os.environ.get("PRAHARI_KAFKA_BOOTSTRAP", "127.0.0.1:9092")
    )
    parser.add_argument("--prefix", default=os.environ.get("PRAHARI_TOPIC_PREFIX", ""))
    parser.add_argument("--partitions", type=int, default=3)
    parser.add_argument(
        "--replication", type=int, default=int(os.environ.get("PRAHARI_KAFKA_REPLICATION", "1"))
    )
    parser.add_argument(
        "--min-insync", type=int, default=int(os.environ.get("PRAHARI_KAFKA_MIN_INSYNC", "1"))
    )
    args = parser.parse_args(argv)
    specs = Topics(args.prefix).specs(args.partitions)
    created = asyncio.run(
        create_topics(
            args.bootstrap, specs, replication=args.replication, min_insync=args.min_insync
        )
    )
    for spec in specs:
        state = "created" if spec.name in created else "exists"
        print(f"{spec.name}\t{state}\tpartitions={spec.partitions}\t{spec.configs}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

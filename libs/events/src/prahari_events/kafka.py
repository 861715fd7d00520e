"""Kafka topics, producers and message headers.

Topics are created explicitly with their settings; the broker refuses auto-creation. The
audit topics keep their history forever. Messages are keyed by stream id, so all events of
one case land on one partition in order.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError, TopicAuthorizationFailedError, for_code
from aiokafka.helpers import create_ssl_context

from prahari_events.catalogue import dataschema_of, source_of
from prahari_events.envelope import Envelope, iso
from prahari_events.errors import ConfigError
from prahari_events.lgd import AGREEMENT_STATES

FOREVER = {"retention.ms": "-1", "retention.bytes": "-1", "cleanup.policy": "delete"}


@dataclass(frozen=True, slots=True)
class KafkaAccess:
    """Where the brokers are and how a client proves who it is: every producer, consumer
    and admin client is made from one of these (`options()`), so none can forget the
    security settings.

    `plaintext` is the development default on loopback. `sasl_ssl` authenticates the client
    as `user` (SCRAM-SHA-512) over TLS, checking the broker's certificate against `ca_file`
    and its name (127.0.0.1 in the certificate infra/kafka.sh makes).
    """

    bootstrap: str = "127.0.0.1:9092"
    security: Literal["plaintext", "sasl_ssl"] = "plaintext"
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_file: str | None = None

    def __post_init__(self) -> None:
        if self.security == "sasl_ssl" and not (self.user and self.password and self.ca_file):
            raise ConfigError("a sasl_ssl Kafka connection needs a user, a password and a CA file")

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> KafkaAccess:
        """PRAHARI_KAFKA_BOOTSTRAP, PRAHARI_KAFKA_SECURITY (plaintext or sasl_ssl), and for
        sasl_ssl PRAHARI_KAFKA_USER, PRAHARI_KAFKA_PASSWORD_FILE (a file, so the password is
        in no process listing or environment dump) and PRAHARI_KAFKA_CA (the CA's PEM)."""
        bootstrap = environ.get("PRAHARI_KAFKA_BOOTSTRAP") or "127.0.0.1:9092"
        security = environ.get("PRAHARI_KAFKA_SECURITY") or "plaintext"
        if security == "plaintext":
            return cls(bootstrap)
        if security != "sasl_ssl":
            raise ConfigError(
                f"PRAHARI_KAFKA_SECURITY must be plaintext or sasl_ssl, got {security!r}"
            )
        missing = [
            name
            for name in ("PRAHARI_KAFKA_USER", "PRAHARI_KAFKA_PASSWORD_FILE", "PRAHARI_KAFKA_CA")
            if not environ.get(name)
        ]
        if missing:
            raise ConfigError(f"PRAHARI_KAFKA_SECURITY=sasl_ssl needs {', '.join(missing)}")
        password_file = environ["PRAHARI_KAFKA_PASSWORD_FILE"]
        try:
            with open(password_file, encoding="utf-8") as f:
                password = f.read().strip()
        except OSError as exc:
            raise ConfigError(
                f"PRAHARI_KAFKA_PASSWORD_FILE: {exc.strerror}: {password_file}"
            ) from None
        return cls(
            bootstrap,
            "sasl_ssl",
            user=environ["PRAHARI_KAFKA_USER"],
            password=password,
            ca_file=environ["PRAHARI_KAFKA_CA"],
        )

    def options(self) -> dict[str, Any]:
        """Keyword arguments for AIOKafkaProducer, AIOKafkaConsumer and AIOKafkaAdminClient."""
        if self.security == "plaintext":
            return {"bootstrap_servers": self.bootstrap}
        return {
            "bootstrap_servers": self.bootstrap,
            "security_protocol": "SASL_SSL",
            "sasl_mechanism": "SCRAM-SHA-512",
            "sasl_plain_username": self.user,
            "sasl_plain_password": self.password,
            "ssl_context": create_ssl_context(cafile=self.ca_file),
        }


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

    def share(self, state: int | str) -> str:
        """The feed of one partner state (LGD code): the events of the cases shared with or
        transferred to it, and nothing else; only that state's principal reads it. (A string
        names the AsyncAPI channel's parameter.)"""
        return f"{self.prefix}prahari.share.{state}"

    @property
    def shares(self) -> list[str]:
        return [self.share(state) for state in AGREEMENT_STATES]

    def written_by(self, service: str) -> list[str]:
        """The topics a service writes: what it must find replicated before it starts (and
        what a broker's ACLs would let its principal write)."""
        own = {
            "intake": [self.reports, self.intake_replies],
            "cases": [self.case_events, self.access, self.checkpoints("cases"), *self.shares],
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
            *(TopicSpec(name, partitions, FOREVER) for name in self.shares),
        ]


async def create_topics(
    kafka: KafkaAccess, specs: Sequence[TopicSpec], *, replication: int = 1, min_insync: int = 1
) -> list[str]:
    """Create the topics that do not exist yet; returns the names created."""
    admin = AIOKafkaAdminClient(**kafka.options(), client_id="prahari-topics")
    await admin.start()
    created: list[str] = []
    try:
        existing = set(await admin.list_topics())
        wanted = [s for s in specs if s.name not in existing]
        if wanted:
            # One request for all of them: a test's or a deployment's topics in one round
            # trip to the controller, not one each. The answer carries an error per topic
            # (aiokafka does not raise them).
            response = await admin.create_topics(
                [
                    NewTopic(
                        s.name,
                        s.partitions,
                        replication,
                        topic_configs={**s.configs, "min.insync.replicas": str(min_insync)},
                    )
                    for s in wanted
                ]
            )
            for name, code, *rest in response.topic_errors:
                if code == 0:
                    created.append(name)
                elif code != TopicAlreadyExistsError.errno:
                    # Another process creating it between our listing and our request is
                    # fine; anything else (a bad setting, a refusal) is not.
                    message = rest[0] if rest and rest[0] else for_code(code).__name__
                    raise ConfigError(f"topic {name} not created: {message}")
        await _until_described(admin, [s.name for s in specs])
    finally:
        await admin.close()
    return created


async def _until_described(admin: AIOKafkaAdminClient, names: list[str]) -> None:
    """Creation is asynchronous: the controller has accepted the topics, the broker that
    answers next may not know them yet. Return when every partition has a leader, so that
    whatever starts next (a service's replication check, a producer) finds them."""
    for _ in range(1500):
        described = await admin.describe_topics(names)
        ready = {
            d["topic"]
            for d in described
            if d["error_code"] == 0 and all(p["leader"] >= 0 for p in d["partitions"])
        }
        if ready >= set(names):
            return
        await asyncio.sleep(0.02)  # usually ready within a few tens of milliseconds
    raise ConfigError(f"topics not ready after 30 s: {sorted(set(names) - ready)}")


async def check_replication(kafka: KafkaAccess, names: Sequence[str], replication: int) -> None:
    """ConfigError unless every topic exists with at least `replication` replicas in every
    partition: a service refuses to start rather than write to a topic that would lose
    acknowledged events with one broker."""
    admin = AIOKafkaAdminClient(**kafka.options(), client_id="prahari-check")
    await admin.start()
    try:
        described = await admin.describe_topics(list(names))
    finally:
        await admin.close()
    found = {d["topic"]: d for d in described if d["error_code"] == 0}
    # An authenticated broker's ACLs do not let this principal write there: a deployment
    # error to name as such, not as a missing topic.
    refused = [
        d["topic"] for d in described if d["error_code"] == TopicAuthorizationFailedError.errno
    ]
    if refused:
        raise ConfigError(
            f"the broker does not authorize {', '.join(sorted(refused))} for this client:"
            " check PRAHARI_KAFKA_USER and the ACLs (docs/security.md)"
        )
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


async def delete_topics(kafka: KafkaAccess, names: Sequence[str]) -> None:
    admin = AIOKafkaAdminClient(**kafka.options(), client_id="prahari-topics")
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        doomed = [n for n in names if n in existing]
        if doomed:
            await admin.delete_topics(doomed)
    finally:
        await admin.close()


async def read_records(
    kafka: KafkaAccess,
    topic: str,
    keep: Callable[[ConsumerRecord[bytes, bytes]], bool] = lambda _: True,
) -> list[ConsumerRecord[bytes, bytes]]:
    """Reading a topic whole: the messages that `keep` accepts, every partition from the
    beginning to the end it had when the read began, partition by partition; an empty list
    for a topic that does not exist. The audit tool reads history with it, and
    prahari-deadletters the dead letters."""
    admin = AIOKafkaAdminClient(**kafka.options())
    await admin.start()
    try:
        described = await admin.describe_topics([topic])
    finally:
        await admin.close()
    partitions = [
        p["partition"] for d in described if d["error_code"] == 0 for p in d["partitions"]
    ]
    if not partitions:
        return []
    consumer = AIOKafkaConsumer(
        **kafka.options(), enable_auto_commit=False, isolation_level="read_committed"
    )
    await consumer.start()
    try:
        assigned = [TopicPartition(topic, p) for p in partitions]
        consumer.assign(assigned)
        await consumer.seek_to_beginning(*assigned)
        ends = await consumer.end_offsets(assigned)
        found: list[ConsumerRecord[bytes, bytes]] = []
        while [tp for tp in assigned if await consumer.position(tp) < ends[tp]]:
            batch = await consumer.getmany(timeout_ms=500, max_records=1000)
            for messages in batch.values():
                found += [m for m in messages if keep(m)]
        return found
    finally:
        await consumer.stop()


def make_producer(kafka: KafkaAccess, client_id: str) -> AIOKafkaProducer:
    """A durable producer: every write is acknowledged by all in-sync replicas, and the
    broker drops the duplicates of a retried send (idempotence)."""
    return AIOKafkaProducer(
        **kafka.options(),
        client_id=client_id,
        acks="all",
        enable_idempotence=True,
        linger_ms=1,
        request_timeout_ms=10_000,
    )


def cloudevent_headers(
    *, id: str, type: str, source: str, time: str, subject: str, dataschema: str | None = None
) -> list[tuple[str, bytes]]:
    """The CloudEvents 1.0 attributes of a message, Kafka binding in binary mode: for
    every message Prahari publishes (events, checkpoints; the access log writes the same
    in SQL, reads.py)."""
    headers = [
        ("ce_specversion", b"1.0"),
        ("ce_id", id.encode()),
        ("ce_type", type.encode()),
        ("ce_source", source.encode()),
        ("ce_time", time.encode()),
        ("ce_subject", subject.encode()),
    ]
    if dataschema is not None:
        headers.append(("ce_dataschema", dataschema.encode()))
    headers.append(("content-type", b"application/json"))
    return headers


def headers_json(headers: Sequence[tuple[str, bytes]]) -> str:
    """Headers as an outbox row keeps them: JSON text of [name, value] pairs (a list of
    pairs would bind as one more dimension of an array)."""
    return json.dumps([[k, v.decode()] for k, v in headers])


def envelope_headers(envelope: Envelope) -> list[tuple[str, bytes]]:
    """Headers a consumer can route and trace by without decoding the body: the CloudEvents
    1.0 Kafka binding in binary mode (the `ce_` attributes; the body, the envelope, is the
    event's data), and the older `event-*` headers, kept until a release that says so
    removes them (docs/versioning.md).

    A list, not a tuple: OpenTelemetry's aiokafka instrumentation only injects into lists.
    """
    headers = cloudevent_headers(
        id=str(envelope.event_id),
        type=envelope.type,
        source=source_of(envelope.type),
        time=iso(envelope.occurred_at),
        subject=envelope.stream_id,
        dataschema=dataschema_of(envelope.type, envelope.version),
    )
    headers += [
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
    parser.add_argument("--prefix", default=os.environ.get("PRAHARI_TOPIC_PREFIX", ""))
    parser.add_argument("--partitions", type=int, default=3)
    parser.add_argument(
        "--replication", type=int, default=int(os.environ.get("PRAHARI_KAFKA_REPLICATION", "1"))
    )
    parser.add_argument(
        "--min-insync", type=int, default=int(os.environ.get("PRAHARI_KAFKA_MIN_INSYNC", "1"))
    )
    args = parser.parse_args(argv)
    # Where the broker is, and as whom: the PRAHARI_KAFKA_* settings every service reads.
    kafka = KafkaAccess.from_environ(os.environ)
    specs = Topics(args.prefix).specs(args.partitions)
    created = asyncio.run(
        create_topics(kafka, specs, replication=args.replication, min_insync=args.min_insync)
    )
    for spec in specs:
        state = "created" if spec.name in created else "exists"
        print(f"{spec.name}\t{state}\tpartitions={spec.partitions}\t{spec.configs}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

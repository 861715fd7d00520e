"""Helpers for tests that use the real Kafka and PostgreSQL started by infra/."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import jsonschema_rs
import requests
import yaml
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from prahari_events import lgd
from prahari_events.auth import TokenIssuer, Unit, dev_issuer, ensure_dev_issuers
from prahari_events.db import connect, drop_schema
from prahari_events.envelope import Envelope
from prahari_events.kafka import (
    KafkaAccess,
    Topics,
    create_topics,
    delete_topics,
    envelope_headers,
    make_producer,
)
from prahari_events.migrations import migrate_service
from prahari_events.registry import Registry
from prahari_intake.config import Settings as IntakeSettings

KAFKA = KafkaAccess(os.environ.get("PRAHARI_KAFKA_BOOTSTRAP", "127.0.0.1:9092"))
DATABASE_URL = os.environ.get(
    "DATABASE_URL", "postgresql://prahari:prahari@127.0.0.1:54329/prahari"
)
# Development token issuers for the tests: one per state and a national one for auditors,
# made once per test run; every service under test trusts them through this file.
_TOKEN_KEYS = Path(tempfile.mkdtemp(prefix="prahari-token-keys-"))
TOKEN_TRUST = str(_TOKEN_KEYS / "trust.json")
ensure_dev_issuers(_TOKEN_KEYS, Path(TOKEN_TRUST), sorted(lgd.load().states))


def role_url(role: str) -> str:
    """The services' own roles (infra/postgres.sh makes them; development passwords are the
    roles' names): the tests run each service as its role, as deployments do, and tamper
    as the owner (DATABASE_URL)."""
    given = os.environ.get(f"PRAHARI_{role.removeprefix('prahari_').upper()}_DATABASE_URL")
    if given:
        return given
    parts = urlsplit(DATABASE_URL)
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(parts._replace(netloc=f"{role}:{role}@{host}"))


INTAKE_URL, CASES_URL, NOTIFY_URL, AUDIT_URL = (
    role_url(f"prahari_{name}") for name in ("intake", "cases", "notify", "audit")
)


async def migrate_for(schema: str, *services: str) -> None:
    """What ./dev does before the services start: prahari-migrate, as the owner."""
    for service in services:
        await migrate_service(DATABASE_URL, service, schema)


T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def eventually(
    probe: Callable[[], Awaitable[T | None]], *, within: float = 30.0, every: float = 0.1
) -> T:
    """Poll until probe returns something other than None; fail after `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        value = await probe()
        if value is not None:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {within} s waiting for {probe}")
        await asyncio.sleep(every)


async def read_topic(
    topic: str, *, at_least: int, within: float = 20.0, kafka: KafkaAccess = KAFKA
) -> list[ConsumerRecord[bytes, bytes]]:
    """Every message on a topic from the beginning, without a consumer group."""
    consumer = AIOKafkaConsumer(
        **kafka.options(), enable_auto_commit=False, isolation_level="read_committed"
    )
    await consumer.start()
    try:
        partitions = await eventually(lambda: _partitions(consumer, topic), within=within)
        consumer.assign([TopicPartition(topic, p) for p in partitions])
        await consumer.seek_to_beginning()
        out: list[ConsumerRecord[bytes, bytes]] = []
        deadline = time.monotonic() + within
        while len(out) < at_least and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=200)
            for messages in batch.values():
                out.extend(messages)
        # A short extra read shows whether more arrived than expected.
        batch = await consumer.getmany(timeout_ms=300)
        for messages in batch.values():
            out.extend(messages)
        return out
    finally:
        await consumer.stop()


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> set[int] | None:
    await consumer._client.force_metadata_update()
    found: set[int] | None = consumer.partitions_for_topic(topic)
    return found or None


def relay_connection(schema: str) -> Callable[[], Awaitable[asyncpg.Connection]]:
    """How an outbox relay under test opens its leadership connection."""
    return lambda: connect(DATABASE_URL, schema, application="tests-relay")


@functools.cache
def issuer_for(state: int | None) -> TokenIssuer:
    """The development issuer of a state (None: the national one, for auditors)."""
    return dev_issuer(_TOKEN_KEYS, state)


def mint(unit: Unit, ttl: timedelta = timedelta(minutes=30), **options: Any) -> str:
    """A token for the unit from its state's issuer (auditors: the national one)."""
    issuer = issuer_for(None if unit.role == "auditor" else unit.state)
    return issuer.mint(unit, ttl, **options)


def bearer(unit: Unit) -> dict[str, str]:
    """An Authorization header for a unit, signed by its state's development issuer."""
    return {"Authorization": f"Bearer {mint(unit)}"}


def filing(unit: Unit, key: str | None = None) -> dict[str, str]:
    """Headers to file a report: the unit's token and an Idempotency-Key (required)."""
    return {**bearer(unit), "Idempotency-Key": key or str(uuid.uuid4())}


def intake_settings(topics: Topics, schema: str, **extra: str) -> IntakeSettings:
    """intake's settings for one test: its own topics and schema."""
    return IntakeSettings.from_env(
        {
            "PRAHARI_TOKEN_TRUST": TOKEN_TRUST,
            "PRAHARI_KAFKA_BOOTSTRAP": KAFKA.bootstrap,
            "DATABASE_URL": INTAKE_URL,
            "PRAHARI_DB_SCHEMA": schema,
            "PRAHARI_TOPIC_PREFIX": topics.prefix,
            "PRAHARI_INTAKE_MAX_BODY_BYTES": "8192",
            **extra,
        }
    )


@contextlib.contextmanager
def service_process(
    module: str, env: dict[str, str], log_path: Path, *, url: str, within: float = 60
) -> Iterator[subprocess.Popen[bytes]]:
    """A service as its own process, ready when /readyz says so; its log in `log_path`.
    For tests that call it synchronously (schemathesis). Its schema is migrated first, by
    prahari-migrate as the owner, as ./dev does; the service runs as its own role."""
    service = module.removeprefix("prahari_")
    subprocess.run(
        [sys.executable, "-m", "prahari_events.migrations", "--service", service,
         "--schema", env["PRAHARI_DB_SCHEMA"], "--database-url", DATABASE_URL],
        check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    env = {**env, "DATABASE_URL": role_url(f"prahari_{service}")}
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", module],
            env={"PATH": os.environ.get("PATH", ""), **env},
            stdout=log,
            stderr=log,
        )
    try:
        deadline = time.monotonic() + within
        while True:
            try:
                if requests.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert process.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, f"{module} did not become ready"
            time.sleep(0.2)
        yield process
    finally:
        process.terminate()
        process.wait(30)


def our_errors(log_path: Path) -> list[str]:
    """ERROR lines of our own loggers (aiokafka logs a transient ERROR while a brand-new
    broker creates its offsets topic; that is not ours)."""
    return [
        line
        for line in log_path.read_text().splitlines()
        if '"level": "ERROR"' in line and '"logger": "prahari.' in line
    ]


@contextlib.contextmanager
def service_under_test(
    name: str, tmp: Path, extra_env: dict[str, str] | None = None
) -> Iterator[tuple[str, Topics]]:
    """One service as its own process on topics and a schema of its own, removed after;
    fails if the service logged an error of ours (a 5xx would have been one)."""
    test_id = uuid.uuid4().hex[:10]
    topics = Topics(f"t{test_id}.")
    schema = f"{name}_{test_id}"
    asyncio.run(create_topics(KAFKA, topics.specs()))
    port = free_port()
    log_path = tmp / f"{name}.log"
    env = {
        "PRAHARI_KAFKA_BOOTSTRAP": KAFKA.bootstrap,
        "DATABASE_URL": DATABASE_URL,
        "PRAHARI_DB_SCHEMA": schema,
        "PRAHARI_TOPIC_PREFIX": topics.prefix,
        "PRAHARI_TOKEN_TRUST": TOKEN_TRUST,
        f"PRAHARI_{name.upper()}_PORT": str(port),
        "PRAHARI_LOG_LEVEL": "WARNING",
        **(extra_env or {}),
    }
    url = f"http://127.0.0.1:{port}"
    try:
        with service_process(f"prahari_{name}", env, log_path, url=url):
            yield url, topics
    finally:
        asyncio.run(_drop(schema, topics))
    assert our_errors(log_path) == []


async def _drop(schema: str, topics: Topics) -> None:
    pool = await asyncpg.create_pool(DATABASE_URL, min_size=1, max_size=1)
    assert pool is not None
    await drop_schema(pool, schema)
    await pool.close()
    await delete_topics(KAFKA, [spec.name for spec in topics.specs()])


async def publish(topic: str, registry: Registry, envelopes: Sequence[Envelope]) -> None:
    """Events onto a topic as the services publish them: keyed by stream, typed headers."""
    producer = make_producer(KAFKA, "tests")
    await producer.start()
    try:
        for envelope in envelopes:
            await producer.send_and_wait(
                topic,
                registry.encode(envelope),
                key=envelope.stream_id.encode(),
                headers=envelope_headers(envelope),
            )
    finally:
        await producer.stop()


def published_schema(message: str) -> Any:
    """A validator of a message's body by the schema docs/asyncapi.yaml publishes for it."""
    path = Path(__file__).resolve().parents[1] / "docs" / "asyncapi.yaml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    root = {"$ref": f"#/components/schemas/{message}", "components": doc["components"]}
    return jsonschema_rs.Draft202012Validator(root)

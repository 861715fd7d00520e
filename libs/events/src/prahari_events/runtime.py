"""What every service process does around its app: logs, traces, the pool and producer
lifecycles (aiohttp cleanup contexts, never import-time globals), and a graceful stop on
SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from typing import Any

import asyncpg
from aiohttp import web
from aiokafka import AIOKafkaProducer
from opentelemetry.sdk.trace import TracerProvider

from prahari_events.checkpoints import Checkpointer
from prahari_events.config import CommonSettings
from prahari_events.consumer import Handler, IdempotentConsumer
from prahari_events.db import Migration, connect, create_pool, require_migrated
from prahari_events.kafka import Topics, check_replication, make_producer
from prahari_events.keys import load_signing_key
from prahari_events.metrics import METRICS
from prahari_events.outbox import OutboxRelay
from prahari_events.registry import Registry
from prahari_events.telemetry import configure_logging
from prahari_events.web import READY_CHECKS, TRACER

log = logging.getLogger("prahari.runtime")

POOL = web.AppKey("pool", asyncpg.Pool)
PRODUCER = web.AppKey("producer", AIOKafkaProducer)
CleanupContext = Callable[[web.Application], AsyncIterator[None]]


def postgres_context(
    common: CommonSettings, service: str, migrations: Sequence[Migration]
) -> CleanupContext:
    """Open the service's pool, check that prahari-migrate brought its schema up to date,
    close the pool at shutdown."""

    async def context(app: web.Application) -> AsyncIterator[None]:
        pool = await create_pool(
            common.database_url,
            common.db_schema,
            application=service,
            max_size=common.db_pool_size,
        )
        try:
            await require_migrated(pool, common.db_schema, migrations, service)
            app[POOL] = pool
            app[READY_CHECKS]["postgres"] = lambda: postgres_ready(pool)
            yield
        finally:
            await pool.close()

    return context


def outbox_relay(app: web.Application, common: CommonSettings, service: str) -> OutboxRelay:
    """The service's outbox relay, with its leadership on a connection of its own, and
    its figures in /metrics: what it published, and what waits and for how long."""
    relay = OutboxRelay(
        app[POOL],
        app[PRODUCER],
        schema=common.db_schema,
        connect=lambda: connect(
            common.database_url, common.db_schema, application=f"{service}-relay"
        ),
    )
    metrics = app[METRICS]
    metrics.add(
        "prahari_outbox_published",
        "Events the outbox relay published (again after a crash counts again)",
        "counter",
        [],
        lambda: {(): float(relay.published)},
    )
    backlog = {"events": 0.0, "age": 0.0}  # the last reading
    metrics.add(
        "prahari_outbox_backlog",
        "Events committed and not yet published",
        "gauge",
        [],
        lambda: {(): backlog["events"]},
    )
    metrics.add(
        "prahari_outbox_oldest_age_seconds",
        "How long the oldest unpublished event has waited (0: none waits)",
        "gauge",
        [],
        lambda: {(): backlog["age"]},
    )

    async def measure() -> None:
        row = await app[POOL].fetchrow(
            "SELECT count(*) AS n, coalesce(extract(epoch FROM now() - min(created_at)), 0)"
            " AS age FROM outbox WHERE published_at IS NULL"
        )
        if row is not None:
            backlog.update(events=float(row["n"]), age=float(row["age"]))

    metrics.probe(measure)
    return relay


def checkpoints(
    app: web.Application, common: CommonSettings, service: str
) -> contextlib.AbstractAsyncContextManager[object]:
    """The service's checkpoint maker for the app's lifetime, when it has a signing key."""
    if common.checkpoint_key_file is None:
        log.warning("no checkpoint key: this service's newest events are not anchored")
        return contextlib.nullcontext()
    maker = Checkpointer(
        app[POOL],
        load_signing_key(common.checkpoint_key_file),
        service=service,
        topic=Topics(common.topic_prefix).checkpoints(service),
        interval_s=common.checkpoint_interval_s,
    )
    return background(app, "checkpoints", maker.run, maker.stop)


def idempotent_consumer(
    app: web.Application,
    common: CommonSettings,
    *,
    name: str,
    topics: Sequence[str],
    registry: Registry,
    handler: Handler,
    deadletter_topic: str,
    wants: frozenset[str] | None = None,
    batch: bool = False,
) -> IdempotentConsumer:
    """A consumer on the app's pool, producer (for dead letters) and tracer, its figures in
    /metrics."""
    consumer = IdempotentConsumer(
        name=name,
        topics=topics,
        kafka=common.kafka,
        pool=app[POOL],
        registry=registry,
        handler=handler,
        producer=app[PRODUCER],
        deadletter_topic=deadletter_topic,
        tracer=app[TRACER],
        wants=wants,
        batch=batch,
    )
    metrics = app[METRICS]
    metrics.add(
        "prahari_consumer_messages",
        "Messages a consumer took, processed (or recognised as done) or dead-lettered",
        "counter",
        ["consumer", "outcome"],
        lambda: {
            (consumer.name, "processed"): float(consumer.processed),
            (consumer.name, "dead_lettered"): float(consumer.dead_lettered),
        },
    )
    metrics.add(
        "prahari_consumer_lag",
        "Messages on a partition not yet taken by the consumer (at its last fetch)",
        "gauge",
        ["consumer", "topic", "partition"],
        lambda: {
            (consumer.name, topic, str(partition)): float(lag)
            for (topic, partition), lag in consumer.lag.items()
        },
    )
    return consumer


def producer_context(
    common: CommonSettings, service: str, writes: Sequence[str] = ()
) -> CleanupContext:
    """The service's producer for the app's lifetime; first, the topics it `writes` must
    have the replicas configured, or the service does not start."""

    async def context(app: web.Application) -> AsyncIterator[None]:
        await check_replication(common.kafka, writes, common.kafka_replication)
        producer = make_producer(common.kafka, service)
        await producer.start()
        try:
            app[PRODUCER] = producer
            app[READY_CHECKS]["kafka"] = lambda: kafka_ready(producer)
            yield
        finally:
            await producer.stop()  # flushes what is in flight

    return context


async def kafka_ready(producer: AIOKafkaProducer) -> None:
    await producer.client.fetch_all_metadata()


async def postgres_ready(pool: asyncpg.Pool) -> None:
    await pool.fetchval("SELECT 1")


@contextlib.asynccontextmanager
async def background(
    app: web.Application,
    name: str,
    run: Callable[[], Coroutine[Any, Any, None]],
    stop: Callable[[], None],
    *,
    grace_s: float = 10,
    restart_s: tuple[float, float] = (0.5, 30.0),
) -> AsyncIterator[asyncio.Task[None]]:
    """Run a loop for the app's lifetime, restarting it with backoff (`restart_s`: first
    and longest wait) when it fails, so that a database or broker outage the loop did not
    expect cannot leave the process half-alive; /readyz is red only while the loop is down.
    On shutdown, ask it to stop, give it time to finish what it holds, and then cancel it."""
    stopping = asyncio.Event()
    down: list[BaseException] = []

    async def supervise() -> None:
        wait = restart_s[0]
        while True:
            started = time.monotonic()
            try:
                await run()
                return  # it stopped because it was asked to
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if stopping.is_set():
                    return
                down[:] = [exc]
                if time.monotonic() - started > restart_s[1]:
                    wait = restart_s[0]  # it ran well for a while: a new outage
                log.error(
                    "background task died; restarting",
                    exc_info=exc,
                    extra={"fields": {"task": name, "restart_in_s": wait}},
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stopping.wait(), wait)
                if stopping.is_set():
                    return
                wait = min(wait * 2, restart_s[1])
                down.clear()

    task = asyncio.create_task(supervise(), name=name)
    if METRICS in app:
        app[METRICS].add(
            "prahari_background_up",
            "1 while a background loop runs, 0 while it waits to restart or has stopped",
            "gauge",
            ["task"],
            lambda: {(name,): 0.0 if down or task.done() else 1.0},
        )

    async def alive() -> None:
        if task.done():
            raise RuntimeError(f"{name} is not running")
        if down:
            raise RuntimeError(f"{name} is restarting after: {down[0]!r}")

    app[READY_CHECKS][name] = alive
    try:
        yield task
    finally:
        stopping.set()
        stop()
        try:
            await asyncio.wait_for(asyncio.shield(task), grace_s)
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def serve(
    app: web.Application, settings: CommonSettings, service: str, provider: TracerProvider
) -> None:
    configure_logging(service, settings.log_level)
    log.info(
        "starting",
        extra={"fields": {"host": settings.http_host, "port": settings.http_port}},
    )
    try:
        # run_app turns SIGTERM and SIGINT into a graceful exit: stop accepting requests,
        # finish in-flight ones, then run the cleanup contexts in reverse order.
        web.run_app(
            app,
            host=settings.http_host,
            port=settings.http_port,
            shutdown_timeout=15,
            access_log=None,
            print=None,
        )
    finally:
        provider.shutdown()
        log.info("stopped")

"""notify's HTTP API, its app factory, and its background consumer, dispatchers, sweeper
and relay."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Any

import aiohttp
from aiohttp import web
from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema
from opentelemetry.trace import Tracer

from prahari_events import lgd, policy
from prahari_events.auth import Unit
from prahari_events.catalogue import build_registry
from prahari_events.db import event_store_migrations, package_migrations
from prahari_events.envelope import utcnow
from prahari_events.errors import NotFound
from prahari_events.kafka import Topics
from prahari_events.metrics import METRICS
from prahari_events.reads import READS, AccessLog
from prahari_events.runtime import (
    POOL,
    background,
    checkpoints,
    idempotent_consumer,
    outbox_relay,
    postgres_context,
    producer_context,
)
from prahari_events.store import EventStore
from prahari_events.units import UnitDirectory, load_units
from prahari_events.web import (
    TRACER,
    Moment,
    Rule,
    authenticate,
    base_app,
    json_response,
    load_input,
    parse_json_object,
)
from prahari_events.webhooks import check_signature
from prahari_notify.adapters import store
from prahari_notify.adapters.providers import HttpSmsGateway, Provider, SmtpSender
from prahari_notify.config import Settings
from prahari_notify.domain.breaker import Breaker
from prahari_notify.domain.notification import RetryPolicy
from prahari_notify.domain.routing import RoutingTable, load_routes
from prahari_notify.entrypoints import openapi
from prahari_notify.service_layer.dispatcher import ChannelDispatcher, Notifications
from prahari_notify.service_layer.handlers import NotifyHandlers, Outbox, stream_for
from prahari_notify.service_layer.receipts import Receipts
from prahari_notify.service_layer.sweeper import Sweeper

SETTINGS = web.AppKey("settings", Settings)
STORE = web.AppKey("store", EventStore)
TOPICS = web.AppKey("topics", Topics)
UNITS = web.AppKey("units", UnitDirectory)
PLACES = web.AppKey("places", lgd.Directory)
ROUTES = web.AppKey("routes", RoutingTable)
Clock = Callable[[], datetime]
CLOCK: web.AppKey[Clock] = web.AppKey("clock")
RECEIPTS = web.AppKey("receipts", Receipts)
BREAKERS: web.AppKey[dict[str, Breaker]] = web.AppKey("breakers")
# The running parts, for operators' tools and tests that drive them directly.
HANDLERS = web.AppKey("handlers", NotifyHandlers)
SWEEPER = web.AppKey("sweeper", Sweeper)
DISPATCHERS: web.AppKey[list[ChannelDispatcher]] = web.AppKey("dispatchers")
OPENAPI = web.AppKey("openapi", dict[str, Any])


class _Query(Schema):
    class Meta:
        unknown = RAISE

    case_id = fields.UUID(load_default=None)
    state = fields.String(load_default=None, validate=validate.OneOf(["failed", "expired"]))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))

    @validates_schema
    def _one_of(self, data: dict[str, Any], **_: Any) -> None:
        if (data.get("case_id") is None) == (data.get("state") is None):
            raise ValidationError(Rule("give case_id or state"), "case_id")


class _Receipt(Schema):
    class Meta:
        unknown = RAISE

    reference = fields.UUID(required=True)
    id = fields.String(required=True, allow_none=True, validate=validate.Length(max=200))
    status = fields.String(required=True, validate=validate.OneOf(["delivered", "failed"]))
    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))
    at = Moment(required=True)


_QUERY = _Query()  # built once: schemas are reusable, and costly to build
_RECEIPT = _Receipt()


def _shown(unit: Unit, found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if unit.role == "reporter":
        # A station may see that the control room was told; not its phone or address.
        return [{k: v for k, v in n.items() if k != "address"} for n in found]
    return found


async def list_notifications(request: web.Request) -> web.Response:
    unit = authenticate(request)
    query = load_input(_QUERY, dict(request.query), "invalid query")
    pool = request.app[POOL]
    if query["state"] is not None:
        # What never arrived, of the cases this unit may see (the shared policy decides).
        keys = None if policy.is_auditor(unit) else policy.unit_keys(unit)
        rows = await store.unarrived(pool, query["state"], keys, query["limit"])
        await request.app[READS].record(
            pool, unit, "notifications.list", detail={"state": query["state"], "count": len(rows)}
        )
        return json_response({"state": query["state"], "notifications": _shown(unit, rows)})
    case_id: uuid.UUID = query["case_id"]
    # The shared policy, over notify's own projection of the case: a case the unit may not
    # see does not exist here either.
    known = await store.access_of(pool, case_id)
    if known is None or not policy.may_read(unit, known[1]):
        raise NotFound("no such case")
    found = await store.deliveries(pool, case_id)
    await request.app[READS].record(pool, unit, "case.notifications", case_id=case_id)
    return json_response({"case_id": str(case_id), "notifications": _shown(unit, found)})


async def notification_events(request: web.Request) -> web.Response:
    """A notification's history (queued, sent, delivered ...), for whoever may see its case."""
    unit = authenticate(request)
    try:
        notification_id = uuid.UUID(request.match_info["notification_id"])
    except ValueError:
        raise NotFound("no such notification") from None
    pool = request.app[POOL]
    case_id = await store.case_of(pool, notification_id)
    known = await store.access_of(pool, case_id) if case_id else None
    if known is None or not policy.may_read(unit, known[1]):
        raise NotFound("no such notification")
    events = await request.app[STORE].read_stream(pool, stream_for(notification_id))
    await request.app[READS].record(
        pool, unit, "notification.events", case_id=case_id, detail={"id": str(notification_id)}
    )
    shown = [e.to_json() for e in events]
    if unit.role == "reporter":
        for event in shown:  # not the control room's phone or address
            event["payload"].pop("recipient", None)
    return json_response({"notification_id": str(notification_id), "events": shown})


async def get_openapi(request: web.Request) -> web.Response:
    return json_response(request.app[OPENAPI])


async def sms_receipt(request: web.Request) -> web.Response:
    """The SMS gateway's delivery report; signed by the gateway, not a unit's token."""
    settings = request.app[SETTINGS]
    if settings.receipt_secret is None:
        raise NotFound("delivery receipts are not configured")
    raw = await request.read()
    check_signature(
        settings.receipt_secret.encode(),
        timestamp=request.headers.get("X-Prahari-Timestamp", ""),
        given=request.headers.get("X-Prahari-Signature", ""),
        body=raw,
        now=request.app[CLOCK](),
        skew_s=settings.receipt_skew_s,
    )
    receipt = load_input(_RECEIPT, parse_json_object(raw), "invalid receipt")
    added = await request.app[RECEIPTS].apply(receipt)
    return json_response({"applied": [t for t, _ in added]})


def _providers(settings: Settings, session: aiohttp.ClientSession) -> dict[str, list[Provider]]:
    def gateway(name: str, url: str) -> Provider:
        return HttpSmsGateway(
            name,
            session,
            url,
            sender_id=settings.sms_sender_id,
            entity_id=settings.dlt_entity_id,
            timeout_s=settings.provider_timeout_s,
        )

    sms = [gateway("sms-primary", settings.sms_gateway_url)]
    if settings.sms_fallback_url:
        sms.append(gateway("sms-fallback", settings.sms_fallback_url))
    timeout = settings.provider_timeout_s
    email: list[Provider] = [
        SmtpSender(
            "smtp-primary",
            settings.smtp_host,
            settings.smtp_port,
            settings.mail_from,
            timeout_s=timeout,
        )
    ]
    if settings.smtp_fallback:
        host, port = settings.smtp_fallback
        email.append(SmtpSender("smtp-fallback", host, port, settings.mail_from, timeout_s=timeout))
    return {"sms": sms, "email": email}


async def _workers(app: web.Application) -> AsyncIterator[None]:
    settings, topics, store_ = app[SETTINGS], app[TOPICS], app[STORE]
    pool, tracer, clock = app[POOL], app[TRACER], app[CLOCK]
    outbox = Outbox(store_, topics.notify_events, clock)
    handlers = NotifyHandlers(
        outbox,
        app[ROUTES],
        app[UNITS],
        app[PLACES],
        digest_window_s=settings.digest_window_s,
        clock=clock,
    )
    notifications = Notifications(pool, store_, topics.notify_events)
    app[RECEIPTS] = Receipts(notifications)
    retry = RetryPolicy(settings.retry_base_s, settings.retry_cap_s, settings.max_attempts)
    breakers: dict[str, Breaker] = app[BREAKERS]
    async with aiohttp.ClientSession() as session:
        by_channel = _providers(settings, session)
        dispatchers = [
            ChannelDispatcher(
                pool,
                notifications,
                channel,
                providers,
                retry=retry,
                breakers=breakers,
                concurrency=settings.sms_concurrency
                if channel == "sms"
                else settings.email_concurrency,
                lease_s=settings.lease_s,
                poll_s=settings.dispatch_poll_s,
                tracer=tracer,
                clock=clock,
            )
            for channel, providers in by_channel.items()
        ]
        for d in dispatchers:
            for p in d.provider_names:
                breakers.setdefault(
                    p, Breaker(settings.breaker_threshold, settings.breaker_cooldown_s)
                )
        sweeper = Sweeper(
            pool,
            notifications,
            outbox,
            app[ROUTES],
            app[UNITS],
            digest_window_s=settings.digest_window_s,
            every_s=settings.sweep_s,
            clock=clock,
            # Without delivery reports, an SMS the gateway took is as delivered as it gets.
            sms_receipts=settings.receipt_secret is not None,
        )

        def wake() -> None:
            for d in dispatchers:
                d.wake()

        sweeper.on_queued = wake
        _measure(app, dispatchers)
        app[HANDLERS], app[SWEEPER], app[DISPATCHERS] = handlers, sweeper, dispatchers
        relay = outbox_relay(app, settings.common, "notify")
        consumer = idempotent_consumer(
            app,
            settings.common,
            name=settings.consumer_group,
            topics=[topics.case_events, topics.intake_replies],
            registry=store_.registry,
            handler=handlers,
            deadletter_topic=topics.deadletter,
            wants=handlers.wants,
            # One transaction per fetch: notify's effects on different cases never lock
            # against each other, and a commit per event was its costliest part.
            batch=True,
        )
        async with (
            background(app, "outbox-relay", relay.run, relay.stop),
            checkpoints(app, settings.common, "notify"),
            background(app, "dispatch-sms", dispatchers[0].run, dispatchers[0].stop),
            background(app, "dispatch-email", dispatchers[1].run, dispatchers[1].stop),
            background(app, "sweeper", sweeper.run, sweeper.stop),
            background(app, "consumer", consumer.run, consumer.stop),
        ):
            yield
        for providers in by_channel.values():
            for provider in providers:
                await provider.close()


def _measure(app: web.Application, dispatchers: list[ChannelDispatcher]) -> None:
    """notify's figures in /metrics: every provider attempt's outcome, and how many
    notifications stand in each state."""
    metrics = app[METRICS]

    def attempts(d: ChannelDispatcher) -> Callable[[], dict[tuple[str, ...], float]]:
        return lambda: {(d.channel, p, kind): float(n) for (p, kind), n in d.outcomes.items()}

    for d in dispatchers:
        metrics.add(
            "prahari_notify_attempts",
            "Provider attempts by channel, provider and outcome (accepted, failed, ...)",
            "counter",
            ["channel", "provider", "outcome"],
            attempts(d),
        )
    states: dict[tuple[str, ...], float] = {}
    metrics.add(
        "prahari_notifications",
        "Notifications by channel and state (queued, sent, delivered, failed, expired)",
        "gauge",
        ["channel", "state"],
        lambda: dict(states),
    )

    async def count() -> None:
        rows = await app[POOL].fetch(
            "SELECT channel, status, count(*) AS n FROM deliveries GROUP BY channel, status"
        )
        states.clear()
        states.update({(r["channel"], r["status"]): float(r["n"]) for r in rows})

    metrics.probe(count)


def create_app(
    settings: Settings, tracer: Tracer, *, clock: Callable[[], datetime] = utcnow
) -> web.Application:
    common = settings.common
    app = base_app("notify", common, tracer, max_body=16 * 1024)
    app[SETTINGS] = settings
    app[STORE] = EventStore(build_registry())
    app[TOPICS] = Topics(common.topic_prefix)
    app[READS] = AccessLog("notify", app[TOPICS].access)
    app[CLOCK] = clock
    app[BREAKERS] = {}
    # Fail at start, not at the first case, when the directory or routes are wrong.
    app[PLACES] = lgd.load()
    app[UNITS] = load_units(settings.directory_path, app[PLACES])
    app[ROUTES] = load_routes(settings.routes_path)
    migrations = event_store_migrations() + package_migrations("prahari_notify", "notify")
    app.cleanup_ctx.extend(
        [
            postgres_context(common, "notify", migrations),
            producer_context(common, "notify", writes=app[TOPICS].written_by("notify")),
            _workers,
        ]
    )
    app.router.add_get("/v1/notifications", list_notifications)
    app.router.add_get("/v1/notifications/{notification_id}/events", notification_events)
    app.router.add_post("/v1/receipts/sms", sms_receipt)
    app[OPENAPI] = openapi.build(_QUERY, _RECEIPT)
    app.router.add_get("/v1/openapi.json", get_openapi)
    return app

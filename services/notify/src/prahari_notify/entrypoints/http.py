"""notify's HTTP API, its app factory, and its background consumer, dispatcher and relay."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web
from marshmallow import RAISE, Schema, fields
from opentelemetry.trace import Tracer

from prahari_events import lgd, policy
from prahari_events.auth import TokenAuthority
from prahari_events.catalogue import build_registry
from prahari_events.db import event_store_migrations, package_migrations
from prahari_events.errors import NotFound
from prahari_events.kafka import Topics
from prahari_events.runtime import (
    POOL,
    background,
    idempotent_consumer,
    outbox_relay,
    postgres_context,
    producer_context,
)
from prahari_events.sms import HttpSmsGateway, SmsTemplate
from prahari_events.store import EventStore
from prahari_events.web import TRACER, authenticate, base_app, json_response, load_input
from prahari_notify.adapters import store
from prahari_notify.adapters.directory import load_directory
from prahari_notify.adapters.providers import Provider, SmsSender, SmtpSender
from prahari_notify.config import Settings
from prahari_notify.domain.messages import ContactDirectory
from prahari_notify.service_layer.dispatcher import Dispatcher
from prahari_notify.service_layer.handlers import NotifyHandlers, stream_for

SETTINGS = web.AppKey("settings", Settings)
STORE = web.AppKey("store", EventStore)
TOPICS = web.AppKey("topics", Topics)
CONTACTS = web.AppKey("contacts", ContactDirectory)
PLACES = web.AppKey("places", lgd.Directory)

# The DLT-registered templates. Their text must match what is registered, to the letter.
TEMPLATE_TEXT = {
    "en": "PRAHARI ALERT: New {#var#} case {#var#} in {#var#}. Assign by {#var#}. -Prahari",
    "hi": "प्रहरी सूचना: {#var#} में नया {#var#} मामला {#var#}। {#var#} तक आवंटित करें।",
}


class _Query(Schema):
    class Meta:
        unknown = RAISE

    case_id = fields.UUID(required=True)


_QUERY = _Query()  # built once: schemas are reusable, and costly to build


async def list_notifications(request: web.Request) -> web.Response:
    unit = authenticate(request)
    query = load_input(_QUERY, dict(request.query), "invalid query")
    case_id: uuid.UUID = query["case_id"]
    # The shared policy, over notify's own projection of the case: a case the unit may not
    # see does not exist here either.
    known = await store.access_of(request.app[POOL], case_id)
    if known is None or not policy.may_read(unit, known[1]):
        raise NotFound("no such case")
    found = await store.deliveries(request.app[POOL], case_id)
    if unit.role == "reporter":
        # A station may see that the control room was told; not its phone or address.
        found = [{k: v for k, v in n.items() if k != "address"} for n in found]
    return json_response({"case_id": str(case_id), "notifications": found})


async def notification_events(request: web.Request) -> web.Response:
    """A notification's history (queued, sent, failed ...), for whoever may see its case."""
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
    shown = [e.to_json() for e in events]
    if unit.role == "reporter":
        for event in shown:  # not the control room's phone or address
            event["payload"].pop("recipient", None)
    return json_response({"notification_id": str(notification_id), "events": shown})


async def _workers(app: web.Application) -> AsyncIterator[None]:
    settings, topics, store = app[SETTINGS], app[TOPICS], app[STORE]
    pool, tracer = app[POOL], app[TRACER]
    templates = {
        "en": SmsTemplate(settings.sms_template_en, "en", TEMPLATE_TEXT["en"]),
        "hi": SmsTemplate(settings.sms_template_hi, "hi", TEMPLATE_TEXT["hi"]),
    }
    handlers = NotifyHandlers(store, topics.notify_events, app[CONTACTS], app[PLACES], templates)
    async with aiohttp.ClientSession() as session:
        providers: dict[str, Provider] = {
            "sms": SmsSender(
                HttpSmsGateway(
                    session,
                    settings.sms_gateway_url,
                    sender_id=settings.sms_sender_id,
                    entity_id=settings.dlt_entity_id,
                )
            ),
            "email": SmtpSender(settings.smtp_host, settings.smtp_port, settings.mail_from),
        }
        relay = outbox_relay(app, settings.common, "notify")
        dispatcher = Dispatcher(
            pool,
            store,
            providers,
            topic=topics.notify_events,
            tracer=tracer,
            max_attempts=settings.max_attempts,
            retry_base_s=settings.retry_base_s,
            poll_s=settings.dispatch_poll_s,
        )
        consumer = idempotent_consumer(
            app,
            settings.common,
            name=settings.consumer_group,
            topics=[topics.case_events],
            registry=store.registry,
            handler=handlers,
            deadletter_topic=topics.deadletter,
            wants=NotifyHandlers.WANTS,
        )
        async with (
            background(app, "outbox-relay", relay.run(), relay.stop),
            background(app, "dispatcher", dispatcher.run(), dispatcher.stop),
            background(app, "consumer", consumer.run(), consumer.stop),
        ):
            yield


def create_app(settings: Settings, tracer: Tracer) -> web.Application:
    common = settings.common
    app = base_app("notify", TokenAuthority(common.token_secret), tracer, max_body=16 * 1024)
    app[SETTINGS] = settings
    app[STORE] = EventStore(build_registry())
    app[TOPICS] = Topics(common.topic_prefix)
    # Fail at start, not at the first case, when the directory is missing or malformed.
    app[PLACES] = lgd.load()
    app[CONTACTS] = load_directory(settings.directory_path, app[PLACES])
    migrations = event_store_migrations() + package_migrations("prahari_notify", "notify")
    app.cleanup_ctx.extend(
        [
            postgres_context(common, "notify", migrations),
            producer_context(common, "notify"),
            _workers,
        ]
    )
    app.router.add_get("/v1/notifications", list_notifications)
    app.router.add_get("/v1/notifications/{notification_id}/events", notification_events)
    return app

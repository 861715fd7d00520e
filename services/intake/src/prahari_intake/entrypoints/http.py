"""intake's HTTP API, its app factory, and the consumers that keep report status current."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web
from opentelemetry.trace import Tracer

from prahari_events import lgd, policy
from prahari_events.auth import Unit
from prahari_events.catalogue import build_registry
from prahari_events.db import event_store_migrations, package_migrations
from prahari_events.envelope import iso
from prahari_events.errors import NotFound, PreconditionRequired
from prahari_events.kafka import Topics
from prahari_events.registry import Registry
from prahari_events.runtime import (
    POOL,
    PRODUCER,
    background,
    idempotent_consumer,
    postgres_context,
    producer_context,
)
from prahari_events.units import load_units
from prahari_events.web import (
    authenticate,
    base_app,
    idempotency_key,
    json_response,
    read_json_object,
)
from prahari_intake.adapters import repository
from prahari_intake.adapters.publisher import KafkaPublisher
from prahari_intake.adapters.senders import senders_from
from prahari_intake.config import Settings
from prahari_intake.entrypoints import inbound_sms, openapi
from prahari_intake.entrypoints.common import DESK, report_command
from prahari_intake.entrypoints.inbound_sms import SMS_CHANNEL, SmsChannel
from prahari_intake.service_layer.desk import ReportDesk, request_hash
from prahari_intake.service_layer.tracking import DeadLetterWatcher, track

SETTINGS = web.AppKey("settings", Settings)
REGISTRY = web.AppKey("registry", Registry)
DIRECTORY = web.AppKey("directory", lgd.Directory)
TOPICS = web.AppKey("topics", Topics)
OPENAPI = web.AppKey("openapi", dict[str, Any])


async def post_report(request: web.Request) -> web.Response:
    unit = authenticate(request)
    key = idempotency_key(request)
    if key is None:
        # A client that retries a 503 without a key would file the report twice.
        raise PreconditionRequired(
            "a report needs an Idempotency-Key: a new UUID per report, the same one on retry",
            fields={"Idempotency-Key": ["required"]},
        )
    body = await read_json_object(request)
    command = report_command(body)
    filed = await request.app[DESK].file(unit, command, key, request_hash(body))
    answer: dict[str, Any] = {"report_id": str(filed.report_id), "status": filed.status}
    if filed.trace_id:
        answer["trace_id"] = filed.trace_id
    if filed.replayed:
        answer["replayed"] = True
    return json_response(
        answer,
        status=200 if filed.replayed else 202,
        headers={"Location": f"/v1/reports/{filed.report_id}"},
    )


def _visible(unit: Unit, row: dict[str, Any]) -> bool:
    """The shared policy, as for the case the report opens: the reporting unit, the control
    rooms over the report's place, and auditors."""
    access = policy.CaseAccess(
        owner=policy.Area(row["state"], row["district"]),
        reported_by=policy.UnitRef(row["state"], row["unit_id"]),
    )
    return policy.may_read(unit, access)


async def get_report(request: web.Request) -> web.Response:
    unit = authenticate(request)
    try:
        report_id = uuid.UUID(request.match_info["report_id"])
    except ValueError:
        raise NotFound("no such report") from None
    row = await repository.report_status(request.app[POOL], report_id)
    if row is None or not _visible(unit, row):
        raise NotFound("no such report")
    body: dict[str, Any] = {
        "report_id": str(row["report_id"]),
        "type": row["report_type"],
        "status": row["status"],
        "state": row["state"],
        "district": row["district"],
        "reported_by": row["unit_id"],
        "received_at": iso(row["received_at"]),
    }
    if row["case_id"]:
        body["case_id"] = str(row["case_id"])
    if row["reason"]:
        body["reason"] = row["reason"]
    return json_response(body)


async def get_openapi(request: web.Request) -> web.Response:
    return json_response(request.app[OPENAPI])


async def _desk(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    app[DESK] = ReportDesk(
        app[POOL],
        KafkaPublisher(app[PRODUCER], settings.kafka_ack_timeout_s),
        app[REGISTRY],
        app[DIRECTORY],
        topic=app[TOPICS].reports,
        ack_timeout_s=settings.kafka_ack_timeout_s,
        replies_topic=app[TOPICS].intake_replies,
    )
    yield


async def _workers(app: web.Application) -> AsyncIterator[None]:
    settings, topics = app[SETTINGS], app[TOPICS]
    consumer = idempotent_consumer(
        app,
        settings.common,
        name=settings.consumer_group,
        topics=[topics.case_events],
        registry=app[REGISTRY],
        handler=track,
        deadletter_topic=topics.deadletter,
    )
    watcher = DeadLetterWatcher(
        settings.common.kafka,
        topics.deadletter,
        f"{settings.consumer_group}-deadletters",
        app[POOL],
        app[REGISTRY],
    )
    async with (
        background(app, "deadletter-watcher", watcher.run, watcher.stop),
        background(app, "consumer", consumer.run, consumer.stop),
    ):
        yield


async def _sms_channel(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    if settings.sms_webhook_secret is None:
        yield
        return
    assert settings.unit_directory_path is not None
    app[SMS_CHANNEL] = SmsChannel(
        senders=senders_from(load_units(settings.unit_directory_path, app[DIRECTORY])),
        secret=settings.sms_webhook_secret.encode(),
        skew_s=settings.sms_webhook_skew_s,
    )
    yield


def create_app(settings: Settings, tracer: Tracer) -> web.Application:
    common = settings.common
    app = base_app("intake", common, tracer, max_body=settings.max_body_bytes)
    app[SETTINGS] = settings
    app[REGISTRY] = build_registry()
    app[DIRECTORY] = lgd.load()
    app[TOPICS] = Topics(common.topic_prefix)
    migrations = event_store_migrations() + package_migrations("prahari_intake", "intake")
    app.cleanup_ctx.extend(
        [
            postgres_context(common, "intake", migrations),
            producer_context(common, "intake", writes=app[TOPICS].written_by("intake")),
            _desk,
            _sms_channel,
            _workers,
        ]
    )
    app.router.add_post("/v1/sms/inbound", inbound_sms.receive)
    app.router.add_post("/v1/reports", post_report)
    app.router.add_get("/v1/reports/{report_id}", get_report)
    app[OPENAPI] = openapi.build()
    app.router.add_get("/v1/openapi.json", get_openapi)
    return app

"""intake's HTTP API and its app factory."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web
from marshmallow import ValidationError
from opentelemetry.trace import Tracer

from prahari_events import lgd
from prahari_events.auth import TokenAuthority
from prahari_events.catalogue import build_registry
from prahari_events.envelope import utcnow
from prahari_events.errors import InvalidInput
from prahari_events.kafka import Topics
from prahari_events.registry import Registry
from prahari_events.runtime import PRODUCER, producer_context
from prahari_events.telemetry import current_carrier
from prahari_events.web import authenticate, base_app, json_response, read_json_object
from prahari_intake.adapters.publisher import KafkaPublisher
from prahari_intake.config import Settings
from prahari_intake.domain.reports import FileReport, file_report, stream_for
from prahari_intake.entrypoints.schemas import ReportRequest

SETTINGS = web.AppKey("settings", Settings)
REGISTRY = web.AppKey("registry", Registry)
DIRECTORY = web.AppKey("directory", lgd.Directory)
TOPICS = web.AppKey("topics", Topics)
PUBLISHER = web.AppKey("publisher", KafkaPublisher)


async def post_report(request: web.Request) -> web.Response:
    unit = authenticate(request)
    body = await read_json_object(request)
    try:
        data = ReportRequest().load(body)
    except ValidationError as exc:
        raise InvalidInput("the report has invalid fields", fields=_messages(exc)) from None
    command = FileReport(
        report_type=data["type"],
        description=data["description"],
        state=data["state"],
        district=data["district"],
        occurred_at=data["occurred_at"],
        location=data["location"],
        details=data["details"],
    )
    now = utcnow()
    draft = file_report(command, unit, request.app[DIRECTORY], now)
    envelope = request.app[REGISTRY].stamp(
        draft,
        stream_id=stream_for(command.report_id),
        stream_version=1,
        recorded_at=now,
        trace=current_carrier(),
    )
    await request.app[PUBLISHER].publish(request.app[TOPICS].reports, envelope)
    location = f"/v1/reports/{command.report_id}"
    return json_response(
        {"report_id": str(command.report_id), "status": "received", "trace_id": envelope.trace_id},
        status=202,
        headers={"Location": location},
    )


def _messages(exc: ValidationError) -> dict[str, object]:
    messages = exc.messages
    return dict(messages) if isinstance(messages, dict) else {"_body": messages}


async def _publisher(app: web.Application) -> AsyncIterator[None]:
    app[PUBLISHER] = KafkaPublisher(app[PRODUCER], app[REGISTRY], app[SETTINGS].kafka_ack_timeout_s)
    yield


def create_app(settings: Settings, tracer: Tracer) -> web.Application:
    common = settings.common
    app = base_app(
        "intake", TokenAuthority(common.token_secret), tracer, max_body=settings.max_body_bytes
    )
    app[SETTINGS] = settings
    app[REGISTRY] = build_registry()
    app[DIRECTORY] = lgd.load()
    app[TOPICS] = Topics(common.topic_prefix)
    app.cleanup_ctx.extend([producer_context(common, "intake"), _publisher])
    app.router.add_post("/v1/reports", post_report)
    return app

"""cases' HTTP API, its app factory, and the background consumer and outbox relay."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from aiohttp import web
from marshmallow import RAISE, Schema, ValidationError, fields, validate
from opentelemetry.trace import Tracer

from prahari_cases.adapters import read_model
from prahari_cases.config import Settings
from prahari_cases.domain.case import replay, stream_for
from prahari_cases.service_layer.handlers import CaseHandlers
from prahari_events.auth import TokenAuthority, Unit
from prahari_events.catalogue import build_registry
from prahari_events.db import event_store_migrations, package_migrations
from prahari_events.errors import Forbidden, InvalidInput, NotFound
from prahari_events.kafka import Topics
from prahari_events.runtime import (
    POOL,
    background,
    idempotent_consumer,
    outbox_relay,
    postgres_context,
    producer_context,
)
from prahari_events.store import EventStore
from prahari_events.web import authenticate, base_app, json_response

SETTINGS = web.AppKey("settings", Settings)
STORE = web.AppKey("store", EventStore)
TOPICS = web.AppKey("topics", Topics)


class _CaseListQuery(Schema):
    class Meta:
        unknown = RAISE

    state = fields.Integer(load_default=None)
    district = fields.Integer(load_default=None)
    status = fields.String(load_default=None, validate=validate.OneOf(["open"]))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    before = fields.String(load_default=None)


class _AsOfQuery(Schema):
    class Meta:
        unknown = RAISE

    as_of = fields.AwareDateTime(load_default=None)


# Built once: schemas are reusable, and costly to build.
_AS_OF = _AsOfQuery()
_CASE_LIST = _CaseListQuery()


def _load(schema: Schema, data: Any) -> dict[str, Any]:
    try:
        loaded: dict[str, Any] = schema.load(data)
    except ValidationError as exc:
        messages = exc.messages
        raise InvalidInput(
            "invalid query", fields=messages if isinstance(messages, dict) else {"_query": messages}
        ) from None
    return loaded


def _case_id(request: web.Request) -> uuid.UUID:
    try:
        return uuid.UUID(request.match_info["case_id"])
    except ValueError:
        raise NotFound("no such case") from None


async def get_case(request: web.Request) -> web.Response:
    unit = authenticate(request)
    case_id = _case_id(request)
    query = _load(_AS_OF, dict(request.query))
    if query["as_of"] is not None:
        # What the case looked like at that moment, folded from its history.
        events = await request.app[STORE].read_stream(
            request.app[POOL], stream_for(case_id), as_of=query["as_of"]
        )
        case = replay(events)
        body = case.to_json() if case else None
    else:
        body = await read_model.get(request.app[POOL], case_id)
    # A case outside the caller's jurisdiction does not exist for the caller.
    if body is None or not unit.may_read(body["state"], body["district"]):
        raise NotFound("no such case")
    return json_response(body)


async def get_case_events(request: web.Request) -> web.Response:
    unit = authenticate(request)
    case_id = _case_id(request)
    events = await request.app[STORE].read_stream(request.app[POOL], stream_for(case_id))
    if not events or not unit.may_read(
        events[0].jurisdiction.state, events[0].jurisdiction.district
    ):
        raise NotFound("no such case")
    return json_response({"case_id": str(case_id), "events": [e.to_json() for e in events]})


def _scope(unit: Unit, state: int | None, district: int | None) -> tuple[int | None, int | None]:
    """Narrow a list query to what the unit may see; refuse a query outside it."""
    if unit.role == "auditor":
        return state, district
    if state is not None and state != unit.state:
        raise Forbidden("that state is outside your jurisdiction")
    if unit.district is not None:
        if district is not None and district != unit.district:
            raise Forbidden("that district is outside your jurisdiction")
        return unit.state, unit.district
    return unit.state, district


async def list_cases(request: web.Request) -> web.Response:
    unit = authenticate(request)
    query = _load(_CASE_LIST, dict(request.query))
    state, district = _scope(unit, query["state"], query["district"])
    before = None
    if query["before"]:
        stamp, _, ident = query["before"].partition("|")
        try:
            before = (datetime.fromisoformat(stamp), uuid.UUID(ident))
        except ValueError:
            raise InvalidInput("invalid cursor", fields={"before": ["not a cursor"]}) from None
    cases = await read_model.find(
        request.app[POOL],
        read_model.CaseQuery(state, district, query["status"], query["limit"], before),
    )
    body: dict[str, Any] = {"cases": cases}
    if len(cases) == query["limit"]:
        last = cases[-1]
        body["next"] = f"{last['opened_at']}|{last['case_id']}"
    return json_response(body)


async def _workers(app: web.Application) -> AsyncIterator[None]:
    settings, topics = app[SETTINGS], app[TOPICS]
    relay = outbox_relay(app, settings.common, "cases")
    consumer = idempotent_consumer(
        app,
        settings.common,
        name=settings.consumer_group,
        topics=[topics.reports],
        registry=app[STORE].registry,
        handler=CaseHandlers(app[STORE], topics.case_events),
        deadletter_topic=topics.deadletter,
    )
    # Cleanup runs in reverse: the consumer stops first, then the relay flushes what the
    # consumer committed, then the producer and the pool close.
    async with (
        background(app, "outbox-relay", relay.run(), relay.stop),
        background(app, "consumer", consumer.run(), consumer.stop),
    ):
        yield


def create_app(settings: Settings, tracer: Tracer) -> web.Application:
    common = settings.common
    app = base_app("cases", TokenAuthority(common.token_secret), tracer, max_body=16 * 1024)
    app[SETTINGS] = settings
    app[STORE] = EventStore(build_registry())
    app[TOPICS] = Topics(common.topic_prefix)
    migrations = event_store_migrations() + package_migrations("prahari_cases", "cases")
    app.cleanup_ctx.extend(
        [postgres_context(common, "cases", migrations), producer_context(common, "cases"), _workers]
    )
    app.router.add_get("/v1/cases", list_cases)
    app.router.add_get("/v1/cases/{case_id}", get_case)
    app.router.add_get("/v1/cases/{case_id}/events", get_case_events)
    return app

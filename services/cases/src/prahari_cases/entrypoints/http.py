"""cases' HTTP API, its app factory, and the background consumer and outbox relay."""

from __future__ import annotations

import base64
import binascii
import csv
import functools
import hashlib
import io
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import Any

import orjson
from aiohttp import web
from opentelemetry.trace import Tracer

from prahari_cases.adapters import read_model, tallies
from prahari_cases.adapters import watchlist as watchlist_view
from prahari_cases.config import Settings
from prahari_cases.domain import search
from prahari_cases.domain import tallies as tally
from prahari_cases.domain import watchlist as wl
from prahari_cases.domain.case import Case, replay, stream_for
from prahari_cases.domain.timeline import Narrator
from prahari_cases.entrypoints import openapi
from prahari_cases.entrypoints.commands import Endpoint, endpoints
from prahari_cases.entrypoints.schemas import (
    AsOfQuery,
    CaseListQuery,
    SeizureStatsQuery,
    WatchlistChange,
    WatchlistQuery,
    WatchlistRequest,
)
from prahari_cases.entrypoints.threads import THREADS
from prahari_cases.entrypoints.threads import add_routes as add_thread_routes
from prahari_cases.service_layer.commands import CaseCommands
from prahari_cases.service_layer.handlers import CaseHandlers, load_case, refresh_stale_views
from prahari_cases.service_layer.share_feed import ShareFeed
from prahari_cases.service_layer.threads import ThreadDesk, Threads, may_link
from prahari_cases.service_layer.timers import SlaClock
from prahari_cases.service_layer.watchlist import WatchlistDesk
from prahari_events import lgd, policy
from prahari_events.auth import Unit
from prahari_events.borders import load_pairs
from prahari_events.catalogue import build_registry
from prahari_events.db import event_store_migrations, package_migrations
from prahari_events.envelope import utcnow
from prahari_events.errors import Forbidden, InvalidInput, NotFound, Unprocessable
from prahari_events.kafka import Topics
from prahari_events.metrics import METRICS
from prahari_events.reads import READS, AccessLog
from prahari_events.registry import canonical_json
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
    authenticate,
    base_app,
    idempotency_key,
    json_response,
    load_input,
    read_json_object,
)

SETTINGS = web.AppKey("settings", Settings)
STORE = web.AppKey("store", EventStore)
TOPICS = web.AppKey("topics", Topics)
PLACES = web.AppKey("places", lgd.Directory)
UNITS = web.AppKey("units", UnitDirectory)
COMMANDS = web.AppKey("commands", CaseCommands)
WATCHLIST = web.AppKey("watchlist", WatchlistDesk)
OPENAPI = web.AppKey("openapi", dict[str, Any])
THREAD_INFO = web.AppKey("thread_info", Threads)

# Built once: schemas are reusable, and costly to build.
_AS_OF = AsOfQuery()
_CASE_LIST = CaseListQuery()
_STATS = SeizureStatsQuery()
_WATCH = WatchlistRequest()
_WATCH_CHANGE = WatchlistChange()
_WATCH_QUERY = WatchlistQuery()
_ETAG = re.compile(r'^"(\d{1,9})"$')


def _case_id(request: web.Request) -> uuid.UUID:
    try:
        return uuid.UUID(request.match_info["case_id"])
    except ValueError:
        raise NotFound("no such case") from None


def _etag(version: int) -> dict[str, str]:
    return {"ETag": f'"{version}"'}


def if_match(request: web.Request) -> int | None:
    """The version named by If-Match (`"<version>"`, the ETag as given), or None."""
    header = request.headers.get("If-Match")
    if header is None:
        return None
    found = _ETAG.match(header.strip())
    if found is None:
        raise InvalidInput("invalid If-Match", fields={"If-Match": ['the case\'s ETag, e.g. "3"']})
    return int(found.group(1))


async def _readable(request: web.Request, unit: Unit, case_id: uuid.UUID) -> Case:
    """The case if the unit may read it; 404 otherwise, never 403: a case outside the
    caller's reach does not exist for the caller."""
    case = await load_case(request.app[POOL], request.app[STORE], case_id)
    if case is None or not policy.may_read(unit, case.access()):
        raise NotFound("no such case")
    return case


async def get_case(request: web.Request) -> web.Response:
    unit = authenticate(request)
    case_id = _case_id(request)
    query = load_input(_AS_OF, dict(request.query), "invalid query")
    case = await _readable(request, unit, case_id)
    if query["as_of"] is not None:
        # What the case looked like at that moment, folded from its history. Who may see
        # it is decided by the case as it stands now: a revoked share stays revoked.
        events = await request.app[STORE].read_stream(
            request.app[POOL], stream_for(case_id), as_of=query["as_of"]
        )
        then = replay(events)
        if then is None:
            raise NotFound("the case did not exist yet at that moment")
        case = then
    as_of = {"as_of": query["as_of"].isoformat()} if query["as_of"] else None
    await request.app[READS].record(request.app[POOL], unit, "case", case_id=case_id, detail=as_of)
    return json_response(case.to_json(), headers=_etag(case.version))


async def get_case_events(request: web.Request) -> web.Response:
    unit = authenticate(request)
    case_id = _case_id(request)
    await _readable(request, unit, case_id)
    events = await request.app[STORE].read_stream(request.app[POOL], stream_for(case_id))
    await request.app[READS].record(request.app[POOL], unit, "case.events", case_id=case_id)
    return json_response({"case_id": str(case_id), "events": [e.to_json() for e in events]})


async def get_timeline(request: web.Request) -> web.Response:
    unit = authenticate(request)
    case_id = _case_id(request)
    await _readable(request, unit, case_id)
    events = await request.app[STORE].read_stream(request.app[POOL], stream_for(case_id))
    units = request.app[UNITS]

    def unit_name(state: int | None, unit_id: str) -> str | None:
        found = units.get(policy.UnitRef(state, unit_id)) if state is not None else None
        return found.name if found else None

    narrator = Narrator(request.app[PLACES], unit_name)
    await request.app[READS].record(request.app[POOL], unit, "case.timeline", case_id=case_id)
    return json_response({"case_id": str(case_id), "timeline": [narrator.line(e) for e in events]})


def encode_cursor(case: dict[str, Any]) -> str:
    raw = orjson.dumps([case["opened_at"], case["case_id"]])
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(text: str) -> tuple[datetime, uuid.UUID]:
    """An opaque, URL-safe cursor: base64url of the last case's (opened_at, case_id)."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        stamp, ident = orjson.loads(raw)
        moment = datetime.fromisoformat(stamp)
        if moment.tzinfo is None:
            raise ValueError("naive")
        return moment, uuid.UUID(ident)
    except (ValueError, TypeError, binascii.Error, orjson.JSONDecodeError):
        # Opaque to the document (a string): a rule it states in words, hence 422.
        raise Unprocessable(
            "invalid cursor", fields={"cursor": ["not a cursor from this API"]}
        ) from None


async def list_cases(request: web.Request) -> web.Response:
    unit = authenticate(request)
    query = load_input(_CASE_LIST, dict(request.query), "invalid query")
    keys = None if policy.is_auditor(unit) else policy.unit_keys(unit)
    cases = await read_model.find(
        request.app[POOL],
        read_model.CaseQuery(
            reader_keys=keys,
            partner_of=(keys or []) if query["shared_with_me"] else None,
            status=query["status"],
            report_type=query["report_type"],
            state=query["state"],
            district=query["district"],
            assigned_to=query["assigned_to"],
            opened_from=query["opened_from"],
            opened_to=query["opened_to"],
            words=search.words(query["q"]) if query["q"] else (),
            overdue=query["overdue"],
            limit=query["limit"],
            after=decode_cursor(query["cursor"]) if query["cursor"] else None,
        ),
    )
    body: dict[str, Any] = {"cases": cases}
    if len(cases) == query["limit"]:
        body["next"] = encode_cursor(cases[-1])
    # One entry per page: what was asked and how many cases it showed.
    page = {k: str(v) for k, v in request.query.items()}
    await request.app[READS].record(
        request.app[POOL], unit, "cases.list", detail={"query": page, "count": len(cases)}
    )
    return json_response(body)


def command_handler(endpoint: Endpoint) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handle(request: web.Request) -> web.Response:
        unit = authenticate(request)
        case_id = _case_id(request)
        key = idempotency_key(request)
        expected = if_match(request)
        if endpoint.body_optional and not request.body_exists:
            body: dict[str, Any] = {}
        else:
            body = await read_json_object(request)
        data = load_input(endpoint.schema, body, "the command has invalid fields")
        commands = request.app[COMMANDS]
        command = endpoint.build(data, request.match_info, commands.new_id)
        # The same key with the same request gives the first answer; with another request
        # (another path, another body) it is refused.
        fingerprint = hashlib.sha256(
            f"{request.method} {request.path}\n".encode() + canonical_json(body)
        ).digest()
        answer = await commands.execute(
            unit, case_id, command, if_match=expected, key=key, fingerprint=fingerprint
        )
        headers = _etag(answer.version)
        if answer.replayed:
            headers["Idempotent-Replayed"] = "true"
        return json_response(answer.case, headers=headers)

    return handle


async def seizure_stats(request: web.Request) -> web.Response:
    """Seizure totals within the caller's jurisdiction (auditors: everywhere), as JSON, or
    as CSV with a UTF-8 byte-order mark when asked for text/csv, so that spreadsheets show
    Hindi as Hindi."""
    unit = authenticate(request)
    query = load_input(_STATS, dict(request.query), "invalid query")
    group_by: list[str] = query["group_by"].split(",")
    state, district = query["state"], query["district"]
    if not policy.is_auditor(unit):
        if state is not None and state != unit.state:
            raise Forbidden("that state is outside your jurisdiction")
        if unit.district is not None and district not in (None, unit.district):
            raise Forbidden("that district is outside your jurisdiction")
        state, district = unit.state, unit.district or district
    rows = await tallies.totals(
        request.app[POOL],
        tallies.TallyQuery(
            group_by=group_by,
            state=state,
            district=district,
            day_from=query["day_from"],
            day_to=query["day_to"],
        ),
    )
    if "text/csv" in request.headers.get("Accept", ""):
        return web.Response(
            body=seizures_csv(group_by, rows),
            content_type="text/csv",
            charset="utf-8",
        )
    return json_response({"group_by": group_by, "rows": rows})


def seizures_csv(group_by: list[str], rows: list[dict[str, Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    dims = [d for d in tally.DIMENSIONS if d in group_by]
    units = tally.UNITS
    writer.writerow([*dims, "seizures", "value_inr", *(f"quantity_{u}" for u in units), "agencies"])
    for row in rows:
        writer.writerow(
            [
                *(row[d] for d in dims),
                row["seizures"],
                row["value_inr"],
                *(row["quantity"].get(u, "") for u in units),
                ";".join(row["agencies"]),
            ]
        )
    return "\ufeff".encode() + out.getvalue().encode()


def _entry_id(request: web.Request) -> uuid.UUID:
    try:
        return uuid.UUID(request.match_info["entry_id"])
    except ValueError:
        raise NotFound("no such watchlist entry") from None


def _entry_answer(entry: wl.Entry, status: int = 200) -> web.Response:
    return json_response(entry.to_json(), status=status, headers=_etag(entry.version))


async def add_watchlist_entry(request: web.Request) -> web.Response:
    unit = authenticate(request)
    key = idempotency_key(request)
    data = load_input(_WATCH, await read_json_object(request), "the entry has invalid fields")
    identifier = wl.normalise(data["kind"], data["value"])
    entry, new = await request.app[WATCHLIST].add(
        unit, identifier, data["reason"], data["expires_at"], key=key
    )
    return _entry_answer(entry, 201 if new else 200)


async def list_watchlist(request: web.Request) -> web.Response:
    unit = authenticate(request)
    query = load_input(_WATCH_QUERY, dict(request.query), "invalid query")
    if not policy.is_auditor(unit) and unit.role != "control_room":
        raise Forbidden("watchlists are for control rooms and auditors")
    entries = await watchlist_view.listed(
        request.app[POOL],
        None if policy.is_auditor(unit) else unit.state,
        utcnow(),
        inactive=query["inactive"],
    )
    return json_response({"entries": [e.to_json() for e in entries]})


async def get_watchlist_entry(request: web.Request) -> web.Response:
    unit = authenticate(request)
    desk = request.app[WATCHLIST]
    entry = desk.visible(unit, await watchlist_view.get(request.app[POOL], _entry_id(request)))
    return _entry_answer(entry)


async def change_watchlist_entry(request: web.Request) -> web.Response:
    unit = authenticate(request)
    data = load_input(_WATCH_CHANGE, await read_json_object(request), "invalid fields")
    change = wl.Change(data["reason"], data["expires_at"])
    entry = await request.app[WATCHLIST].change(unit, _entry_id(request), change, if_match(request))
    return _entry_answer(entry)


async def remove_watchlist_entry(request: web.Request) -> web.Response:
    unit = authenticate(request)
    removal = wl.Remove(request.query.get("reason") or None)
    entry = await request.app[WATCHLIST].change(
        unit, _entry_id(request), removal, if_match(request)
    )
    return _entry_answer(entry)


async def get_openapi(request: web.Request) -> web.Response:
    return json_response(request.app[OPENAPI])


async def _commands(app: web.Application) -> AsyncIterator[None]:
    app[COMMANDS] = CaseCommands(app[POOL], app[STORE], app[TOPICS].case_events, app[UNITS])
    app[THREADS] = ThreadDesk(
        app[POOL], app[STORE], app[TOPICS].case_events, app[UNITS], app[THREAD_INFO]
    )
    app[WATCHLIST] = WatchlistDesk(app[POOL], app[STORE], app[TOPICS].case_events)
    # Rows written by an older read model are rebuilt before anyone reads them.
    await refresh_stale_views(app[POOL], app[STORE])
    yield


async def _workers(app: web.Application) -> AsyncIterator[None]:
    settings, topics = app[SETTINGS], app[TOPICS]
    relay = outbox_relay(app, settings.common, "cases")
    consumer = idempotent_consumer(
        app,
        settings.common,
        name=settings.consumer_group,
        topics=[topics.reports, topics.case_events],
        registry=app[STORE].registry,
        handler=CaseHandlers(
            app[STORE],
            topics.case_events,
            settings.sla,
            rumour_window=settings.rumour_window,
            may_link=functools.partial(may_link, threads=app[THREAD_INFO]),
        ),
        deadletter_topic=topics.deadletter,
        wants=CaseHandlers.WANTS,
        batch=True,
    )
    clock = SlaClock(app[POOL], app[STORE], topics.case_events, poll_s=settings.timer_poll_s)
    app[METRICS].add(
        "prahari_sla_timers_fired",
        "SLA deadlines that passed with their stage not done: each a case.sla_breached"
        " (and, where the rules say, an escalation)",
        "counter",
        [],
        lambda: {(): float(clock.fired)},
    )
    feed = ShareFeed(app[POOL], app[STORE], topics, poll_s=settings.share_feed_poll_s)
    app[METRICS].add(
        "prahari_share_feed_messages",
        "Messages queued for partner states' feeds (prahari.share.<state>)",
        "counter",
        [],
        lambda: {(): float(feed.queued)},
    )
    # Cleanup runs in reverse: the consumer and the timers stop first, then the relay flushes
    # what they committed, then the producer and the pool close.
    async with (
        background(app, "outbox-relay", relay.run, relay.stop),
        checkpoints(app, settings.common, "cases"),
        background(app, "share-feed", feed.run, feed.stop),
        background(app, "sla-timers", clock.run, clock.stop),
        background(app, "consumer", consumer.run, consumer.stop),
    ):
        yield


def create_app(settings: Settings, tracer: Tracer) -> web.Application:
    common = settings.common
    app = base_app("cases", common, tracer, max_body=64 * 1024)
    app[SETTINGS] = settings
    app[STORE] = EventStore(build_registry())
    app[TOPICS] = Topics(common.topic_prefix)
    app[READS] = AccessLog("cases", app[TOPICS].access)
    app[PLACES] = lgd.load()
    # Fail at start, not at the first assignment, when the directory is missing or wrong.
    app[UNITS] = load_units(settings.unit_directory_path, app[PLACES])
    app[THREAD_INFO] = Threads(app[STORE], app[PLACES], load_pairs(app[PLACES]))
    migrations = event_store_migrations() + package_migrations("prahari_cases", "cases")
    app.cleanup_ctx.extend(
        [
            postgres_context(common, "cases", migrations),
            producer_context(common, "cases", writes=app[TOPICS].written_by("cases")),
            _commands,
            _workers,
        ]
    )
    app.router.add_get("/v1/cases", list_cases)
    app.router.add_get("/v1/cases/{case_id}", get_case)
    app.router.add_get("/v1/cases/{case_id}/events", get_case_events)
    app.router.add_get("/v1/cases/{case_id}/timeline", get_timeline)
    app.router.add_get("/v1/stats/seizures", seizure_stats)
    app.router.add_post("/v1/watchlist", add_watchlist_entry)
    app.router.add_get("/v1/watchlist", list_watchlist)
    app.router.add_get("/v1/watchlist/{entry_id}", get_watchlist_entry)
    app.router.add_patch("/v1/watchlist/{entry_id}", change_watchlist_entry)
    app.router.add_delete("/v1/watchlist/{entry_id}", remove_watchlist_entry)
    table = endpoints(app[PLACES])
    for endpoint in table:
        app.router.add_route(
            endpoint.method, "/v1/cases/{case_id}" + endpoint.path, command_handler(endpoint)
        )
    add_thread_routes(app)
    app[OPENAPI] = openapi.build(table)
    app.router.add_get("/v1/openapi.json", get_openapi)
    return app

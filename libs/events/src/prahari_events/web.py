"""HTTP plumbing shared by the services: one place that maps errors to status codes and
JSON bodies, authentication, tracing, health and readiness, and the process runner."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, date, datetime
from typing import Any

import orjson
from aiohttp import web
from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import Schema, ValidationError, fields
from opentelemetry.trace import SpanKind, Tracer

from prahari_events.auth import TokenAuthority, Unit
from prahari_events.config import CommonSettings, token_authority
from prahari_events.errors import (
    ConcurrencyError,
    Forbidden,
    IdempotencyKeyReused,
    InvalidInput,
    InvalidTransition,
    NotFound,
    PrahariError,
    PreconditionFailed,
    PreconditionRequired,
    Replayed,
    Unauthenticated,
    Unavailable,
    Unprocessable,
)
from prahari_events.metrics import METRICS, Metrics, metrics_middleware, serve_metrics
from prahari_events.telemetry import current_carrier, span_from
from prahari_events.transient import Throttle, is_transient

log = logging.getLogger("prahari.web")

Check = Callable[[], Awaitable[object]]
TOKENS = web.AppKey("tokens", TokenAuthority)
TRACER = web.AppKey("tracer", Tracer)
READY_CHECKS = web.AppKey("ready_checks", dict[str, Check])

_STATUS: dict[type[PrahariError], int] = {
    IdempotencyKeyReused: 422,
    Unprocessable: 422,
    InvalidInput: 400,
    Unauthenticated: 401,
    Forbidden: 403,
    NotFound: 404,
    ConcurrencyError: 409,
    InvalidTransition: 409,
    Replayed: 409,
    PreconditionFailed: 412,
    PreconditionRequired: 428,
    Unavailable: 503,
}
RETRY_AFTER_S = 5


def status_for(exc: PrahariError) -> int:
    for cls in type(exc).__mro__:
        if cls in _STATUS:
            return _STATUS[cls]
    return 500


def error_body(code: str, message: str, fields: Mapping[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message}
    if fields:
        body["fields"] = dict(fields)
    return {"error": body}


class ErrorDetail(Schema):
    """The body of every error answer, as `error_body` writes it: for OpenAPI documents."""

    code = fields.String(required=True)
    message = fields.String(required=True)
    fields_ = fields.Dict(
        data_key="fields", metadata={"description": "each bad field, by name, with its problems"}
    )


class ErrorSchema(Schema):
    error = fields.Nested(ErrorDetail, required=True)


def api_spec(
    title: str,
    description: str,
    schemas: Mapping[str, Schema | type[Schema]],
    *,
    openapi_version: str = "3.1.0",
) -> APISpec:
    """A service's OpenAPI document to add its paths to: the units' bearer token as the
    security scheme ("unitToken"), and the error body ("Error") with `schemas` as components."""
    spec = APISpec(
        title=title,
        version="1",
        openapi_version=openapi_version,
        plugins=[MarshmallowPlugin()],
        info={"description": description},
    )
    spec.components.security_scheme(
        "unitToken", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    )
    for name, schema in {**schemas, "Error": ErrorSchema}.items():
        spec.components.schema(name, schema=schema)
    return spec


# _CONTROL as a JSON Schema pattern (ECMA-262 and Python read \\uXXXX alike).
# An http(s) address (a post, a fact-check): a host name or address, a port, the rest without
# spaces or control characters. A pattern the documents publish as it is, so that what a
# generated client sends is exactly what is accepted (ECMA-262 and Python read it alike).
HTTP_URL = (
    r"^https?://[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?(?::[0-9]{1,5})?"
    r"(?:[/?#][^\s\u0000-\u001F\u007F-\u009F]*)?$"
)
NO_CONTROL_CHARACTERS = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$"


UNPROCESSABLE = (
    "well-formed, but breaking a rule this document states in words (each bad field named"
    " in `fields`): an LGD code not in the directory or a district of another state, a unit"
    " not in the directory, a moment in the future or outside 2000-2099, a rule between"
    " fields, a cursor not from this API"
)


def finished(document: dict[str, Any]) -> dict[str, Any]:
    """A service's document as served: what load_input refuses in every field, said where
    a generated client can see it. Every free-text string (no format, enum or pattern of
    its own) gets the pattern that excludes control characters; every operation that
    answers 400 for a malformed field also documents 422 for a rule the document can only
    state in words (see `Rule`)."""

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            kind = node.get("type")
            text = kind == "string" or (isinstance(kind, list) and "string" in kind)
            if text and not {"format", "enum", "pattern", "const"} & node.keys():
                node["pattern"] = NO_CONTROL_CHARACTERS
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(document.get("components", {}).get("schemas", {}))
    for path in document.get("paths", {}).values():
        for operation in path.values():
            if not isinstance(operation, dict):
                continue
            walk(operation.get("parameters", []))
            # Whatever reads input may also answer 422 (load_input, Unprocessable).
            responses = operation.get("responses", {})
            ref = {"$ref": "#/components/schemas/Error"}
            error = {"application/json": {"schema": ref}}
            unprocessable = responses.get("422")
            if "400" in responses and unprocessable is None:
                responses["422"] = {"description": UNPROCESSABLE, "content": error}
            elif "400" in responses and unprocessable is not None:
                # A 422 of the operation's own (a reused Idempotency-Key, an SMS not filed):
                # the rules' 422 too, with the error body if its own body is another.
                unprocessable["description"] += f"; or {UNPROCESSABLE}"
                body = unprocessable["content"]["application/json"]
                if body["schema"] != ref:
                    body["schema"] = {"anyOf": [body["schema"], ref]}
            # Whatever takes a body may also refuse it whole (error_middleware, read_json_object).
            if "requestBody" in operation:
                responses.setdefault(
                    "413", {"description": "the body is over the service's limit", "content": error}
                )
                responses.setdefault(
                    "415",
                    {"description": "Content-Type must be application/json", "content": error},
                )
    return document


def signed_webhook_headers() -> list[dict[str, Any]]:
    """The headers of a webhook signed by its gateway (prahari_events.webhooks), as OpenAPI
    parameters: the same for intake's inbound SMS and notify's delivery reports."""
    return [
        {
            "in": "header",
            "name": "X-Prahari-Timestamp",
            "required": True,
            "description": "Unix seconds; more than the allowed skew off is refused",
            "schema": {"type": "string", "pattern": "^[0-9]{1,12}$"},
        },
        {
            "in": "header",
            "name": "X-Prahari-Signature",
            "required": True,
            "description": "sha256=<hex>: HMAC-SHA256 over <timestamp>.<body>",
            "schema": {"type": "string", "pattern": "^sha256=[0-9a-f]{64}$"},
        },
    ]


def uuid_path(name: str) -> dict[str, Any]:
    """An OpenAPI path parameter holding a UUID."""
    return {
        "in": "path",
        "name": name,
        "required": True,
        "schema": {"type": "string", "format": "uuid"},
    }


def error_response(description: str, *, retry: bool = False) -> dict[str, Any]:
    """An OpenAPI response of the error body (registered as the component "Error")."""
    response: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": "Error"}},
    }
    if retry:
        response["headers"] = {
            "Retry-After": {"schema": {"type": "integer"}, "description": "seconds"}
        }
    return response


def json_response(
    data: Any, *, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    # orjson: UTF-8 as it is (Hindi stays readable), datetimes and UUIDs natively, and fast.
    # Non-string keys: marshmallow keys the errors of list items by their index.
    return web.Response(
        body=orjson.dumps(data, default=str, option=orjson.OPT_NON_STR_KEYS),
        status=status,
        headers=headers,
        content_type="application/json",
        charset="utf-8",
    )


@web.middleware
async def error_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    try:
        return await handler(request)
    except PrahariError as exc:
        status = status_for(exc)
        headers: dict[str, str] = {}
        if isinstance(exc, Unauthenticated):
            headers["WWW-Authenticate"] = 'Bearer realm="prahari"'
        if exc.retry_after_s is not None or isinstance(exc, Unavailable):
            headers["Retry-After"] = str(exc.retry_after_s or RETRY_AFTER_S)
        if status >= 500:
            _log_outage(exc.code, exc.message)
        return json_response(
            error_body(exc.code, exc.message, exc.fields), status=status, headers=headers
        )
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = exc.reason.lower().replace(" ", "_")
        headers = {k: v for k, v in exc.headers.items() if k.lower() != "content-type"}
        return json_response(error_body(code, exc.reason), status=exc.status, headers=headers)
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        if is_transient(exc):
            # The database or the broker is away (a restart, a failover): not the request's
            # fault, and not ours to hide behind a 500. The caller retries after a while.
            _log_outage("unavailable", repr(exc))
            return json_response(
                error_body("unavailable", "a store is unavailable; try again shortly"),
                status=503,
                headers={"Retry-After": str(RETRY_AFTER_S)},
            )
        log.exception("unexpected error", extra={"fields": {"path": request.path}})
        return json_response(error_body("internal", "internal error"), status=500)


# While an outage lasts, one line per interval per kind of failure, not one per request.
_OUTAGES = Throttle(interval_s=10.0)


def _log_outage(code: str, error: str) -> None:
    held = _OUTAGES.ready(code)
    if held is not None:
        log.error(
            "requests failing",
            extra={"fields": {"code": code, "error": error, "since_last_line": held}},
        )


def tracing_middleware(service: str) -> Callable[..., Awaitable[web.StreamResponse]]:
    @web.middleware
    async def middleware(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        tracer = request.app[TRACER]
        route = request.match_info.route.resource
        template = route.canonical if route is not None else request.path
        with span_from(
            tracer,
            f"{request.method} {template}",
            request.headers,
            SpanKind.SERVER,
            **{"http.request.method": request.method, "url.path": request.path},
        ) as span:
            response = await handler(request)
            span.set_attribute("http.response.status_code", response.status)
            carrier = current_carrier()
            if "traceparent" in carrier:
                response.headers["traceparent"] = carrier["traceparent"]
            return response

    return middleware


def authenticate(request: web.Request) -> Unit:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("a bearer token is required (Authorization: Bearer <token>)")
    return request.app[TOKENS].verify(token.strip())


_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")  # visible ASCII, as Stripe and the IETF draft do


def idempotency_key(request: web.Request) -> str | None:
    """The request's Idempotency-Key, if any; 400 when it is malformed."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not _KEY.match(key):
        raise InvalidInput(
            "invalid Idempotency-Key",
            fields={"Idempotency-Key": ["1 to 255 visible ASCII characters, e.g. a UUID"]},
        )
    return key


# Characters no text field may hold: C0 controls but tab, newline and carriage return,
# DEL, and C1 controls. NUL cannot be stored by PostgreSQL at all; the others are invisible
# in an SMS or a control room's screen and only ever arrive by mistake or by malice.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _control_fields(data: Any, path: str = "") -> dict[str, list[str]]:
    """Fields whose text (or name) holds a control character, by their dotted path: refused
    here, by name, rather than accepted and failing later (a dead letter, a 500)."""
    found: dict[str, list[str]] = {}
    if isinstance(data, str):
        bad = _CONTROL.search(data)
        if bad:
            found[path or "_body"] = [
                f"must not contain control characters (U+{ord(bad.group()):04X})"
            ]
    elif isinstance(data, dict):
        for key, value in data.items():
            found.update(_control_fields(value, f"{path}.{key}" if path else str(key)))
            if isinstance(key, str) and _CONTROL.search(key):
                found[path or "_body"] = ["a field name must not contain control characters"]
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found.update(_control_fields(value, f"{path}.{index}" if path else str(index)))
    return found


class Rule(str):
    """The message of a rule between fields (a schema's `validates_schema`), which an API
    document states in words or not at all. marshmallow runs such rules only once every
    field is well-formed, so a request that breaks nothing else is answered 422, not 400:
    its shape is what the document allows."""


# What this system can be asked about: the 2024 elections and whatever comes after them for
# a while. Beyond these, a moment is a typo or a probe (year 9999 at -12:00 is not even a
# time PostgreSQL or Python can hold in UTC).
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
# A rule the document states in words (a date-time's format cannot bound it): 422.
_OUT_OF_RANGE = "must be between 2000-01-01 and 2099-12-31"


class WholeNumber(fields.Integer):
    """An integer in a JSON body, as JSON Schema's `integer` means one: 7 or 7.0 (a number
    with no fraction; some JSON writers send every number so), never "7", true or 7.5."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(strict=True, **kwargs)

    def _validated(self, value: Any) -> int:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return super()._validated(value)


class Moment(fields.AwareDateTime):
    """A moment with its UTC offset, within the years this system handles."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        moment = super()._deserialize(value, attr, data, **kwargs)
        try:
            in_utc = moment.astimezone(UTC)
        except OverflowError:
            raise ValidationError(Rule(_OUT_OF_RANGE)) from None
        if not EARLIEST <= in_utc < LATEST:
            raise ValidationError(Rule(_OUT_OF_RANGE))
        return moment


class Day(fields.Date):
    """A calendar day within the years this system handles."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> date:
        day = super()._deserialize(value, attr, data, **kwargs)
        if not EARLIEST.date() <= day < LATEST.date():
            raise ValidationError(Rule(_OUT_OF_RANGE))
        return day


def _only_rules(messages: Any) -> bool:
    if isinstance(messages, dict):
        return all(_only_rules(m) for m in messages.values())
    if isinstance(messages, list):
        return all(_only_rules(m) for m in messages)
    return isinstance(messages, Rule)


def load_input(schema: Schema, data: Any, message: str = "invalid input") -> dict[str, Any]:
    """Load request data with a marshmallow schema, or a 400 naming each bad field (422 when
    every field is well-formed and only a rule between them is broken)."""
    controls = _control_fields(data)
    if controls:
        raise InvalidInput(message, fields=controls)
    try:
        loaded: dict[str, Any] = schema.load(data)
    except ValidationError as exc:
        messages = exc.messages
        fields = dict(messages) if isinstance(messages, dict) else {"_body": messages}
        if _only_rules(fields):
            raise Unprocessable(message, fields=fields) from None
        raise InvalidInput(message, fields=fields) from None
    return loaded


async def read_json_object(request: web.Request) -> dict[str, Any]:
    if request.content_type != "application/json":
        raise web.HTTPUnsupportedMediaType(reason="Content-Type must be application/json")
    return parse_json_object(await request.read())  # read() raises 413 past client_max_size


def parse_json_object(raw: bytes) -> dict[str, Any]:
    """A JSON object from raw bytes, or a 400 naming the body; for callers that need the
    bytes themselves too (a signed webhook)."""
    try:
        # Stricter than the stdlib: NaN and Infinity are not JSON and are refused.
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise InvalidInput(
            "the body is not valid UTF-8 JSON", fields={"_body": ["not valid JSON"]}
        ) from None
    if not isinstance(data, dict):
        raise InvalidInput("the body must be a JSON object", fields={"_body": ["not an object"]})
    return data


async def healthz(_request: web.Request) -> web.Response:
    return json_response({"status": "alive"})


class Readiness:
    """The readiness checks' answer, worked out at most once every `every_s` however often
    it is asked (a load balancer polling many times a second costs one Kafka metadata
    request a second), by one caller at a time."""

    def __init__(
        self,
        checks: dict[str, Check],
        *,
        every_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._checks = checks
        self._every_s = every_s
        self._clock = clock
        self._lock = asyncio.Lock()
        self._at: float | None = None
        self._results: dict[str, str] = {}

    async def results(self) -> dict[str, str]:
        async with self._lock:
            if self._at is not None and self._clock() - self._at < self._every_s:
                return self._results
            names = list(self._checks)
            outcomes = await asyncio.gather(
                *(asyncio.wait_for(self._checks[n](), timeout=2.0) for n in names),
                return_exceptions=True,
            )
            self._results = {
                name: "ok" if not isinstance(outcome, BaseException) else "unavailable"
                for name, outcome in zip(names, outcomes, strict=True)
            }
            self._at = self._clock()
            return self._results


READINESS = web.AppKey("readiness", Readiness)


async def readyz(request: web.Request) -> web.Response:
    """Ready or not, and nothing more, to anyone; which check failed only to a unit with a
    valid token (an operator's), so the endpoint tells an outsider nothing about the
    system's parts."""
    results = await request.app[READINESS].results()
    ready = all(v == "ok" for v in results.values())
    body: dict[str, Any] = {"status": "ready" if ready else "not_ready"}
    try:
        authenticate(request)
        body["checks"] = results
    except PrahariError:
        pass
    return json_response(body, status=200 if ready else 503)


def base_app(
    service: str, common: CommonSettings, tracer: Tracer, *, max_body: int
) -> web.Application:
    """What every service's app has: its token verifier, tracer, metrics, health, readiness
    and the error, tracing and metrics middlewares."""
    app = web.Application(
        # Metrics outermost: they count the status the caller got, errors mapped.
        middlewares=[metrics_middleware, tracing_middleware(service), error_middleware],
        client_max_size=max_body,
    )
    app[METRICS] = Metrics(service, common.disk_paths)
    app[TOKENS] = token_authority(common, service)
    app[TRACER] = tracer
    app[READY_CHECKS] = {}
    app[READINESS] = Readiness(app[READY_CHECKS])
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", serve_metrics)
    return app

"""Tracing and structured logs.

Trace context travels in W3C `traceparent` headers: over HTTP, in Kafka message headers and
inside every stored envelope, so one trace follows a report from the intake request through
Kafka and the outbox to the case and the notification.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.trace import Span, SpanKind, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from prahari_events.privacy import scrub

_propagator = TraceContextTextMapPropagator()


def current_carrier() -> dict[str, str]:
    """The current span's context as a W3C carrier (`traceparent`, maybe `tracestate`)."""
    carrier: dict[str, str] = {}
    _propagator.inject(carrier)
    return carrier


def context_from(carrier: Mapping[str, str]) -> Context:
    return _propagator.extract(dict(carrier))


def kafka_headers_to_carrier(headers: Sequence[tuple[str, bytes]] | None) -> dict[str, str]:
    return {key: value.decode("latin-1") for key, value in headers or () if key in _TRACE_KEYS}


_TRACE_KEYS = frozenset({"traceparent", "tracestate"})


@contextmanager
def span_from(
    tracer: Tracer, name: str, carrier: Mapping[str, str], kind: SpanKind, **attributes: Any
) -> Iterator[Span]:
    """A span whose parent is the context in `carrier` (a message's or request's headers)."""
    with tracer.start_as_current_span(
        name, context=context_from(carrier), kind=kind, attributes=attributes
    ) as span:
        yield span


class JsonLinesSpanExporter(SpanExporter):
    """Writes finished spans as JSON lines to a file; for development and the e2e tests,
    which read the files of all three services to check that they share one trace."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        lines = []
        for span in spans:
            context = span.get_span_context()
            if context is None:
                continue
            lines.append(
                json.dumps(
                    {
                        "service": span.resource.attributes.get("service.name"),
                        "name": span.name,
                        "trace_id": format(context.trace_id, "032x"),
                        "span_id": format(context.span_id, "016x"),
                        "parent_span_id": format(span.parent.span_id, "016x")
                        if span.parent
                        else None,
                        "kind": span.kind.name,
                        "start_ns": span.start_time,
                        "end_ns": span.end_time,
                        "attributes": dict(span.attributes or {}),
                    },
                    ensure_ascii=False,
                    default=str,
                )
            )
        with self._lock, open(self._path, "a", encoding="utf-8") as handle:
            handle.writelines(line + "\n" for line in lines)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        return None


def make_tracer_provider(
    service: str, trace_file: str | None, *, otlp: bool = False
) -> TracerProvider:
    """Spans to a JSON-lines file (development), and by OTLP/HTTP to a collector when
    `otlp` (the standard OTEL_EXPORTER_OTLP_* variables name it; the exporter reads them:
    endpoint, headers, timeout, certificate)."""
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    if trace_file:
        provider.add_span_processor(
            BatchSpanProcessor(JsonLinesSpanExporter(trace_file), schedule_delay_millis=200)
        )
    if otlp:
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return provider


def tracer_for(provider: TracerProvider, service: str) -> Tracer:
    return provider.get_tracer(f"prahari.{service}")


def no_op_tracer() -> Tracer:
    return trace.NoOpTracer()


_LIMIT = 20_000  # characters of one logged text


class JsonLogFormatter(logging.Formatter):
    """One JSON object per line, with the trace and span id of the current span. Phone
    numbers and email addresses are scrubbed from the message, the fields and tracebacks
    (prahari_events.privacy): logs travel further and live longer than anyone reads them."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self._service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "service": self._service,
            "logger": record.name,
            "msg": scrub(record.getMessage(), _LIMIT),
        }
        context = trace.get_current_span().get_span_context()
        if context.is_valid:
            entry["trace_id"] = format(context.trace_id, "032x")
            entry["span_id"] = format(context.span_id, "016x")
        extra = getattr(record, "fields", None)
        if isinstance(extra, dict):
            entry.update(
                {k: scrub(v, _LIMIT) if isinstance(v, str) else v for k, v in extra.items()}
            )
        if record.exc_info:
            entry["exc"] = scrub(self.formatException(record.exc_info), _LIMIT)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(service: str, level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    formatter = JsonLogFormatter(service)
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # aiokafka is chatty at INFO about every group join; keep its warnings.
    logging.getLogger("aiokafka").setLevel(max(logging.WARNING, root.level))
    for name in _STARTUP_NOISE:
        logging.getLogger(name).addFilter(_demote_startup_noise)


# aiokafka logs at ERROR that the group coordinator is not there yet, which it always says
# while a consumer group is being set up after a start, and then retries by itself: not an
# error for an operator to chase. Kept, at INFO.
_STARTUP_NOISE = {
    "aiokafka.consumer.group_coordinator": ("GroupCoordinatorNotAvailableError",),
}


def _demote_startup_noise(record: logging.LogRecord) -> bool:
    words = _STARTUP_NOISE.get(record.name, ())
    if record.levelno >= logging.ERROR and any(w in record.getMessage() for w in words):
        record.levelno, record.levelname = logging.INFO, "INFO"
    return True

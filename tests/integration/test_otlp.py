"""Traces by OTLP/HTTP: with OpenTelemetry's standard variables set, a service's spans reach
a collector; here a small OTLP receiver on loopback, which decodes what it is sent with
OpenTelemetry's own protobuf messages."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from prahari_events.config import CommonSettings, Env
from prahari_events.telemetry import make_tracer_provider, tracer_for
from tests.support import TOKEN_TRUST, free_port

pytestmark = pytest.mark.integration


class Receiver:
    def __init__(self) -> None:
        self.requests: list[ExportTraceServiceRequest] = []
        self.port = free_port()

    async def traces(self, request: web.Request) -> web.Response:
        assert request.content_type == "application/x-protobuf"
        message = ExportTraceServiceRequest()
        message.ParseFromString(await request.read())
        self.requests.append(message)
        return web.Response(
            body=ExportTraceServiceResponse().SerializeToString(),
            content_type="application/x-protobuf",
        )


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    found = Receiver()
    app = web.Application()
    app.router.add_post("/v1/traces", found.traces)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", found.port).start()
    try:
        yield found
    finally:
        await runner.cleanup()


async def test_spans_reach_an_otlp_collector_when_the_standard_variables_name_one(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    environ = {
        "PRAHARI_TOKEN_TRUST": TOKEN_TRUST,
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{receiver.port}",
    }
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    common = CommonSettings.from_env(Env(environ), service="intake", default_port=8081)
    assert common.otlp_traces
    provider = make_tracer_provider("intake", None, otlp=common.otlp_traces)
    with tracer_for(provider, "intake").start_as_current_span("POST /v1/reports"):
        pass
    # The exporter posts from its own thread; the receiver answers on this loop meanwhile.
    assert await asyncio.to_thread(provider.force_flush, 10_000)
    provider.shutdown()
    [sent] = receiver.requests
    [resource_spans] = sent.resource_spans
    attributes = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
    assert attributes["service.name"] == "intake"
    [scope] = resource_spans.scope_spans
    assert [s.name for s in scope.spans] == ["POST /v1/reports"]


def test_without_the_variables_nothing_is_exported() -> None:
    common = CommonSettings.from_env(
        Env({"PRAHARI_TOKEN_TRUST": TOKEN_TRUST}), service="intake", default_port=8081
    )
    assert not common.otlp_traces

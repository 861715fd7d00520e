"""Prometheus metrics, one registry per app (so that several apps in one process, as in the
tests, never mix), served at GET /metrics.

HTTP requests are counted and timed by a middleware, by route template (never by raw path:
no ids, no personal data in a label). Everything else is read when scraped from the objects
that already count it (a consumer's processed and dead-lettered messages and its lag, a
relay's published events, a dispatcher's outcomes per provider): `Metrics.add` registers a
reader, and several readers of one name (two consumers in one service) make one family.
`Metrics.probe` registers an async reading taken before each scrape (the outbox backlog is
a query).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from typing import Literal

from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

Reading = Callable[[], Mapping[tuple[str, ...], float]]
Probe = Callable[[], Awaitable[None]]


class _Read(Collector):
    def __init__(self, name: str, doc: str, kind: str, labels: Sequence[str]) -> None:
        self.name, self.doc, self.kind, self.labels = name, doc, kind, list(labels)
        self.readers: list[Reading] = []

    def describe(self) -> list[Metric]:
        return []  # read at scrape time only

    def collect(self) -> Iterator[Metric]:
        family: CounterMetricFamily | GaugeMetricFamily
        if self.kind == "counter":
            family = CounterMetricFamily(self.name, self.doc, labels=self.labels)
        else:
            family = GaugeMetricFamily(self.name, self.doc, labels=self.labels)
        for read in self.readers:
            for key, value in read().items():
                family.add_metric(list(key), value)
        yield family


class Metrics:
    def __init__(self, service: str, disk_paths: Sequence[str] = ("/",)) -> None:
        self.service = service
        self.registry = CollectorRegistry(auto_describe=False)
        self.requests = Counter(
            "prahari_http_requests",
            "HTTP requests answered, by route template, method and status",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "prahari_http_request_duration_seconds",
            "Time to answer an HTTP request, by route template and method",
            ["route", "method"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )
        self._families: dict[str, _Read] = {}
        self._probes: list[Probe] = []
        paths = list(disk_paths)
        self.add(
            "prahari_disk_free_bytes",
            "Free bytes on the file systems of PRAHARI_DISK_PATHS (Kafka's and PostgreSQL's"
            " data where they share the host)",
            "gauge",
            ["path"],
            lambda: {(p,): float(shutil.disk_usage(p).free) for p in paths if os.path.exists(p)},
        )

    def add(
        self,
        name: str,
        doc: str,
        kind: Literal["counter", "gauge"],
        labels: Sequence[str],
        read: Reading,
    ) -> None:
        family = self._families.get(name)
        if family is None:
            family = self._families[name] = _Read(name, doc, kind, labels)
            self.registry.register(family)
        family.readers.append(read)

    def probe(self, probe: Probe) -> None:
        self._probes.append(probe)

    async def exposition(self) -> bytes:
        # A probe that cannot answer (the database is down) leaves its last reading: the
        # scrape still shows everything else, and /readyz says what is down.
        await asyncio.gather(*(p() for p in self._probes), return_exceptions=True)
        return generate_latest(self.registry)


METRICS = web.AppKey("metrics", Metrics)


def route_of(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


@web.middleware
async def metrics_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        metrics = request.app[METRICS]
        route = route_of(request)
        metrics.requests.labels(route, request.method, str(status)).inc()
        metrics.latency.labels(route, request.method).observe(time.perf_counter() - started)


async def serve_metrics(request: web.Request) -> web.Response:
    """The Prometheus text format. No case data, no personal data: counts, by route,
    consumer, topic and provider. Served without a token, like /healthz; keep it to the
    scraper's network."""
    body = await request.app[METRICS].exposition()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

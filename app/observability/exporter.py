"""`GET /metrics` and the HTTP middleware that measures every request.

`/metrics` stays outside /api/v1 and out of the OpenAPI document: it is for a Prometheus scraper, in
Prometheus's text format, not part of the versioned API that clients build on.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler, Middleware
from aiohttp.web_urldispatcher import MatchInfoError
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)
from prometheus_client.process_collector import ProcessCollector

from app.keys import BROADCASTER_STATS, BROKER_STATS, FANOUT_STATS, METRICS, SETTINGS
from app.observability.ingest import INGEST_COUNTS
from app.observability.metrics import NAMESPACE, Metrics, ProcessMirror, StatsMirror

METRICS_PATH = "/metrics"
# Seconds between two copies of this worker's figures to the shared directory (multiprocess mode).
MIRROR_INTERVAL = 1.0
# A label value comes from this set or is `other`: a client's invented method must not grow the series.
_METHODS = frozenset(hdrs.METH_ALL)
# The route label of a request that matched no route (a 404 of any path, which must not become a label).
UNMATCHED = "unmatched"


@dataclass(slots=True)
class Exporter:
    """The metrics of one app, what fills them, and how a scrape reads them."""

    metrics: Metrics
    mirror: StatsMirror
    # Multiprocess mode: the shared directory, and this worker's process figures.
    multiproc_dir: str = ""
    process: ProcessMirror | None = None
    # One process: the registry a scrape reads (the metrics and prometheus-client's process collector).
    registry: CollectorRegistry | None = None

    def update(self) -> None:
        """Copy this process's figures into the metrics."""
        self.mirror.update()
        if self.process is not None:
            self.process.update()

    def exposition(self) -> bytes:
        """The text format of every metric; in multiprocess mode, every worker's combined."""
        if self.registry is not None:
            return generate_latest(self.registry)
        combined = CollectorRegistry()
        multiprocess.MultiProcessCollector(combined, path=self.multiproc_dir)  # type: ignore[no-untyped-call]
        return generate_latest(combined)


async def _route(request: web.Request) -> str:
    """The matched resource's canonical path (`/api/v1/datafeed/resolve/{symbol}`), never the raw URL; for a 405,
    the resource whose path matched (aiohttp keeps none for it); UNMATCHED for a path no route serves."""
    match_info = request.match_info
    resource = match_info.route.resource
    if resource is not None:
        return resource.canonical
    if isinstance(match_info, MatchInfoError) and match_info.http_exception.status == 405:
        for candidate in request.app.router.resources():
            _, allowed = await candidate.resolve(request)
            if allowed:
                return candidate.canonical
    return UNMATCHED


def _method(request: web.BaseRequest) -> str:
    return request.method if request.method in _METHODS else "other"


def measure_requests(metrics: Metrics) -> Middleware:
    """Middleware (outermost): time each request from its arrival to its handler's answer."""
    # Each label set's child, looked up once: prometheus-client's `labels()` costs microseconds a call. Bounded:
    # the labels are a method of a fixed set and a route of the app.
    durations: dict[tuple[str, str], Histogram] = {}

    async def observe(request: web.Request, seconds: float) -> None:
        labels = (_method(request), await _route(request))
        if (child := durations.get(labels)) is None:
            child = durations[labels] = metrics.http_duration.labels(*labels)
        child.observe(seconds)

    @web.middleware
    async def measure(request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.perf_counter()
        try:
            response = await handler(request)
        except asyncio.CancelledError:
            # The client left before an answer: there is no latency to record.
            raise
        except BaseException:
            await observe(request, time.perf_counter() - started)
            raise
        if response.status != 101:  # a WebSocket's time is its whole connection, not a latency
            await observe(request, time.perf_counter() - started)
        return response

    return measure


def count_answers(metrics: Metrics) -> Callable[[web.Request, web.StreamResponse], Awaitable[None]]:
    """`on_response_prepare` hook: count each answer by method, route and the status it is sent with.

    Counted here, not in the middleware: a file's status (304 for a revalidation, 206 or 416 for a range) is
    decided when it is sent, after the handler returned 200; a WebSocket's 101 counts at the upgrade.
    """
    # As in `measure_requests`; statuses are those the app sends, a bounded set too.
    counters: dict[tuple[str, str, int], Counter] = {}

    async def count(request: web.Request, response: web.StreamResponse) -> None:
        labels = (_method(request), await _route(request), response.status)
        if (child := counters.get(labels)) is None:
            child = counters[labels] = metrics.http_requests.labels(labels[0], labels[1], str(labels[2]))
        child.inc()

    return count


async def serve_metrics(request: web.Request) -> web.Response:
    """Every metric in Prometheus text format (the version prometheus-client writes, named in Content-Type)."""
    exporter = request.app[METRICS]
    exporter.update()
    # Reading the multiprocess files is file I/O; off the loop, so a scrape never delays a broadcast.
    body = await asyncio.to_thread(exporter.exposition)
    return web.Response(body=body, headers={hdrs.CONTENT_TYPE: CONTENT_TYPE_LATEST})


async def _mirror_periodically(app: web.Application) -> AsyncIterator[None]:
    """Multiprocess mode: write this worker's figures to the shared directory every MIRROR_INTERVAL seconds;
    at exit, write its final counts (the connections closed at shutdown among them) and take its live gauges
    out of the sum."""
    exporter = app[METRICS]

    async def run() -> None:
        while True:
            exporter.update()
            await asyncio.sleep(MIRROR_INTERVAL)

    task = asyncio.create_task(run())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    exporter.update()
    multiprocess.mark_process_dead(os.getpid(), exporter.multiproc_dir)  # type: ignore[no-untyped-call]


def setup_metrics(app: web.Application) -> None:
    """`GET /metrics`, the request middleware and the broadcaster's lag; call after the WebSocket room and ingest are
    set up."""
    settings = app[SETTINGS]
    if not settings.metrics_enabled:
        return
    # A `_created` series beside every counter doubles the output for a figure Prometheus does not use.
    disable_created_metrics()  # type: ignore[no-untyped-call]
    multiproc_dir = settings.prometheus_multiproc_dir
    registry = None if multiproc_dir else CollectorRegistry()
    metrics = Metrics(registry)
    mirror = StatsMirror(metrics, app[FANOUT_STATS], app[BROADCASTER_STATS], app[BROKER_STATS], app.get(INGEST_COUNTS))
    exporter = Exporter(metrics, mirror, multiproc_dir)
    if registry is not None:
        ProcessCollector(namespace=NAMESPACE, registry=registry)
        exporter.registry = registry
    else:
        exporter.process = ProcessMirror()
        app.cleanup_ctx.append(_mirror_periodically)
    app[METRICS] = exporter
    app[BROADCASTER_STATS].lag_observer = metrics.broadcaster_lag.observe
    app.middlewares.insert(0, measure_requests(metrics))
    app.on_response_prepare.append(count_answers(metrics))
    app.router.add_get(METRICS_PATH, serve_metrics)

"""The Prometheus metrics and how the WebSocket room's figures get into them.

The hub and the broadcaster already count deliveries, drops and closes as plain integers (`app.stats`);
nothing here runs per delivered update. `StatsMirror.update()` copies those figures into the metrics: at each
scrape, and in multiprocess mode also once a second (another worker's scrape reads this worker's figures from
the shared directory, so they must be written there without waiting for a scrape of this worker). A custom
collector would read them at scrape time only, which multiprocess mode cannot combine across workers.

Multiprocess mode (PROMETHEUS_MULTIPROC_DIR): counters and histograms sum over every worker that ever ran
since the directory was emptied; the gauges of open connections, topics and subscriptions are `livesum` (the
sum over live workers); process memory and descriptors are `liveall` (one series per live worker, labelled
`pid`); process CPU is a counter summed over workers.
"""

from __future__ import annotations

from typing import Literal

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.process_collector import ProcessCollector

from app.market.resolutions import Resolution
from app.observability.ingest import IngestCounts
from app.stats import BroadcasterStatsSource, BrokerStatsSource, CloseReason, FanoutStatsSource

NAMESPACE = "tradingpro"
GaugeMode = Literal["livesum", "liveall", "livemin"]
# HTTP latency buckets (seconds): cached bars answer in well under a millisecond, cold history in seconds.
HTTP_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# How a trade posted to ingest fared.
INGEST_OUTCOMES = ("accepted", "refused")
# Broadcaster lag buckets (seconds): a tick is normally done within milliseconds of being due.
LAG_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    """Every metric of the server. `registry` None: multiprocess mode, where values live in the shared directory."""

    def __init__(self, registry: CollectorRegistry | None) -> None:
        def counter(name: str, help_text: str, labels: tuple[str, ...] = ()) -> Counter:
            return Counter(name, help_text, labels, namespace=NAMESPACE, registry=registry)

        def gauge(name: str, help_text: str, labels: tuple[str, ...] = (), mode: GaugeMode = "livesum") -> Gauge:
            return Gauge(name, help_text, labels, namespace=NAMESPACE, registry=registry, multiprocess_mode=mode)

        self.http_requests = counter(
            "http_requests",
            "HTTP requests answered, by method, route template and status",
            ("method", "route", "status"),
        )
        self.http_duration = Histogram(
            "http_request_duration_seconds",
            "Seconds from a request's arrival at the app to its handler's answer, by method and route template "
            "(WebSocket upgrades are counted in http_requests_total only)",
            ("method", "route"),
            namespace=NAMESPACE,
            registry=registry,
            buckets=HTTP_BUCKETS,
        )
        self.ws_connections = gauge("ws_connections", "Open WebSocket connections")
        self.ws_topics = gauge("ws_topics", "Topics with at least one subscriber")
        self.ws_subscriptions = gauge("ws_subscriptions", "Topic subscriptions held, by resolution", ("resolution",))
        self.updates_sent = counter("ws_updates_sent", "Writes of bar updates to WebSocket subscribers")
        self.updates_dropped = counter(
            "ws_updates_dropped", "Bar updates skipped for subscribers that were not reading"
        )
        self.ws_closed = counter(
            "ws_connections_closed", "WebSocket connections ended (or refused at the handshake), by reason", ("reason",)
        )
        self.broadcaster_ticks = counter("broadcaster_ticks", "Market ticks the broadcaster has run")
        self.broadcaster_lag = Histogram(
            "broadcaster_tick_lag_seconds",
            "Seconds from when a broadcaster tick was due until its last update was written",
            namespace=NAMESPACE,
            registry=registry,
            buckets=LAG_BUCKETS,
        )
        self.ingest_trades = counter(
            "ingest_trades",
            "Trades posted to /api/v1/ingest/trades: accepted, or refused (every trade of a refused request)",
            ("outcome",),
        )
        self.ingest_bars_written = counter("ingest_bars_written", "Bars built by ingested trades written to the store")
        # With several workers: how many of this machine's lead (at most one in a deployment), and 0 while any is
        # cut off from the broker.
        self.broker_leader = gauge("broker_leader", "1 while this process runs the bar broadcaster (holds the lease)")
        self.broker_connected = gauge(
            "broker_connected", "1 while this process reaches its broker (always for memory://)", mode="livemin"
        )
        self.broker_leaderships = counter("broker_leaderships", "Times this process took the bar broadcaster's lease")
        self.broker_reconnects = counter("broker_reconnects", "Reconnections to the broker after being cut off")
        self.broker_disconnected = counter(
            "broker_disconnected_seconds", "Seconds spent cut off from the broker: no updates came meanwhile"
        )
        self.broker_updates = counter("broker_updates_received", "Updates received from the broker")
        self.broker_refused = counter(
            "broker_publishes_refused",
            "Publishes refused by the fencing check: this process had lost the lease without knowing yet",
        )
        # Series that exist from the start, at 0, so a rate over them is defined before the first event.
        for outcome in INGEST_OUTCOMES:
            self.ingest_trades.labels(outcome)
        for resolution in Resolution:
            self.ws_subscriptions.labels(resolution.value)
        for reason in CloseReason:
            self.ws_closed.labels(reason.value)


class StatsMirror:
    """Copies the hub's, the broadcaster's and ingest's figures (when it is on) into `Metrics`; counters advance by
    what changed."""

    def __init__(
        self,
        metrics: Metrics,
        fanout: FanoutStatsSource,
        broadcaster: BroadcasterStatsSource,
        broker: BrokerStatsSource,
        ingest: IngestCounts | None = None,
    ) -> None:
        self._metrics = metrics
        self._fanout = fanout
        self._broadcaster = broadcaster
        self._broker = broker
        self._ingest = ingest
        # The totals already added to each counter.
        self._copied: dict[object, float] = {}

    def _advance(self, counter: Counter, key: object, total: float) -> None:
        added = total - self._copied.get(key, 0)
        if added > 0:
            counter.inc(added)
            self._copied[key] = total

    def update(self) -> None:
        """Bring every mirrored metric to the figures now; O(topics)."""
        metrics = self._metrics
        fanout = self._fanout.stats()
        sockets = self._fanout.socket_stats()
        metrics.ws_connections.set(fanout.connections)
        metrics.ws_topics.set(fanout.topics)
        for resolution in Resolution:
            metrics.ws_subscriptions.labels(resolution.value).set(sockets.subscriptions.get(resolution.value, 0))
        self._advance(metrics.updates_sent, "sent", fanout.delivered)
        self._advance(metrics.updates_dropped, "dropped", fanout.dropped)
        for reason, total in sockets.closed.items():
            self._advance(metrics.ws_closed.labels(reason.value), reason, total)
        self._advance(metrics.broadcaster_ticks, "ticks", self._broadcaster.stats().ticks)
        broker = self._broker.stats()
        metrics.broker_leader.set(broker.leading)
        metrics.broker_connected.set(broker.connected)
        self._advance(metrics.broker_leaderships, "leaderships", broker.leaderships)
        self._advance(metrics.broker_reconnects, "reconnects", broker.reconnects)
        self._advance(metrics.broker_disconnected, "disconnected", broker.disconnected_seconds)
        self._advance(metrics.broker_updates, "updates", broker.updates_received)
        self._advance(metrics.broker_refused, "refused", broker.publishes_refused)
        if self._ingest is not None:
            self._advance(metrics.ingest_trades.labels("accepted"), "accepted", self._ingest.trades_accepted)
            self._advance(metrics.ingest_trades.labels("refused"), "refused", self._ingest.trades_refused)
            self._advance(metrics.ingest_bars_written, "bars_written", self._ingest.bars_written)


class ProcessMirror:
    """Multiprocess mode only: this worker's CPU, memory and descriptors, which prometheus-client's process
    collector reports for the scraped process alone, written to the shared directory under the same names."""

    def __init__(self) -> None:
        self._source = ProcessCollector(namespace=NAMESPACE, registry=None)
        pid_help = "of this worker (multiprocess mode: one series per live worker, label pid)"
        self._gauges = {
            f"{NAMESPACE}_process_resident_memory_bytes": Gauge(
                "process_resident_memory_bytes",
                f"Resident memory in bytes {pid_help}",
                namespace=NAMESPACE,
                registry=None,
                multiprocess_mode="liveall",
            ),
            f"{NAMESPACE}_process_open_fds": Gauge(
                "process_open_fds",
                f"Open file descriptors {pid_help}",
                namespace=NAMESPACE,
                registry=None,
                multiprocess_mode="liveall",
            ),
        }
        self._cpu = Counter(
            "process_cpu_seconds", "User and system CPU seconds of all workers", namespace=NAMESPACE, registry=None
        )
        self._cpu_copied = 0.0

    def update(self) -> None:
        """Read this process's figures (/proc) and write them."""
        for family in self._source.collect():
            for sample in family.samples:
                gauge = self._gauges.get(sample.name)
                if gauge is not None:
                    gauge.set(sample.value)
                elif sample.name == f"{NAMESPACE}_process_cpu_seconds_total" and sample.value > self._cpu_copied:
                    self._cpu.inc(sample.value - self._cpu_copied)
                    self._cpu_copied = sample.value

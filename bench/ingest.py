"""Live ingest benchmark: trades per second one server process takes while 1,000 WebSocket subscribers receive the
bars they build, and the latency from a POST to the update that shows it on a client.

A fresh server (`python -m app`, pinned to CPU 0) serves an SQLite store of four crypto instruments made for live
ingest (ING0..ING3: 24x7, cents, volumes to 1/10,000), with INGEST_TOKEN set. A subscriber process (CPU 1) opens
--subscribers WebSocket clients, spread over the 16 topics bars:INGn:{1,5,60,1D}. A publisher process (CPU 1 too)
POSTs batches of --batch trades to /api/v1/ingest/trades for --duration seconds: paced at --rate trades per second
(the target, 50,000) over one keep-alive connection, or as fast as the server answers over --in-flight connections
(each with its own share of the instruments, one request at a time, so that an instrument's batches apply in order).
Each batch k of a connection gives each of its instruments an equal share of the trades, stamped with the same time,
the last one (which closes the bar: trades of equal time apply in order) at the marker price 100.00 + k cents and the
others below it: an update whose close is 100.00 + k cents shows batch k and every one before.

Figures:
- trades/s accepted: trades answered 200 during the window, per second; POST round trip p50/p99;
- updates/s delivered: bar updates received by all clients during the window, per second;
- update latency p50/p99: for each client and each batch, from just before the batch's POST was sent to the arrival of
  the first update on that client whose marker shows it (all clocks are this machine's CLOCK_MONOTONIC). A batch
  waits for the next broadcaster tick, so latency spreads over one BAR_BROADCASTER_INTERVAL (--intervals): with the
  default 1 s, p50 is about half a second by design;
- server CPU utilisation over the window, and server CPU per trade accepted (the broadcast included).

Every update is parsed and checked (wsclient.update_problem: a bars.update of the topic, OHLC in order, time never
going back). A run with an error answer, a malformed update, or a subscriber that received nothing is FAILED (exit
status 1).

    .venv/bin/python bench/ingest.py [--subscribers 1000] [--rate 50000] [--intervals 1.0,0.25] [--duration 15]

Results are printed and written to bench/results/ingest.json.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from harness import (
    CLIENT_CPU,
    HOST,
    REPO_ROOT,
    Child,
    Message,
    cpu_times,
    format_table,
    recv_async,
    start_child,
    start_server,
    wait_for_quiet,
    write_json,
)
from wsclient import SERVER_ENV, WsClient, close_all, sampling_report, spread, subscribe_all, ws_environment

TOKEN = "bench-ingest-token-0123456789"
INSTRUMENTS = ("ING0", "ING1", "ING2", "ING3")
RESOLUTIONS = ("1", "5", "60", "1D")
# Marker prices: 100.00 + k cents for batch k, in ticks of 1/100.
BASE_TICKS = 10_000
TARGET_TRADES_PER_SECOND = 50_000
INGEST_PATH = "/api/v1/ingest/trades"


@dataclass(frozen=True)
class Run:
    label: str
    # Trades per second the publisher aims at; 0: as fast as the server answers.
    rate: int
    interval: float


@dataclass(frozen=True)
class SubscriberParams:
    port: int
    subscribers: int
    concurrency: int
    time_limit: float


@dataclass(frozen=True)
class PublisherParams:
    port: int
    rate: int
    batch: int
    duration: float
    in_flight: int


# --- the subscriber process ----------------------------------------------------------------------


class Probe(WsClient):
    """A client that checks every update and notes when each arrived and the marker of its close."""

    def __init__(self, port: int) -> None:
        super().__init__(port, sample_every=1)
        self.arrivals: list[float] = []
        self.markers: list[int] = []

    def _check(self, frame: bytes | bytearray) -> None:
        arrived = time.monotonic()
        super()._check(frame)
        at = frame.find(b'"close":')
        if at >= 0:
            end = frame.find(b",", at)
            self.arrivals.append(arrived)
            self.markers.append(round(float(frame[at + 8 : end]) * 100) - BASE_TICKS)


async def open_probes(port: int, count: int, concurrency: int, time_limit: float) -> list[Probe]:
    """`count` upgraded connections, at most `concurrency` handshakes at a time."""
    loop, gate = asyncio.get_running_loop(), asyncio.Semaphore(concurrency)

    async def one() -> Probe:
        async with gate, asyncio.timeout(time_limit):
            _, probe = await loop.create_connection(lambda: Probe(port), HOST, port)
            await probe.opened
            return probe

    return list(await asyncio.gather(*(one() for _ in range(count))))


async def subscribers(pipe: Connection, params: SubscriberParams) -> None:
    """Connect and subscribe, say so, record until told to stop; report every client's arrivals and markers."""
    probes = await open_probes(params.port, params.subscribers, params.concurrency, params.time_limit)
    topics = [(symbol, resolution) for symbol in INSTRUMENTS for resolution in RESOLUTIONS]
    answered, errors = await subscribe_all(probes, topics, params.time_limit + params.subscribers / 1000)
    subscribed = [probe for probe in probes if probe in answered]
    pipe.send({"subscribed": len(subscribed), "errors": [str(error) for error in errors[:5]]})
    await recv_async(pipe, 3600)
    pipe.send(
        {
            "arrivals": [probe.arrivals for probe in subscribed],
            "markers": [probe.markers for probe in subscribed],
            "topics": [probe.topic for probe in subscribed],
            "lost": sum(probe.lost for probe in subscribed),
            "sampling": sampling_report(subscribed),
        }
    )
    await close_all(subscribed)


# --- the publisher process -----------------------------------------------------------------------


def batch_body(k: int, symbols: Sequence[str], size: int, time_ms: int, rng: np.random.Generator) -> bytes:
    """Batch k: for each of `symbols`, trades at one time, the last at the marker price and the others below it."""
    each = size // len(symbols)
    trades = []
    for symbol in symbols:
        prices = (BASE_TICKS + k - rng.integers(1, 50, each)) / 100
        prices[-1] = (BASE_TICKS + k) / 100
        sizes = rng.integers(1, 10_000, each) / 10_000
        trades += [
            {"symbol": symbol, "price": p, "size": s, "time": time_ms}
            for p, s in zip(prices.tolist(), sizes.tolist(), strict=True)
        ]
    return orjson.dumps({"trades": trades})


async def publisher(pipe: Connection, params: PublisherParams) -> None:
    """POST batches for `duration` seconds over `in_flight` keep-alive connections, each one request at a time for
    its own share of the instruments (so that each instrument's batches apply in order), paced or flat out; report
    each connection's instruments and each batch's send and answer times and status."""
    import aiohttp

    url = f"http://{HOST}:{params.port}{INGEST_PATH}"
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    shares = [INSTRUMENTS[c :: params.in_flight] for c in range(params.in_flight)]
    sent: list[list[float]] = [[] for _ in shares]
    answered: list[list[float]] = [[] for _ in shares]
    statuses: list[int] = []
    problems: list[str] = []
    # Each connection paces its own batches at its share of the rate.
    period = params.batch * params.in_flight / params.rate if params.rate else 0.0
    started = time.monotonic()

    async def post(session: aiohttp.ClientSession, share: int) -> None:
        rng, last_ms = np.random.default_rng(share), 0
        for k in itertools.count():
            if time.monotonic() - started >= params.duration:
                return
            if period:
                await asyncio.sleep(max(0.0, started + k * period - time.monotonic()))
            # Strictly later than the batch before: each batch's marker closes the bars.
            last_ms = max(int(time.time() * 1000), last_ms + 1)
            body = batch_body(k, shares[share], params.batch, last_ms, rng)
            sent[share].append(time.monotonic())
            async with session.post(url, data=body, headers=headers) as response:
                text = await response.read()
                answered[share].append(time.monotonic())
                statuses.append(response.status)
                if response.status != 200 and len(problems) < 5:
                    problems.append(f"{response.status}: {text[:300]!r}")

    connector = aiohttp.TCPConnector(limit=params.in_flight)
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(post(session, share) for share in range(params.in_flight)))
    pipe.send(
        {
            "started": started,
            "ended": time.monotonic(),
            "shares": [list(share) for share in shares],
            "sent": sent,
            "answered": answered,
            "statuses": statuses,
            "problems": problems,
        }
    )


# --- the driver ----------------------------------------------------------------------------------


def make_store(directory: Path) -> str:
    """An SQLite store of the instruments, with no bars; its STORE_URL."""
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))
    from app.market.instruments import AssetClass
    from app.store.base import InstrumentSpec
    from app.store.open import open_store

    url = f"sqlite:///{directory / 'ingest.db'}"
    store = open_store(url)
    try:
        store.migrate()
        for symbol in INSTRUMENTS:
            spec = InstrumentSpec(symbol, AssetClass.CRYPTO, "CRYPTO", "Etc/UTC", "24x7", symbol, 100, 1, 4)
            store.put_instrument(spec)
    finally:
        store.close()
    return url


def latencies(sent: Sequence[float], arrivals: Sequence[Sequence[float]], markers: Sequence[Sequence[int]]) -> Any:
    """Per client and batch: seconds from the batch's send to the first update on the client that shows it."""
    found, missing = [], 0
    times = np.array(sent)
    for arrived, marked in zip(arrivals, markers, strict=True):
        if not arrived:
            missing += len(times)
            continue
        # Markers never go back on a topic; the running maximum guards against a reordering all the same.
        seen = np.maximum.accumulate(np.array(marked))
        first = np.searchsorted(seen, np.arange(len(times)), side="left")
        shown = first < len(seen)
        found.append(np.array(arrived)[first[shown]] - times[shown])
        missing += int((~shown).sum())
    return (np.concatenate(found) if found else np.zeros(0)), missing


def measure(run: Run, args: argparse.Namespace) -> Message:
    """One fresh server and store, the subscribers, the publisher; the figures."""
    with tempfile.TemporaryDirectory(prefix="trading-pro-ingest-") as directory:
        env = SERVER_ENV | {
            "STORE_URL": make_store(Path(directory)),
            "INGEST_TOKEN": TOKEN,
            "BAR_BROADCASTER_INTERVAL": str(run.interval),
            "ACCESS_LOG": "false",
        }
        server = start_server(env)
        children: list[Child] = []
        try:
            listeners = start_child(
                subscribers, SubscriberParams(server.port, args.subscribers, 100, 30.0), cpu=CLIENT_CPU
            )
            children.append(listeners)
            ready = listeners.recv(120)
            before = cpu_times(server.pid), time.monotonic()
            publishing = start_child(
                publisher,
                PublisherParams(server.port, run.rate, args.batch, args.duration, 1 if run.rate else args.in_flight),
                cpu=CLIENT_CPU,
            )
            children.append(publishing)
            published = publishing.recv(args.duration + 120)
            after = cpu_times(server.pid), time.monotonic()
            # The last batches go out with the next ticks.
            time.sleep(2 * run.interval + 0.5)
            listeners.send({"command": "report"})
            heard = listeners.recv(120)
            server.check_alive()
        finally:
            for child in children:
                child.stop()
            server.stop()
    return derive(run, args, ready, published, heard, before, after)


def derive(
    run: Run, args: argparse.Namespace, ready: Message, published: Message, heard: Message, before: Any, after: Any
) -> Message:
    """The figures of a run from what the subscribers and the publisher reported, and the server's CPU times before
    and after the window (with the monotonic clock's reading)."""
    window = published["ended"] - published["started"]
    statuses = published["statuses"]
    ok = statuses.count(200)
    start, end = published["started"], published["ended"]
    per_client = [sum(start <= t <= end for t in arrived) for arrived in heard["arrivals"]]
    # Each client's topic names its instrument, whose batches one connection sent.
    owner = {symbol: c for c, share in enumerate(published["shares"]) for symbol in share}
    lat, missing = np.zeros(0), 0
    for c, sent in enumerate(published["sent"]):
        mine = [i for i, topic in enumerate(heard["topics"]) if owner[topic.split(":")[1]] == c]
        found, lost = latencies(sent, [heard["arrivals"][i] for i in mine], [heard["markers"][i] for i in mine])
        lat, missing = np.concatenate((lat, found)), missing + lost
    round_trips = np.concatenate(
        [np.array(a) - np.array(s) for a, s in zip(published["answered"], published["sent"], strict=True)]
    )
    server_cpu = sum(after[0]) - sum(before[0])
    return asdict(run) | {
        "subscribers": args.subscribers,
        "batch": args.batch,
        "subscribed": ready["subscribed"],
        "subscribe_errors": ready["errors"],
        "window_seconds": window,
        "batches": len(statuses),
        "error_answers": len(statuses) - ok,
        "answer_problems": published["problems"],
        "trades_per_second": ok * args.batch / window,
        "post_round_trip_p50_ms": float(np.percentile(round_trips, 50) * 1000),
        "post_round_trip_p99_ms": float(np.percentile(round_trips, 99) * 1000),
        "updates_per_second": sum(per_client) / window,
        "per_client_updates": spread(per_client),
        "latency_samples": len(lat),
        "latency_missing": missing,
        "latency_p50_ms": float(np.percentile(lat, 50) * 1000) if len(lat) else None,
        "latency_p99_ms": float(np.percentile(lat, 99) * 1000) if len(lat) else None,
        "latency_max_ms": float(lat.max() * 1000) if len(lat) else None,
        "server_cpu_utilisation": server_cpu / (after[1] - before[1]),
        # The broadcast to the subscribers included.
        "server_us_per_trade": server_cpu / max(ok * args.batch, 1) * 1e6,
        "lost_connections": heard["lost"],
        "sampling": heard["sampling"],
    }


def failures(result: Message) -> list[str]:
    found = []
    if "error" in result:
        return [result["error"]]
    if result["error_answers"]:
        found.append(f"{result['error_answers']} error answers: {result['answer_problems']}")
    if result["sampling"]["malformed_frames"]:
        found.append(f"malformed updates: {result['sampling']['problems']}")
    if result["per_client_updates"]["starved"]:
        found.append(f"{result['per_client_updates']['starved']} subscriber(s) received nothing")
    if result["subscribed"] < result["subscribers"]:
        found.append(f"only {result['subscribed']} of {result['subscribers']} subscribed: {result['subscribe_errors']}")
    return found


def table(results: Sequence[Message]) -> str:
    headers = (
        "run",
        "interval s",
        "trades/s",
        "POST p50/p99 ms",
        "updates/s",
        "latency p50/p99/max ms",
        "srv CPU",
        "srv us/trade",
        "verdict",
    )
    rows = []
    for result in results:
        if "error" in result:
            rows.append([result["label"], f"{result['interval']:g}", "ERROR", "", "", "", "", "", "FAILED"])
            continue
        rows.append(
            [
                result["label"],
                f"{result['interval']:g}",
                f"{result['trades_per_second']:,.0f}",
                f"{result['post_round_trip_p50_ms']:.1f}/{result['post_round_trip_p99_ms']:.1f}",
                f"{result['updates_per_second']:,.0f}",
                f"{result['latency_p50_ms']:.0f}/{result['latency_p99_ms']:.0f}/{result['latency_max_ms']:.0f}",
                f"{result['server_cpu_utilisation']:.0%}",
                f"{result['server_us_per_trade']:.2f}",
                "FAILED" if failures(result) else "ok",
            ]
        )
    return format_table(headers, rows)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=1000, help="trades per request")
    parser.add_argument("--rate", type=int, default=TARGET_TRADES_PER_SECOND, help="paced trades/s of the paced runs")
    parser.add_argument("--intervals", default="1.0,0.25", help="BAR_BROADCASTER_INTERVAL of the paced runs, seconds")
    parser.add_argument("--duration", type=float, default=15.0, help="seconds of publishing per run")
    parser.add_argument("--in-flight", type=int, default=2, help="requests in flight in the flat-out run")
    parser.add_argument(
        "--flat-out",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also a run publishing as fast as the server answers",
    )
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    intervals = [float(value) for value in args.intervals.split(",") if value.strip()]
    runs = [Run("paced", args.rate, interval) for interval in intervals]
    if args.flat_out:
        runs.append(Run("flat out", 0, intervals[0]))
    results = []
    for run in runs:
        wait_for_quiet()
        print(f"{run.label}: {run.rate or 'max'} trades/s, broadcaster every {run.interval:g} s ...", flush=True)
        try:
            results.append(measure(run, args))
        except Exception as error:
            results.append(asdict(run) | {"error": f"{type(error).__name__}: {error}"})
    print(table(results))
    for result in results:
        for failure in failures(result):
            print(f"FAILED {result['label']} ({result['interval']:g} s): {failure}")
    target = [r for r in results if r["label"] == "flat out" and "error" not in r]
    if target:
        met = target[0]["trades_per_second"] >= TARGET_TRADES_PER_SECOND
        print(
            f"Target {TARGET_TRADES_PER_SECOND:,} trades/s with {args.subscribers:,} subscribers: "
            f"{target[0]['trades_per_second']:,.0f} ({'met' if met else 'MISSED'})"
        )
    path = write_json("ingest.json", {"environment": ws_environment(), "args": vars(args), "results": results})
    print(f"Written to {path}")
    return 1 if any(failures(result) for result in results) else 0


if __name__ == "__main__":
    sys.exit(main())

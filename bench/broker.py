"""Scale-out benchmark: one server process on BROKER_URL=memory:// against two sharing a Redis, with 1,000 WebSocket
subscribers on the other process than the one taking the trades.

Deployments (each started fresh per run, on one SQLite store in a temporary directory that both processes open, with
the instruments of bench/ingest.py and INGEST_TOKEN set):
- memory: one process, memory:// (the default);
- Redis: two processes on the machine's Redis (--redis-url, default redis://127.0.0.1:6379/0; a private redis-server
  on a free port when none answers there), under a BROKER_PREFIX of this run alone whose keys are deleted afterwards.
  The first is started alone and waited for until it leads (runs the broadcaster); the second follows.

Runs:
- fan-out: --subscribers clients of bars:BTCUSD:1 (simulated) on the one process, or on the follower, with the
  broadcaster every 4 ms: more ticks than one process can fan out, so the figure is what it delivers, updates per
  second counted at the clients over --window seconds;
- latency: --posts single-trade ingest POSTs, one every 45 ms (not a multiple of the tick, so that POSTs fall on
  every phase of it), to one instrument (ING0 or ING1) whose four topics (resolutions 1, 5, 60, 1D) the subscribers
  follow, with the broadcaster every 50 ms (the same for both deployments; the wait for the next tick, 0 to 50 ms,
  is in every figure). POST k sets the close to 100.00 + k cents; its latency on a client runs from just before the
  POST is sent to the first update on that client with a close of at least that (bench/ingest.py's markers; every
  clock is this machine's CLOCK_MONOTONIC). On Redis two phases on one pair of processes: POSTs to the follower
  (forwarded to the leader over Redis) with the subscribers on the leader, then POSTs to the leader with the
  subscribers on the follower; either way an update reaches its clients through Redis pub/sub.

Pinning on the 2-core machine: the process serving the subscribers on CPU 0; the other server process, the client
processes (subscribers, publisher) and this script on CPU 1; Redis where the kernel puts it. Each run prints what
shared the cores: our processes' CPU, Redis's (when its process is on this machine) and the rest (other processes,
loopback softirq).

Every 50th update of each client is parsed and checked (wsclient.update_problem: a bars.update of the topic, OHLC in
order, time never going back); the latency runs read every update's close.

Printed: a table per run, the ratio of fan-out throughput Redis/memory and the p50/p99 latency Redis adds (target:
at most 5 ms p99 on loopback; reported, not asserted). A run with an error answer, a malformed update, a subscriber
that received nothing or a leader that changed during the run is FAILED (exit status 1).

    .venv/bin/python bench/broker.py [--quick] [--subscribers 1000] [--posts 240] [--window 8]

Results are also written to bench/results/broker.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import socket
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import orjson
import redis
from harness import (
    CLIENT_CPU,
    HOST,
    SERVER_CPU,
    Child,
    LiveServer,
    Message,
    core_times,
    cpu_seconds,
    fetch,
    format_table,
    raise_fd_limit,
    recv_async,
    start_child,
    wait_for_quiet,
    write_json,
)
from ingest import BASE_TICKS, INGEST_PATH, RESOLUTIONS, TOKEN, latencies, make_store
from wsclient import (
    SAMPLE_EVERY,
    SERVER_ENV,
    WsClient,
    close_all,
    gather_crowd,
    sampling_report,
    spread,
    subscribe_all,
    ws_environment,
)

# Importable once harness has put the repository on the path.
from tests.live_server import start
from tests.redis_server import RedisServer

MACHINE_REDIS = "redis://127.0.0.1:6379/0"
FANOUT_INTERVAL = 0.004
LATENCY_INTERVAL = 0.05
POST_PERIOD = 0.045
TARGET_ADDED_P99_MS = 5.0
# Other work on the shared machine, in shares of a core, past which a run's figures are said to be disturbed.
DISTURBED = 0.2
LEADER_WAIT = 20.0
DATAFEED_HEALTH = "/api/v1/datafeed/health"


@dataclass(frozen=True)
class FanoutParams:
    port: int
    subscribers: int
    window: float
    settle: float


@dataclass(frozen=True)
class ProbeParams:
    port: int
    subscribers: int
    symbol: str


@dataclass(frozen=True)
class PostParams:
    port: int
    symbol: str
    posts: int
    period: float


@dataclass
class Deployment:
    """The server processes of one run: on memory:// the leader is the follower too."""

    broker: str
    leader: LiveServer
    follower: LiveServer
    redis_pid: int | None = None
    servers: list[LiveServer] = field(default_factory=list)


# --- the client processes ------------------------------------------------------------------------


async def fanout_load(pipe: Connection, params: FanoutParams) -> None:
    """Connect and subscribe the clients to bars:BTCUSD:1, count their updates over one window, report, close."""
    crowd = await gather_crowd(params.port, [("BTCUSD", "1")], params.subscribers, concurrency=100, time_limit=30)
    await asyncio.sleep(params.settle)
    pipe.send({"ready": True})
    await recv_async(pipe, 60)
    before, began = [c.texts for c in crowd.clients], time.monotonic()
    await asyncio.sleep(params.window)
    wall = time.monotonic() - began
    counts = [c.texts - b for c, b in zip(crowd.clients, before, strict=True)]
    pipe.send(
        crowd.report()
        | {
            "updates_per_second": sum(counts) / wall,
            "per_client_updates": spread(counts),
            "sampling": sampling_report(crowd.clients),
            "lost_connections": sum(c.lost for c in crowd.clients),
        }
    )
    await close_all(crowd.clients)


class Probe(WsClient):
    """A client that notes when each update arrived and the marker of its close (bench/ingest.py's), and checks every
    SAMPLE_EVERY-th update whole: parsing each would make the clients, on the leader's core, slow the leader."""

    def __init__(self, port: int) -> None:
        super().__init__(port, sample_every=1)
        self.arrivals: list[float] = []
        self.markers: list[int] = []

    def _check(self, frame: bytes | bytearray) -> None:
        arrived = time.monotonic()
        if len(self.arrivals) % SAMPLE_EVERY == 0:
            super()._check(frame)
        at = frame.find(b'"close":')
        if at >= 0:
            self.arrivals.append(arrived)
            self.markers.append(round(float(frame[at + 8 : frame.find(b",", at)]) * 100) - BASE_TICKS)


async def open_probes(port: int, count: int) -> list[Probe]:
    """`count` upgraded connections, 100 handshakes at a time, each within 30 s."""
    loop, gate = asyncio.get_running_loop(), asyncio.Semaphore(100)

    async def one() -> Probe:
        async with gate, asyncio.timeout(30.0):
            _, probe = await loop.create_connection(lambda: Probe(port), HOST, port)
            await probe.opened
            return probe

    return list(await asyncio.gather(*(one() for _ in range(count))))


async def probes(pipe: Connection, params: ProbeParams) -> None:
    """Subscribe the clients to the symbol's topics, record until told, report each client's arrivals and markers."""
    opened = await open_probes(params.port, params.subscribers)
    topics = [(params.symbol, resolution) for resolution in RESOLUTIONS]
    answered, errors = await subscribe_all(opened, topics, 30.0 + params.subscribers / 1000)
    ok = {id(client) for client in answered}
    subscribed = [probe for probe in opened if id(probe) in ok]
    pipe.send({"subscribed": len(subscribed), "errors": [str(error) for error in errors[:5]]})
    await recv_async(pipe, 600)
    pipe.send(
        {
            "arrivals": [probe.arrivals for probe in subscribed],
            "markers": [probe.markers for probe in subscribed],
            "lost": sum(probe.lost for probe in subscribed),
            "sampling": sampling_report(subscribed),
        }
    )
    await close_all(subscribed)


async def poster(pipe: Connection, params: PostParams) -> None:
    """POST one trade of the symbol every `period` seconds, the k-th at the marker price 100.00 + k cents, one request
    at a time; report each POST's send and answer times and status."""
    import aiohttp

    url = f"http://{HOST}:{params.port}{INGEST_PATH}"
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    sent: list[float] = []
    answered: list[float] = []
    statuses: list[int] = []
    problems: list[str] = []
    last_ms = 0
    started = time.monotonic()
    async with aiohttp.ClientSession() as session:
        for k in range(params.posts):
            await asyncio.sleep(max(0.0, started + k * params.period - time.monotonic()))
            # Strictly later than the trade before: each one closes the bars it is in.
            last_ms = max(int(time.time() * 1000), last_ms + 1)
            trade = {"symbol": params.symbol, "price": (BASE_TICKS + k) / 100, "size": 1, "time": last_ms}
            body = orjson.dumps({"trades": [trade]})
            sent.append(time.monotonic())
            async with session.post(url, data=body, headers=headers) as response:
                text = await response.read()
                answered.append(time.monotonic())
                statuses.append(response.status)
                if response.status != 200 and len(problems) < 5:
                    problems.append(f"{response.status}: {text[:300]!r}")
    pipe.send(
        {
            "started": started,
            "ended": time.monotonic(),
            "sent": sent,
            "answered": answered,
            "statuses": statuses,
            "problems": problems,
        }
    )


# --- the servers ---------------------------------------------------------------------------------


def redis_answers(url: str) -> bool:
    try:
        with redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2) as client:
            return bool(client.ping())
    except redis.RedisError:
        return False


def redis_process(url: str) -> int | None:
    """The process id of the redis-server at `url` when it runs on this machine (its INFO says, /proc confirms)."""
    if urlsplit(url).hostname not in ("127.0.0.1", "localhost", socket.gethostname()):
        return None
    with redis.Redis.from_url(url, socket_timeout=2) as client:
        pid = int(client.info("server")["process_id"])
    try:
        return pid if "redis" in Path(f"/proc/{pid}/comm").read_text() else None
    except OSError:
        return None


def delete_keys(url: str, prefix: str) -> int:
    """Delete the run's keys (`prefix` and everything under it); how many there were."""
    with redis.Redis.from_url(url, socket_timeout=5) as client:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        return int(client.delete(*keys)) if keys else 0


def pin(server: LiveServer, cpu: int) -> None:
    """Move every thread of the server to `cpu` (threads keep the pinning they were born with)."""
    for task in Path(f"/proc/{server.pid}/task").iterdir():
        with contextlib.suppress(ProcessLookupError):
            os.sched_setaffinity(int(task.name), {cpu})


def leading(server: LiveServer) -> bool:
    status, body = fetch(server.url(DATAFEED_HEALTH))
    return status == 200 and bool(orjson.loads(body)["broadcaster"]["leading"])


def wait_leading(server: LiveServer) -> None:
    """Poll the health check until the server runs the broadcaster (another process's state: nothing to await)."""
    deadline = time.monotonic() + LEADER_WAIT
    while not leading(server):
        server.check_alive()
        if time.monotonic() > deadline:
            raise TimeoutError(f"the first server did not take the broadcaster in {LEADER_WAIT:g} s")
        time.sleep(0.05)


@contextlib.contextmanager
def deploy(broker: str, redis_url: str, interval: float, store_url: str) -> Iterator[Deployment]:
    """The run's server processes, healthy, the leader known; stopped (and the run's Redis keys deleted) on exit."""
    env = SERVER_ENV | {
        "STORE_URL": store_url,
        "INGEST_TOKEN": TOKEN,
        "BAR_BROADCASTER_INTERVAL": str(interval),
        "ACCESS_LOG": "false",
    }
    prefix = f"tp-bench-{uuid.uuid4().hex[:12]}"
    if broker == "redis":
        env |= {"BROKER_URL": redis_url, "BROKER_PREFIX": prefix}
    servers: list[LiveServer] = []
    try:
        servers.append(start(env, cpu=SERVER_CPU, fd_limit=raise_fd_limit()))
        if broker == "memory":
            yield Deployment(broker, servers[0], servers[0], servers=servers)
            return
        wait_leading(servers[0])
        servers.append(start(env, cpu=CLIENT_CPU, fd_limit=raise_fd_limit()))
        yield Deployment(broker, servers[0], servers[1], redis_process(redis_url), servers)
    finally:
        for server in servers:
            server.stop()
        if broker == "redis":
            delete_keys(redis_url, prefix)


def check_leader(deployment: Deployment) -> list[str]:
    """Why the run does not show the intended topology: the broadcaster changed hands, or a server died."""
    for server in deployment.servers:
        server.check_alive()
    if deployment.broker == "redis" and (not leading(deployment.leader) or leading(deployment.follower)):
        return ["the broadcaster changed hands during the run"]
    return []


# --- measuring -----------------------------------------------------------------------------------


class Usage:
    """CPU seconds of the run's processes and of each core between `start` and `stop`, as shares of the wall time."""

    def __init__(self, deployment: Deployment, children: Sequence[Child]) -> None:
        clients = [child.process.pid for child in children if child.process.pid is not None]
        self.pids = {"servers": [server.pid for server in deployment.servers], "clients": [*clients, os.getpid()]}
        if deployment.redis_pid is not None:
            self.pids["redis"] = [deployment.redis_pid]

    def _read(self) -> tuple[float, dict[str, float], float]:
        cores = core_times()
        busy = sum(core.tasks + core.softirq for core in cores.values())
        return time.monotonic(), {name: sum(map(cpu_seconds, pids)) for name, pids in self.pids.items()}, busy

    def start(self) -> None:
        self._before = self._read()

    def stop(self) -> Message:
        after = self._read()
        wall = after[0] - self._before[0]
        ours = {name: (after[1][name] - self._before[1][name]) / wall for name in self.pids}
        busy = (after[2] - self._before[2]) / wall
        return {"cpu": ours, "cores_busy": busy, "others": max(0.0, busy - sum(ours.values()))}


def fanout_run(broker: str, args: argparse.Namespace, store_url: str) -> list[Message]:
    """Updates per second the subscribers' process delivers with the broadcaster ticking faster than it can."""
    with deploy(broker, args.redis_url, FANOUT_INTERVAL, store_url) as deployment:
        target = deployment.follower
        pin(target, SERVER_CPU)
        if deployment.leader is not target:
            pin(deployment.leader, CLIENT_CPU)
        child = start_child(fanout_load, FanoutParams(target.port, args.subscribers, args.window, 1.0))
        try:
            child.recv(120)
            usage = Usage(deployment, [child])
            usage.start()
            child.send({"command": "measure"})
            report = child.recv(args.window + 60)
            figures = report | usage.stop()
            problems = check_leader(deployment)
        finally:
            child.stop()
    common = {"run": "fan-out", "broker": broker, "interval": FANOUT_INTERVAL, "problems": problems}
    return [common | figures | {"server_log": server_log(deployment)}]


def latency_phase(
    deployment: Deployment, posted: LiveServer, watched: LiveServer, symbol: str, args: argparse.Namespace
) -> Message:
    """POSTs to `posted`, the subscribers on `watched`: the latency figures."""
    # The Redis run's second phase comes long after the run's start, when other work may have begun.
    wait_for_quiet()
    pin(watched, SERVER_CPU)
    if posted is not watched:
        pin(posted, CLIENT_CPU)
    children: list[Child] = []
    try:
        children.append(start_child(probes, ProbeParams(watched.port, args.subscribers, symbol)))
        ready = children[0].recv(120)
        children.append(start_child(poster, PostParams(posted.port, symbol, args.posts, POST_PERIOD)))
        usage = Usage(deployment, children)
        usage.start()
        published = children[1].recv(args.posts * POST_PERIOD + 120)
        used = usage.stop()
        # The last POSTs go out with the next ticks.
        time.sleep(4 * LATENCY_INTERVAL + 0.5)
        children[0].send({"command": "report"})
        heard = children[0].recv(120)
        problems = check_leader(deployment)
    finally:
        for child in children:
            child.stop()
    return derive(published, heard, ready) | used | {"problems": problems}


def derive(published: Message, heard: Message, ready: Message) -> Message:
    """The figures of a latency phase from what the publisher and the subscribers reported."""
    start, end = published["started"], published["ended"]
    statuses = published["statuses"]
    per_client = [sum(start <= t <= end for t in arrived) for arrived in heard["arrivals"]]
    lat, missing = latencies(published["sent"], heard["arrivals"], heard["markers"])
    round_trips = np.array(published["answered"]) - np.array(published["sent"])

    def ms(values: Any, q: float) -> float | None:
        return float(np.percentile(values, q) * 1000) if len(values) else None

    return {
        "subscribed": ready["subscribed"],
        "subscribe_errors": ready["errors"],
        "posts": len(statuses),
        "error_answers": len(statuses) - statuses.count(200),
        "answer_problems": published["problems"],
        "post_round_trip_p50_ms": ms(round_trips, 50),
        "post_round_trip_p99_ms": ms(round_trips, 99),
        "updates_per_second": sum(per_client) / (end - start),
        "per_client_updates": spread(per_client),
        "latency_samples": len(lat),
        "latency_missing": missing,
        "latency_p50_ms": ms(lat, 50),
        "latency_p99_ms": ms(lat, 99),
        "latency_max_ms": float(lat.max() * 1000) if len(lat) else None,
        "lost_connections": heard["lost"],
        "sampling": heard["sampling"],
    }


def latency_runs(broker: str, args: argparse.Namespace, store_url: str) -> list[Message]:
    """memory: POSTs and subscribers on the one process; Redis: POSTs to the follower then to the leader, the
    subscribers on the other process each time."""
    common = {"run": "latency", "broker": broker, "interval": LATENCY_INTERVAL}
    with deploy(broker, args.redis_url, LATENCY_INTERVAL, store_url) as deployment:
        leader, follower = deployment.leader, deployment.follower
        if broker == "memory":
            found = [{"posted_to": "the process"} | latency_phase(deployment, leader, leader, "ING0", args)]
        else:
            found = [
                {"posted_to": "follower"} | latency_phase(deployment, follower, leader, "ING0", args),
                {"posted_to": "leader"} | latency_phase(deployment, leader, follower, "ING1", args),
            ]
    return [common | result | {"server_log": server_log(deployment)} for result in found]


def server_log(deployment: Deployment) -> list[str]:
    """What the stopped servers logged (warnings and worse: SERVER_ENV's LOG_LEVEL), the tail of each."""
    return [line for server in deployment.servers for line in server.final_log.splitlines() if line.strip()]


# --- reporting -----------------------------------------------------------------------------------


def failures(result: Message) -> list[str]:
    if "error" in result:
        return [result["error"]]
    found = list(result["problems"])
    if result.get("error_answers"):
        found.append(f"{result['error_answers']} error answers: {result['answer_problems']}")
    if result["sampling"]["malformed_frames"]:
        found.append(f"malformed updates: {result['sampling']['problems']}")
    if result["per_client_updates"]["starved"]:
        found.append(f"{result['per_client_updates']['starved']} subscriber(s) received nothing")
    subscribed = result.get("subscribed", result.get("connected"))
    if subscribed != result["subscribers"]:
        found.append(f"only {subscribed} of {result['subscribers']} subscribed")
    return found


def label(result: Message) -> str:
    where = {"memory": "memory, 1 process", "redis": "Redis, 2 processes"}[result["broker"]]
    if result["run"] == "latency" and result["broker"] == "redis":
        return f"{where}, POSTs to the {result['posted_to']}"
    return where


def sharing(result: Message) -> str:
    cpu = result["cpu"]
    parts = [f"servers {cpu['servers']:.0%}", f"clients {cpu['clients']:.0%}"]
    if "redis" in cpu:
        parts.append(f"Redis {cpu['redis']:.0%}")
    return ", ".join(parts) + f", others {result['others']:.0%}"


def tables(results: Sequence[Message]) -> str:
    fanout = [
        (label(r), f"{r['updates_per_second']:,.0f}", sharing(r), "FAILED" if failures(r) else "ok")
        for r in results
        if r["run"] == "fan-out" and "error" not in r
    ]
    latency = [
        (
            label(r),
            f"{r['updates_per_second']:,.0f}",
            f"{r['post_round_trip_p50_ms']:.1f}/{r['post_round_trip_p99_ms']:.1f}",
            f"{r['latency_p50_ms']:.1f}/{r['latency_p99_ms']:.1f}/{r['latency_max_ms']:.1f}",
            f"{r['latency_samples']:,}",
            sharing(r),
            "FAILED" if failures(r) else "ok",
        )
        for r in results
        if r["run"] == "latency" and "error" not in r and r["latency_samples"]
    ]
    shares = "CPU (share of a core)"
    return "\n\n".join(
        (
            f"Fan-out, broadcaster every {FANOUT_INTERVAL * 1000:g} ms (more than a process can deliver):\n"
            + format_table(("deployment", "updates/s", shares, "verdict"), fanout),
            f"Latency, broadcaster every {LATENCY_INTERVAL * 1000:g} ms, a POST every {POST_PERIOD * 1000:g} ms:\n"
            + format_table(
                ("deployment", "updates/s", "POST p50/p99 ms", "latency p50/p99/max ms", "samples", shares, "verdict"),
                latency,
            ),
        )
    )


def comparison(results: Sequence[Message]) -> list[str]:
    """Redis against memory: the throughput ratio and the latency each Redis phase adds."""
    ok = [r for r in results if "error" not in r and not failures(r)]
    lines = []
    fanout = {r["broker"]: r for r in ok if r["run"] == "fan-out"}
    if len(fanout) == 2:
        ratio = fanout["redis"]["updates_per_second"] / fanout["memory"]["updates_per_second"]
        lines.append(f"Fan-out throughput Redis/memory: {ratio:.2f}")
    base = next((r for r in ok if r["run"] == "latency" and r["broker"] == "memory"), None)
    for result in (r for r in ok if r["run"] == "latency" and r["broker"] == "redis"):
        if base is None:
            break
        p50 = result["latency_p50_ms"] - base["latency_p50_ms"]
        p99 = result["latency_p99_ms"] - base["latency_p99_ms"]
        met = "met" if p99 <= TARGET_ADDED_P99_MS else "MISSED"
        lines.append(
            f"Redis adds, POSTs to the {result['posted_to']}: p50 {p50:+.1f} ms, p99 {p99:+.1f} ms "
            f"(target at most {TARGET_ADDED_P99_MS:g} ms p99: {met})"
        )
    return lines


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a short smoke run: 200 subscribers, 60 POSTs, 2 s")
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--posts", type=int, default=240, help="ingest POSTs per latency run")
    parser.add_argument("--window", type=float, default=8.0, help="seconds of counting in the fan-out runs")
    parser.add_argument("--redis-url", default=MACHINE_REDIS, help="the Redis both processes share")
    args = parser.parse_args()
    if args.quick:
        args.subscribers, args.posts, args.window = 200, 60, 2.0
    return args


def measure(args: argparse.Namespace) -> list[Message]:
    """Every run, on a fresh store each."""
    runs = [(fanout_run, "memory"), (fanout_run, "redis"), (latency_runs, "memory"), (latency_runs, "redis")]
    results: list[Message] = []
    for run, broker in runs:
        wait_for_quiet()
        kind = "fan-out" if run is fanout_run else "latency"
        print(f"{kind}, {broker} ...", flush=True)
        common = {"run": kind, "broker": broker, "subscribers": args.subscribers}
        with tempfile.TemporaryDirectory(prefix="trading-pro-broker-") as directory:
            try:
                found = run(broker, args, make_store(Path(directory)))
            except Exception as error:
                results.append(common | {"error": f"{type(error).__name__}: {error}"})
                continue
        results += [common | result for result in found]
    return results


def main() -> int:
    args = parse_args()
    private: RedisServer | None = None
    if not redis_answers(args.redis_url):
        print(f"No Redis answers at {args.redis_url}: starting a private redis-server on a free port", flush=True)
        private = RedisServer()
        private.start()
        args.redis_url = private.url
    try:
        results = measure(args)
    finally:
        if private is not None:
            private.stop()
    print(tables(results))
    print(
        "CPU: servers, client processes (and this script), Redis when it runs here, and the rest of the cores' busy "
        "time (other processes on the shared machine, loopback softirq), in shares of one core; 2 cores in all."
    )
    for line in comparison(results):
        print(line)
    for result in results:
        if "error" not in result and result["others"] > DISTURBED:
            print(
                f"Disturbed: other work took {result['others']:.0%} of a core during {label(result)} ({result['run']})"
            )
    for result in results:
        for line in result.get("server_log", []):
            print(f"Server log, {result['run']}, {label(result)}: {line}")
    for result in results:
        for failure in failures(result):
            print(f"FAILED {result['run']} {result['broker']}: {failure}")
    path = write_json(
        "broker.json",
        {"environment": ws_environment(), "args": vars(args), "results": results},
    )
    print(f"Written to {path}")
    return 1 if any(failures(result) for result in results) else 0


if __name__ == "__main__":
    sys.exit(main())

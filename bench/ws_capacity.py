"""WebSocket capacity benchmark: server memory per held connection, and how fast a newcomer is served.

A server (`python -m app`, pinned to CPU 0, market tick every --interval = 1 s) first serves
--probes (20) new clients one after another while idle, for reference. Then one load process
pinned to CPU 1 (or --client-processes of them, all on CPU 1) opens --connections (10,000) WebSocket
connections and subscribes each to one topic, round-robin over --topics (by default BTCUSD and
ETHUSD, both trading 24/7, at resolutions 1, 5, 15 and 60: eight topics, so every tick builds eight
frames and writes one to each connection). The held clients count what arrives and send nothing
but answers to the server's keep-alive pings (WS_PING_INTERVAL keeps its default, 20 s, so a ping
round to every connection falls inside the probing); the heartbeat and lifespan limits are set far
beyond the run. While they are held:

- server memory: VmRSS before any of them (after one warm-up client) and after they are all
  subscribed and a few ticks went by; the difference divided by the connections held, in KiB;
- time to connect all: opening every connection (at most --concurrency handshakes in flight),
  then subscribing all of them at once;
- new-client latency: --probes new clients, one after another from the driver process (CPU 1),
  each timed from connect() to its subscription response; median and max in ms. Each probe starts
  1/probes of a tick later in the tick's cycle than the one before (--probe-gap defaults to
  interval * (1 + 1/probes)), so together they meet every phase, the tick itself included: a
  newcomer who arrives while the server writes 10,000 frames waits for that. The slowest probes
  are printed with the server's CPU share in the second around each, which tells waiting for a
  tick (about 8 %) from waiting for something bigger;
- what the held connections got while the probes ran: updates per client (min / median / max against
  the ticks the window held), and every --sample-every-th update of each client (its first included)
  parsed and checked as in ws_fanout.py. A malformed frame, or a held client that got nothing, makes
  the run FAILED (exit status 1).

Targets, printed next to the figures (not asserted): under 20 KiB of server memory per connection;
every new client served in under 100 ms. The run waits (up to 2 minutes) for the machine to be quiet
first and says when other processes took 5 % or more of the server's core while probing.

Run from the repository root:

    .venv/bin/python bench/ws_capacity.py [--connections 10000] [--client-processes 1]

Results are printed and written to bench/results/ws_capacity.json.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from harness import (
    CLIENT_CPU,
    SERVER_CPU,
    Child,
    LiveServer,
    Message,
    core_time,
    cpu_seconds,
    pin_to_cpu,
    raise_fd_limit,
    recv_async,
    rss_kb,
    softirq_in_process_time,
    start_child,
    start_server,
    wait_for_quiet,
    write_json,
)
from wsclient import (
    SAMPLE_EVERY,
    SERVER_ENV,
    Subscription,
    WsClient,
    close_all,
    delivery_failures,
    gather_crowd,
    sampling_report,
    spread,
    timed_subscribe,
    warm_up,
    ws_environment,
)

DEFAULT_TOPICS = "BTCUSD:1,BTCUSD:5,BTCUSD:15,BTCUSD:60,ETHUSD:1,ETHUSD:5,ETHUSD:15,ETHUSD:60"
PROBE_TOPIC = ("BTCUSD", "1")
TARGET_KB_PER_CONNECTION = 20.0
TARGET_NEW_CLIENT_MS = 100.0
# Status requests a holder answers before it gives up waiting for "stop"; the driver sends two.
MAX_COMMANDS = 10
IDLE_PROBE_GAP = 0.05
# Other processes' share of the server's core above which the latencies are reported as disturbed.
OTHER_LOAD = 0.05


@dataclass(frozen=True)
class HoldParams:
    """What one holding process needs; sent to it when it is spawned."""

    port: int
    connections: int
    subscriptions: tuple[Subscription, ...]
    concurrency: int
    connect_time_limit: float
    hold_limit: float
    sample_every: int


# --- the holding processes -----------------------------------------------------------------------


async def hold_clients(pipe: Connection, params: HoldParams) -> None:
    """Open and subscribe the connections, report, then answer status requests until told to stop."""
    crowd = await gather_crowd(
        params.port,
        params.subscriptions,
        params.connections,
        concurrency=params.concurrency,
        time_limit=params.connect_time_limit,
        sample_every=params.sample_every,
    )
    pipe.send(crowd.report())
    try:
        for _ in range(MAX_COMMANDS):
            command = await recv_async(pipe, params.hold_limit)
            if command.get("command") != "status":
                break
            pipe.send(holder_status(crowd.clients))
    finally:
        await close_all(crowd.clients)


def holder_status(clients: Sequence[WsClient]) -> Message:
    return {
        "per_client": [c.texts for c in clients],
        "lost": sum(c.lost for c in clients),
        "cpu_seconds": time.process_time(),
        "sampling": sampling_report(clients),
    }


# --- the driver ----------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--connections", type=int, default=10_000)
    parser.add_argument("--client-processes", type=int, default=1, help="split the connections over this many")
    parser.add_argument("--topics", default=DEFAULT_TOPICS, help="SYMBOL:RESOLUTION,... assigned round-robin")
    parser.add_argument("--interval", type=float, default=1.0, help="BAR_BROADCASTER_INTERVAL, seconds")
    parser.add_argument("--probes", type=int, default=20, help="new clients timed, one after another")
    parser.add_argument("--probe-gap", type=float, help="default: interval * (1 + 1/probes)")
    parser.add_argument("--settle", type=float, default=3.0, help="pause after subscribing, before measuring")
    parser.add_argument("--concurrency", type=int, default=100, help="handshakes in flight per process")
    parser.add_argument("--connect-time-limit", type=float, default=30.0, help="per connection, seconds")
    parser.add_argument(
        "--sample-every", type=int, default=SAMPLE_EVERY, help="check every Nth update of each client (its first too)"
    )
    return parser.parse_args()


def parse_topics(text: str) -> tuple[Subscription, ...]:
    pairs = [item.strip().split(":") for item in text.split(",") if item.strip()]
    return tuple((symbol.upper(), resolution) for symbol, resolution in pairs)


def shares(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


@dataclass(frozen=True)
class Probe:
    """One new client: how long it took (or why it failed), and how busy the server was meanwhile."""

    latency_ms: float | None
    error: str | None
    # Server CPU share from the end of the previous probe to the end of this one (about one tick),
    # which tells a probe that met the tick from one that met something bigger.
    server_busy: float


async def probe_latencies(port: int, server_pid: int, count: int, gap: float, time_limit: float) -> list[Probe]:
    """Serve `count` new clients one after another, `gap` seconds apart."""
    probes: list[Probe] = []
    mark_cpu, mark_wall = cpu_seconds(server_pid), time.perf_counter()
    for _ in range(count):
        latency, error = None, None
        try:
            latency = await timed_subscribe(port, PROBE_TOPIC, time_limit) * 1000
        except (OSError, TimeoutError) as failure:
            error = f"{type(failure).__name__}: {failure}"
        cpu, wall = cpu_seconds(server_pid), time.perf_counter()
        probes.append(Probe(latency, error, (cpu - mark_cpu) / (wall - mark_wall)))
        mark_cpu, mark_wall = cpu, wall
        await asyncio.sleep(gap)
    return probes


def latency_summary(probes: Sequence[Probe]) -> Message:
    latencies = [p.latency_ms for p in probes if p.latency_ms is not None]
    errors = [p.error for p in probes if p.error is not None]
    return {
        "latencies_ms": [None if p.latency_ms is None else round(p.latency_ms, 2) for p in probes],
        "server_busy": [round(p.server_busy, 3) for p in probes],
        "median_ms": statistics.median(latencies) if latencies else None,
        "max_ms": max(latencies) if latencies else None,
        "served": len(latencies),
        "failed": len(errors),
        "errors": errors[:5],
    }


def probe_gap(args: argparse.Namespace) -> float:
    """Each probe starts 1/probes of a tick later in the tick's cycle than the one before, so together
    they sample every phase once, the tick itself included."""
    gap: float = args.probe_gap if args.probe_gap is not None else args.interval * (1 + 1 / args.probes)
    return gap


def probe(server: LiveServer, args: argparse.Namespace, gap: float) -> Message:
    """Time new clients, with the server's CPU and anyone else's on its core meanwhile."""
    then, server_cpu, started = core_time(SERVER_CPU), cpu_seconds(server.pid), time.perf_counter()
    probes = asyncio.run(probe_latencies(server.port, server.pid, args.probes, gap, args.connect_time_limit))
    wall = time.perf_counter() - started
    server_seconds = cpu_seconds(server.pid) - server_cpu
    # /proc/stat counts softirqs apart from tasks; the server's own time includes those it ran only under
    # tick-based interrupt accounting (see irq_time_accounting in the results).
    core = core_time(SERVER_CPU)
    charged = 1 if softirq_in_process_time() else 0
    others = core.tasks - then.tasks + charged * (core.softirq - then.softirq) - server_seconds
    return latency_summary(probes) | {
        "wall_seconds": wall,
        "server_cpu_utilisation": server_seconds / wall,
        "other_load_server_core": others / wall,
    }


def statuses(children: Sequence[Child]) -> Message:
    """Holders' counters summed (per-client counts and problems joined) over the processes."""
    for child in children:
        child.send({"command": "status"})
    replies = [child.recv(30) for child in children]
    counted = ("frames_sampled", "malformed_frames", "malformed_clients")
    return {
        "lost": sum(reply["lost"] for reply in replies),
        "cpu_seconds": sum(reply["cpu_seconds"] for reply in replies),
        "per_client": [count for reply in replies for count in reply["per_client"]],
        "sampling": {key: sum(reply["sampling"][key] for reply in replies) for key in counted}
        | {"problems": [problem for reply in replies for problem in reply["sampling"]["problems"]][:5]},
    }


def start_holders(server: LiveServer, args: argparse.Namespace, children: list[Child]) -> list[Message]:
    """Spawn the holding processes (appended to `children` at once, so they are always stopped)."""
    topics = parse_topics(args.topics)
    # Long enough for the probes and status rounds, short enough that an orphan does not linger.
    hold_limit = args.settle + args.probes * (probe_gap(args) + args.connect_time_limit) + 120
    for count in shares(args.connections, args.client_processes):
        params = HoldParams(
            server.port, count, topics, args.concurrency, args.connect_time_limit, hold_limit, args.sample_every
        )
        children.append(start_child(hold_clients, params, cpu=CLIENT_CPU))
    # Bounded by the worst case: every batch of handshakes timing out, then the subscriptions.
    budget = (args.connections // args.concurrency + 1) * args.connect_time_limit + 120
    return [child.recv(budget) for child in children]


def hold_and_probe(server: LiveServer, args: argparse.Namespace, children: list[Child]) -> Message:
    warm_up(server.port)
    # With nobody subscribed a tick costs nothing, so the phase does not matter.
    idle = probe(server, args, IDLE_PROBE_GAP)
    rss_before = rss_kb(server.pid)
    crowds = start_holders(server, args, children)
    connected = sum(c["connected"] for c in crowds)
    rss_connected = rss_kb(server.pid)
    time.sleep(args.settle)
    rss_settled = rss_kb(server.pid)
    held = probe_while_held(server, args, children, connected)
    server.check_alive()
    return {
        "connected": connected,
        "failed": sum(c["failed"] for c in crowds),
        "errors": [e for c in crowds for e in c["errors"]],
        "open_seconds": max(c["open_seconds"] for c in crowds),
        "subscribe_seconds": max(c["subscribe_seconds"] for c in crowds),
        "connect_seconds": max(c["connect_seconds"] for c in crowds),
        "server_rss_kb_before": rss_before,
        "server_rss_kb_connected": rss_connected,
        "server_rss_kb_after": rss_settled,
        "server_rss_kb_after_probes": rss_kb(server.pid),
        "kb_per_connection": (rss_settled - rss_before) / max(connected, 1),
        # The probing spans a keep-alive round to every connection, which leaves memory behind.
        "kb_per_connection_after_probes": (rss_kb(server.pid) - rss_before) / max(connected, 1),
        "idle_server_probe": idle,
    } | held


def probe_while_held(
    server: LiveServer, args: argparse.Namespace, children: Sequence[Child], connected: int
) -> Message:
    """The probes, and what the held connections received and cost their process meanwhile."""
    before, started = statuses(children), time.perf_counter()
    held = probe(server, args, probe_gap(args))
    after, wall = statuses(children), time.perf_counter() - started
    per_client = [a - b for a, b in zip(after["per_client"], before["per_client"], strict=True)]
    return {
        "loaded_server_probe": held,
        # Ticks are whole seconds apart, so over a few seconds a rate would be mostly rounding:
        # updates per held connection, against the ticks the window could hold, says more.
        "holders_window_seconds": wall,
        "holders_updates_per_connection": sum(per_client) / max(connected, 1),
        "holders_per_client_updates": spread(per_client),
        "holders_cpu_utilisation": (after["cpu_seconds"] - before["cpu_seconds"]) / wall,
        "holders_lost_connections": after["lost"],
        "holders_sampling": after["sampling"],
    }


def report(result: Message, args: argparse.Namespace) -> list[str]:
    if "error" in result:
        return [f"FAILED: {result['error']}", f"server log:\n{result['server_log']}"]
    idle, held = result["idle_server_probe"], result["loaded_server_probe"]
    before_mib, after_mib = result["server_rss_kb_before"] / 1024, result["server_rss_kb_after"] / 1024
    probed_mib = result["server_rss_kb_after_probes"] / 1024
    window, updates = result["holders_window_seconds"], result["holders_updates_per_connection"]
    counts, sampling = result["holders_per_client_updates"], result["holders_sampling"]
    return [
        f"connections held:      {result['connected']:,} ({result['failed']} failed), topics {args.topics}",
        f"time to connect all:   {result['connect_seconds']:.2f} s "
        f"(open {result['open_seconds']:.2f} s, then subscribe {result['subscribe_seconds']:.2f} s)",
        f"server RSS:            {before_mib:.1f} MiB before, {after_mib:.1f} MiB after "
        f"({result['kb_per_connection']:.1f} KiB per connection), {probed_mib:.1f} MiB after probing "
        f"({result['kb_per_connection_after_probes']:.1f} KiB per connection)",
        f"new client, idle:      median {ms(idle['median_ms'])}, max {ms(idle['max_ms'])}",
        f"new client, held:      median {ms(held['median_ms'])}, max {ms(held['max_ms'])} "
        f"({held['served']} served, {held['failed']} failed)",
        f"slowest newcomers:     {slowest(held)}",
        f"while probing:         server CPU {held['server_cpu_utilisation']:.0%}; in {window:.1f} s each held "
        f"connection got {updates:.2f} updates (one per {args.interval:g} s tick); "
        f"holders' CPU {result['holders_cpu_utilisation']:.0%}",
        f"updates per client:    min {counts['min']:,} / median {counts['median']:,.0f} / max {counts['max']:,} "
        f"while probing (nominal {window / args.interval:.0f})",
        f"frame checks:          {sampling['frames_sampled']:,} updates checked (one in {args.sample_every} of "
        f"each client, its first included), {sampling['malformed_frames']} malformed",
    ]


def slowest(summary: Message, count: int = 4) -> str:
    """The slowest probes, each with how busy the server was in the second around it."""
    timed = [(ms, busy) for ms, busy in zip(summary["latencies_ms"], summary["server_busy"], strict=True) if ms]
    worst = sorted(timed, reverse=True)[:count]
    return ", ".join(f"{ms:.0f} ms (server {busy:.0%} busy)" for ms, busy in worst)


def ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} ms"


def verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def target_lines(result: Message) -> list[str]:
    if "error" in result:
        return []
    # The larger of the two readings: memory a server keeps once everything has run at least once.
    kb = max(result["kb_per_connection"], result["kb_per_connection_after_probes"])
    worst = result["loaded_server_probe"]["max_ms"]
    return [
        f"Target: < {TARGET_KB_PER_CONNECTION:g} KiB server memory per connection -> {kb:.1f} KiB, the larger "
        f"reading ({verdict(kb < TARGET_KB_PER_CONNECTION)})",
        f"Target: new client served in < {TARGET_NEW_CLIENT_MS:g} ms while {result['connected']:,} are held -> "
        + ("no probe succeeded" if worst is None else f"max {worst:.1f} ms ({verdict(worst < TARGET_NEW_CLIENT_MS)})"),
    ]


def failures(result: Message) -> list[str]:
    """Why the run is FAILED whatever its figures: it did not complete, a checked frame was wrong, or a held
    client received nothing while the probes ran."""
    if "error" in result:
        return [f"did not complete: {result['error']}"]
    return delivery_failures(result["holders_sampling"], result["holders_per_client_updates"])


def warnings(result: Message) -> list[str]:
    """Everything that makes a figure doubtful."""
    if "error" in result:
        return []
    found = []
    if result["failed"]:
        found.append(f"{result['failed']} connections failed: {result['errors'][:5]}")
    if result["holders_lost_connections"]:
        found.append(f"{result['holders_lost_connections']} held connections were closed by the server")
    if result["loaded_server_probe"]["failed"]:
        found.append(f"probes failed: {result['loaded_server_probe']['errors']}")
    if result["holders_cpu_utilisation"] >= 0.9:
        found.append(f"the holders used {result['holders_cpu_utilisation']:.0%} of their core: split them up")
    for name in ("idle_server_probe", "loaded_server_probe"):
        if result[name]["other_load_server_core"] >= OTHER_LOAD:
            share = result[name]["other_load_server_core"]
            found.append(f"{name}: other processes used {share:.0%} of the server's core; latencies are disturbed")
    if result["server_log"]:
        found.append(f"the server logged:\n{result['server_log']}")
    return found


def measure(server: LiveServer, args: argparse.Namespace) -> Message:
    """Everything, with the holders and the server stopped whatever happens."""
    children: list[Child] = []
    result: dict[str, Any]
    try:
        result = hold_and_probe(server, args, children)
    except Exception as error:
        result = {"error": f"{type(error).__name__}: {error}"}
    finally:
        for child in children:
            child.stop(30)
        # Closing 10,000 sockets with 1001 can take longer than stop()'s own wait, and its log should say so.
        server.terminate(30)
        server.stop()
    return result | {"server_log": server.final_log}


def main() -> None:
    args = parse_args()
    # The driver times the probes from CPU 1, beside the holders, leaving CPU 0 to the server.
    pin_to_cpu(CLIENT_CPU)
    raise_fd_limit()
    print(f"capacity: {args.connections:,} connections over {args.client_processes} process(es) ...", flush=True)
    quiet = wait_for_quiet()
    try:
        server = start_server(SERVER_ENV | {"BAR_BROADCASTER_INTERVAL": str(args.interval)})
    except (OSError, RuntimeError, TimeoutError) as error:
        sys.exit(f"server did not start: {error}")
    result = measure(server, args) | {"busiest_core_before": quiet}
    for line in [*report(result, args), "", *target_lines(result), *warnings(result)]:
        print(line)
    path = write_json("ws_capacity.json", {"settings": vars(args), "environment": ws_environment(), "result": result})
    print(f"\nWritten to {path}")
    failed = failures(result)
    if failed:
        sys.exit("\n".join(f"FAILED: {why}" for why in failed))


if __name__ == "__main__":
    main()

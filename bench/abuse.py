"""Benchmark: one client address holding thousands of stalled requests must not take the server down.

Attackers bound to 127.0.0.2 (all of 127/8 is loopback) open `--connections` connections (20,000 by default,
split over `--client-processes` processes), each sending `POST /api/v1/datafeed/quotes` with
`Content-Length: 1000000` and 10 bytes of body, then going silent; a connection the server cuts off
(refused over the per-client limit, or answered 408 at the body deadline) stays closed, as in the reported
attack; `--reconnect-after S` makes a stubborn attacker that opens it again after about S seconds.
Meanwhile, from 127.0.0.1:

- a subscriber of BTCUSD 1 records its longest gap between updates (target < 1.5 s, interval 1 s);
- every 0.5 s a fresh HTTP request (new connection, `/api/v1/health`) or a fresh WebSocket (new
  connection, handshake and subscription answered) is timed (target: each within 100 ms).

The server runs with MAX_CONNECTIONS_PER_CLIENT and MAX_CONNECTIONS set explicitly (the defaults unless
given). Its memory is reported before the attack, at its peak, and after the attackers have gone, with
the size of its log. Run from the repository root:

    .venv/bin/python bench/abuse.py [--connections 20000] [--duration 20] [--per-client 1000]

Results are printed and written to bench/results/abuse.json.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import random
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import aiohttp
from harness import (
    CLIENT_CPU,
    HOST,
    Child,
    LiveServer,
    Message,
    cpu_seconds,
    environment,
    pin_to_cpu,
    raise_fd_limit,
    recv_async,
    rss_kb,
    start_child,
    start_server,
    write_json,
)
from wsclient import WS_PATH, timed_subscribe

ATTACKER = "127.0.0.2"
STALLED = (
    b"POST /api/v1/datafeed/quotes HTTP/1.1\r\nHost: attacker\r\nContent-Type: application/json\r\n"
    b"Content-Length: 1000000\r\n\r\n" + b'{"symbols"'
)
HEALTH = b"GET /api/v1/health HTTP/1.1\r\nHost: probe\r\nConnection: close\r\n\r\n"
# Connections opened at once: more would only overflow the listen backlog and wait for SYN retries.
OPEN_BATCH = 500
PROBE_EVERY = 0.5
PROBE_TIMEOUT = 10.0
TARGET_PROBE = 0.100
TARGET_GAP = 1.5


@dataclass(frozen=True)
class AttackParams:
    port: int
    connections: int
    reconnect_after: float


async def attack(pipe: Connection, params: AttackParams) -> None:
    """A load-client process: hold `params.connections` stalled requests until told to stop; then its counts."""
    # The attackers share the client core with the probes: below them, so the probes time the server, not
    # their own wait for the core.
    os.nice(10)
    outcomes: Counter[str] = Counter()
    stop = asyncio.Event()

    async def hold() -> None:
        while not stop.is_set():
            try:
                reader, writer = await asyncio.open_connection(HOST, params.port, local_addr=(ATTACKER, 0))
            except OSError as error:
                outcomes[f"connect failed: {error.strerror}"] += 1
            else:
                outcomes["connections opened"] += 1
                try:
                    writer.write(STALLED)
                    answer = await reader.read(64)
                    outcomes["answered 408" if answer.startswith(b"HTTP/1.1 408") else "closed unanswered"] += 1
                except ConnectionError:
                    outcomes["reset"] += 1
                finally:
                    writer.close()
            if params.reconnect_after <= 0:
                return
            # Spread out: 19,000 refused slots reconnecting in one wave would only measure the listen queue.
            await asyncio.sleep(params.reconnect_after * random.uniform(0.5, 1.5))

    slots = []
    for start in range(0, params.connections, OPEN_BATCH):
        slots += [asyncio.create_task(hold()) for _ in range(min(OPEN_BATCH, params.connections - start))]
        await asyncio.sleep(0.05)
    pipe.send({"started": len(slots)})
    await recv_async(pipe, 3600)
    stop.set()
    for slot in slots:
        slot.cancel()
    await asyncio.gather(*slots, return_exceptions=True)
    pipe.send({"outcomes": dict(outcomes)})


async def http_probe(port: int) -> float:
    """Seconds for a fresh connection from 127.0.0.1 to be answered 200 by /api/v1/health."""
    started = time.perf_counter()
    async with asyncio.timeout(PROBE_TIMEOUT):
        reader, writer = await asyncio.open_connection(HOST, port)
        writer.write(HEALTH)
        answer = await reader.read()
    writer.close()
    if not answer.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(f"health answered {answer[:80]!r}")
    return time.perf_counter() - started


async def subscribe_and_watch(port: int, arrivals: list[float], ready: asyncio.Event) -> None:
    """A subscriber of BTCUSD 1 from 127.0.0.1 noting when each update arrives."""
    async with aiohttp.ClientSession() as session, session.ws_connect(f"http://{HOST}:{port}{WS_PATH}") as ws:
        await ws.send_json({"type": "bars.subscribe", "payload": {"symbol": "BTCUSD", "resolution": "1"}})
        async for message in ws:
            if message.type is not aiohttp.WSMsgType.TEXT:
                break
            if '"bars.update"' in message.data:
                arrivals.append(time.perf_counter())
                ready.set()


async def reply(child: Child) -> Message:
    """The child's next message, awaited without blocking the subscriber and the probes."""
    message = await recv_async(child.pipe, 120)
    if "error" in message:
        raise RuntimeError(f"attacker failed: {message['error']}")
    return message


def server_fds(pid: int) -> int:
    return len(list(Path(f"/proc/{pid}/fd").iterdir()))


async def run_attack(server: LiveServer, args: argparse.Namespace) -> dict[str, Any]:
    arrivals: list[float] = []
    subscribed = asyncio.Event()
    watcher = asyncio.create_task(subscribe_and_watch(server.port, arrivals, subscribed))
    async with asyncio.timeout(PROBE_TIMEOUT):
        await subscribed.wait()
    per_process = -(-args.connections // args.client_processes)
    children: list[Child] = []
    probes: dict[str, list[float]] = {"http": [], "websocket": []}
    failures: list[str] = []
    peak_kb = rss_kb(server.pid)
    peak_fds = server_fds(server.pid)
    try:
        attack_began = time.perf_counter()
        cpu_began = cpu_seconds(server.pid)
        for index in range(args.client_processes):
            count = min(per_process, args.connections - index * per_process)
            children.append(start_child(attack, AttackParams(server.port, count, args.reconnect_after)))
        started = sum([(await reply(child))["started"] for child in children])
        print(f"  {started} attacking connections under way from {ATTACKER}", flush=True)
        ends = time.perf_counter() + args.duration
        turn = 0
        while time.perf_counter() < ends:
            kind = ("http", "websocket")[turn % 2]
            turn += 1
            try:
                if kind == "http":
                    probes[kind].append(await http_probe(server.port))
                else:
                    probes[kind].append(await timed_subscribe(server.port, ("ETHUSD", "1"), PROBE_TIMEOUT))
            except (OSError, RuntimeError, TimeoutError) as error:
                failures.append(f"{kind}: {type(error).__name__}: {error}")
            peak_kb = max(peak_kb, rss_kb(server.pid))
            peak_fds = max(peak_fds, server_fds(server.pid))
            await asyncio.sleep(PROBE_EVERY)
        attack_ended = time.perf_counter()
        server_cpu = (cpu_seconds(server.pid) - cpu_began) / (attack_ended - attack_began)
        outcomes: Counter[str] = Counter()
        for child in children:
            child.send({"command": "stop"})
            outcomes.update((await reply(child))["outcomes"])
    finally:
        for child in children:
            child.stop()
        watcher.cancel()
    during = [t for t in arrivals if attack_began <= t <= attack_ended]
    gaps = [b - a for a, b in itertools.pairwise(during)]
    return {
        "probes": probes,
        "probe_failures": failures,
        "longest_update_gap_s": max(gaps, default=float("inf")),
        "updates_during_attack": len(during),
        "attack_outcomes": dict(outcomes),
        "server_peak_kb": peak_kb,
        "server_peak_fds": peak_fds,
        "server_cpu_share": server_cpu,
    }


def report(result: dict[str, Any], args: argparse.Namespace) -> list[str]:
    lines = [f"stalled connections from {ATTACKER}: {args.connections}, per-client limit {args.per_client}"]
    for kind, times in result["probes"].items():
        if times:
            ms = sorted(t * 1000 for t in times)
            verdict = "met" if ms[-1] <= TARGET_PROBE * 1000 else "MISSED"
            lines.append(
                f"fresh {kind} from 127.0.0.1: {len(ms)} probes, median {statistics.median(ms):.1f} ms, "
                f"max {ms[-1]:.1f} ms (target ≤ {TARGET_PROBE * 1000:.0f} ms: {verdict})"
            )
    gap = result["longest_update_gap_s"]
    lines.append(
        f"subscriber: {result['updates_during_attack']} updates, longest gap {gap:.2f} s "
        f"(target < {TARGET_GAP} s: {'met' if gap < TARGET_GAP else 'MISSED'})"
    )
    lines.append(
        f"server memory: {result['rss_before_kb'] / 1024:.1f} MiB before, {result['server_peak_kb'] / 1024:.1f} MiB "
        f"at peak, {result['rss_after_kb'] / 1024:.1f} MiB after; peak descriptors {result['server_peak_fds']}"
    )
    share, size = result["server_cpu_share"], result["log_bytes"]
    lines.append(f"server CPU during the attack: {share:.0%} of a core; its log: {size} bytes")
    lines.append("attackers saw: " + ", ".join(f"{k} {v}" for k, v in sorted(result["attack_outcomes"].items())))
    lines += [f"probe FAILED: {failure}" for failure in result["probe_failures"]]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--connections", type=int, default=20_000)
    parser.add_argument("--client-processes", type=int, default=2, help="each holds connections/processes")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of probing under attack")
    parser.add_argument(
        "--reconnect-after", type=float, default=0.0, help="mean seconds before a cut-off slot reconnects; 0: never"
    )
    parser.add_argument("--per-client", type=int, default=1000, help="the server's MAX_CONNECTIONS_PER_CLIENT")
    parser.add_argument("--max-connections", type=int, default=10000, help="the server's MAX_CONNECTIONS")
    args = parser.parse_args()
    pin_to_cpu(CLIENT_CPU)
    fd_limit = raise_fd_limit()
    if args.connections // args.client_processes > fd_limit - 100:
        sys.exit(f"{args.connections} connections need more than {args.client_processes} processes at {fd_limit} fds")
    env = {
        "MAX_CONNECTIONS_PER_CLIENT": str(args.per_client),
        "MAX_CONNECTIONS": str(args.max_connections),
        "LOG_LEVEL": "WARNING",
    }
    try:
        server = start_server(env)
    except (OSError, RuntimeError, TimeoutError) as error:
        sys.exit(f"server did not start: {error}")
    try:
        asyncio.run(http_probe(server.port))
        rss_before = rss_kb(server.pid)
        result = asyncio.run(run_attack(server, args))
        # The attackers' sockets are gone; what the server still holds is what the attack left behind.
        asyncio.run(http_probe(server.port))
        result |= {"rss_before_kb": rss_before, "rss_after_kb": rss_kb(server.pid)}
        result["log_bytes"] = server.log_path.stat().st_size
    finally:
        server.stop()
    for line in report(result, args):
        print(line)
    path = write_json("abuse.json", {"settings": vars(args), "environment": environment(server_env=env), **result})
    print(f"written to {path}")
    failed = result["probe_failures"] or result["longest_update_gap_s"] == float("inf")
    if failed:
        sys.exit("FAILED: a probe failed or the subscriber saw no updates")


if __name__ == "__main__":
    main()

"""WebSocket deliveries per second with 1 and 2 worker processes (`--workers N`, one port, SO_REUSEPORT).

Each run starts a fresh server, connects --subscribers clients (one load process, wsclient.py's raw protocol
clients, all subscribed to bars:BTCUSD:1) and counts the `bars.update` frames they receive in a window of
--duration seconds, with the broadcaster ticking every --interval seconds (faster than one process can keep
up with at the default 1,000 subscribers, so the figure is what the server can deliver). The kernel spreads
the connections over the workers; each client's worker is not needed for the count.

The machine has two cores, shared by the server and the load generator. The pinnings:

- 1 worker on CPU 0, load on CPU 1 (ws_fanout.py's saturation setting);
- 2 workers both on CPU 0, load on CPU 1: the same single core, split between two processes;
- 2 workers, one on CPU 0 and one on CPU 1, load on CPU 1: a second core for the server, shared with the load.

Printed: deliveries/s, the server's CPU seconds per wall second (all its processes), the load process's, each
core's busy share (anyone's tasks and softirqs: the difference is other load on the shared machine or loopback
softirq time), and how the connections fell on the workers. A load process near 100 % of its core is the
limit, not the server.

    .venv/bin/python bench/workers.py [--subscribers 1000] [--interval 0.001] [--duration 10]

Results are also written to bench/results/workers.json.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from dataclasses import asdict, dataclass
from multiprocessing.connection import Connection
from pathlib import Path

from harness import (
    CLIENT_CPU,
    HOST,
    SERVER_CPU,
    LiveServer,
    Message,
    core_times,
    cpu_seconds,
    format_table,
    raise_fd_limit,
    recv_async,
    start_child,
    wait_for_quiet,
    write_json,
)
from wsclient import SERVER_ENV, close_all, gather_crowd, warm_up

# Importable once harness has put the repository on the path.
from tests.live_server import free_port, start


@dataclass(frozen=True)
class Setup:
    label: str
    workers: int
    # The core of each worker, in the order of their process ids.
    worker_cpus: tuple[int, ...]


@dataclass(frozen=True)
class LoadParams:
    port: int
    # The serving processes, whose CPU time the window measures.
    server_pids: tuple[int, ...]
    subscribers: int
    duration: float
    settle: float


SETUPS = (
    Setup("1 worker, CPU 0", 1, (SERVER_CPU,)),
    Setup("2 workers, both on CPU 0", 2, (SERVER_CPU, SERVER_CPU)),
    Setup("2 workers, CPU 0 and CPU 1", 2, (SERVER_CPU, CLIENT_CPU)),
)


async def load(pipe: Connection, params: LoadParams) -> None:
    """Connect and subscribe the clients, count their updates over one window, report and close."""
    crowd = await gather_crowd(params.port, [("BTCUSD", "1")], params.subscribers, concurrency=100, time_limit=30)
    await asyncio.sleep(params.settle)
    before, cpu_before, began = sum(c.texts for c in crowd.clients), time.process_time(), time.perf_counter()
    server_before, cores_before = sum(cpu_seconds(pid) for pid in params.server_pids), core_times()
    await asyncio.sleep(params.duration)
    wall = time.perf_counter() - began
    server_cpu = sum(cpu_seconds(pid) for pid in params.server_pids) - server_before
    cores_after = core_times()
    report = crowd.report() | {
        "deliveries_per_second": (sum(c.texts for c in crowd.clients) - before) / wall,
        "server_cpu_utilisation": server_cpu / wall,
        "load_cpu_utilisation": (time.process_time() - cpu_before) / wall,
        # Each core's busy share (tasks and softirqs, anyone's): beside our processes' shares it shows other
        # load on the shared machine, and the loopback softirq time no process is charged for.
        "core_busy": [
            (cores_after[cpu].tasks + cores_after[cpu].softirq - cores_before[cpu].tasks - cores_before[cpu].softirq)
            / wall
            for cpu in (SERVER_CPU, CLIENT_CPU)
        ],
        "wall_seconds": wall,
    }
    pipe.send(report)
    # Still connected until the driver has counted each worker's connections.
    await recv_async(pipe, 120)
    await close_all(crowd.clients)


def server_processes(server: LiveServer, workers: int) -> list[int]:
    """The processes that serve: the server itself, or the workers its parent forked."""
    if workers == 1:
        return [server.pid]
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
    return sorted(int(pid) for pid in children)


def connections_per_worker(pids: list[int], port: int) -> list[int]:
    """Established sockets on the server's port each process holds (from /proc: socket inodes it has open)."""
    established = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "01":
                established.add(fields[9])
    counts = []
    for pid in pids:
        held = 0
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                target = fd.readlink().as_posix()
            except OSError:
                continue
            held += target.startswith("socket:[") and target[8:-1] in established
        counts.append(held)
    return counts


def measure(setup: Setup, args: argparse.Namespace) -> Message:
    port = free_port()
    flags = ["--host", HOST, "--port", str(port), "--workers", str(setup.workers)]
    env = SERVER_ENV | {"BAR_BROADCASTER_INTERVAL": str(args.interval)}
    server = start(env, port=port, args=flags, cpu=SERVER_CPU, fd_limit=raise_fd_limit())
    try:
        if setup.workers > 1:
            # The health check answers once the first worker listens; the others are forked after it.
            server.wait_for_log(f"{setup.workers} workers listening")
        pids = server_processes(server, setup.workers)
        for pid, cpu in zip(pids, setup.worker_cpus, strict=True):
            # Forked workers inherit the parent's core; the second one moves to its own.
            os.sched_setaffinity(pid, {cpu})
        warm_up(port)
        params = LoadParams(port, tuple(pids), args.subscribers, args.duration, args.settle)
        child = start_child(load, params, cpu=CLIENT_CPU)
        try:
            raw = child.recv(120 + 3 * args.duration)
            per_worker = connections_per_worker(pids, port)
        finally:
            child.stop()
        server.check_alive()
    finally:
        server.stop()
    return asdict(setup) | raw | {"connections_per_worker": per_worker}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--interval", type=float, default=0.001, help="BAR_BROADCASTER_INTERVAL, seconds")
    parser.add_argument("--duration", type=float, default=10.0, help="measurement window, seconds")
    parser.add_argument("--settle", type=float, default=1.0, help="pause between subscribing and measuring")
    args = parser.parse_args()
    results = []
    for setup in SETUPS:
        wait_for_quiet()
        print(f"measuring: {setup.label} …", flush=True)
        results.append(measure(setup, args))
    rows = [
        (
            r["label"],
            f"{r['connected']}/{args.subscribers}",
            "/".join(map(str, r["connections_per_worker"])),
            f"{r['deliveries_per_second']:,.0f}",
            f"{r['server_cpu_utilisation']:.0%}",
            f"{r['load_cpu_utilisation']:.0%}",
            " / ".join(f"{busy:.0%}" for busy in r["core_busy"]),
        )
        for r in results
    ]
    headers = ("setup", "subscribed", "per worker", "deliveries/s", "server CPU", "load CPU", "CPU 0 / 1 busy")
    print(format_table(headers, rows))
    print(f"(broadcaster interval {args.interval} s, window {args.duration} s; server CPU: all its processes)")
    print(f"written to {write_json('workers.json', {'args': vars(args), 'results': results})}")


if __name__ == "__main__":
    main()

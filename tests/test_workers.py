"""`--workers 2`: two processes behind one port serve the same bars; SIGTERM to the parent stops both cleanly.

Which worker answered is read from the `X-Worker` header of the WebSocket handshake (the worker's process id,
checked against the parent's actual children); the kernel spreads new connections over the workers, so a
handful of connections reaches both.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest

from tests.live_server import HOST, ROOT, LiveServer, free_port, start

pytestmark = pytest.mark.timeout(300)

MINUTE_MS = 60_000
# Connections opened to find both workers; the chance of missing one is 2**-(n-1).
MAX_CONNECTIONS = 40


def children(pid: int) -> set[int]:
    return {int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}


def is_running(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists()


def metrics_dirs(pid: int) -> set[Path]:
    """The PROMETHEUS_MULTIPROC_DIR directories whose files process `pid` has mapped."""
    maps = Path(f"/proc/{pid}/maps").read_text().splitlines()
    return {Path(line.split()[-1]).parent for line in maps if "trading-pro-metrics-" in line}


@asynccontextmanager
async def worker_session() -> AsyncIterator[tuple[aiohttp.ClientSession, list[str]]]:
    """A session, and the `X-Worker` of each answer it received, in order."""
    seen: list[str] = []

    async def record(_session: aiohttp.ClientSession, _context: SimpleNamespace, params: Any) -> None:
        seen.append(params.response.headers.get("X-Worker", ""))

    trace = aiohttp.TraceConfig()
    trace.on_request_end.append(record)
    async with aiohttp.ClientSession(trace_configs=[trace]) as session:
        yield session, seen


async def bars_since(ws: aiohttp.ClientWebSocketResponse, since: int, until: int) -> dict[int, dict[str, Any]]:
    """Subscribe with `since` and gather the replayed bars, time -> its last values, up to time `until`."""
    await ws.send_json({"type": "bars.subscribe", "payload": {"symbol": "BTCUSD", "resolution": "1", "since": since}})
    reply = await ws.receive_json(timeout=10)
    assert reply["payload"]["status"] == "ok"
    bars: dict[int, dict[str, Any]] = {}
    while until not in bars:
        update = await ws.receive_json(timeout=10)
        assert update["type"] == "bars.update"
        bars[update["payload"]["time"]] = update["payload"]
    return bars


def two_workers_args(port: int) -> list[str]:
    return ["--host", HOST, "--port", str(port), "--workers", "2"]


async def start_two_workers() -> LiveServer:
    """Two workers, both listening (the first answers the health check before the second is forked)."""
    port = free_port()
    server = await asyncio.to_thread(start, {"BAR_BROADCASTER_INTERVAL": "0.1"}, port=port, args=two_workers_args(port))
    await asyncio.to_thread(server.wait_for_log, "2 workers listening")
    return server


async def test_clients_of_both_workers_receive_the_same_bars_and_sigterm_stops_both() -> None:
    server = await start_two_workers()
    try:
        workers = children(server.pid)
        assert len(workers) == 2
        (metrics_dir,) = set.union(*(metrics_dirs(pid) for pid in workers))
        now = int(time.time() * 1000)
        since = now - now % MINUTE_MS - 10 * MINUTE_MS
        async with worker_session() as (session, seen):
            by_worker: dict[int, aiohttp.ClientWebSocketResponse] = {}
            for _ in range(MAX_CONNECTIONS):
                ws = await session.ws_connect(server.url("/api/v1/ws"))
                worker = int(seen[-1])
                if worker in by_worker:
                    await ws.close()
                    continue
                by_worker[worker] = ws
                if len(by_worker) == 2:
                    break
            assert set(by_worker) == workers, f"connections reached {set(by_worker)}, workers are {workers}"
            first, second = [await bars_since(ws, since, since + 9 * MINUTE_MS) for ws in by_worker.values()]
            closed = range(since, since + 10 * MINUTE_MS, MINUTE_MS)
            assert [first[t] for t in closed] == [second[t] for t in closed]
            server.process.send_signal(signal.SIGTERM)
            for ws in by_worker.values():
                message = await ws.receive(timeout=30)
                while message.type is aiohttp.WSMsgType.TEXT:
                    message = await ws.receive(timeout=30)
                assert (message.type, message.data) == (aiohttp.WSMsgType.CLOSE, 1001)
        assert await asyncio.to_thread(server.process.wait, 30) == 0
        # The metrics directory the parent made for its workers went with them.
        assert not metrics_dir.exists()
    finally:
        server.stop()


async def test_a_worker_that_dies_takes_the_group_down_for_the_supervisor_to_restart() -> None:
    server = await start_two_workers()
    try:
        doomed, survivor = sorted(children(server.pid))
        os.kill(doomed, signal.SIGKILL)
        assert await asyncio.to_thread(server.process.wait, 30) == 1
        assert not is_running(survivor)
    finally:
        server.stop()


async def test_a_second_group_on_the_same_port_is_refused_as_a_single_process_would_be() -> None:
    server = await start_two_workers()
    try:
        second = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "app", *two_workers_args(server.port)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert (second.returncode, second.stderr.strip().splitlines()) == (
            1,
            [f"Cannot listen: --port {server.port} is in use on {HOST}"],
        )
        assert len(children(server.pid)) == 2
    finally:
        server.stop()


def wait_gone(pids: set[int], timeout: float = 30) -> set[int]:
    """Poll until none of `pids` runs (they are not our children: nothing to await); those still running."""
    deadline = time.monotonic() + timeout
    while (running := {pid for pid in pids if is_running(pid)}) and time.monotonic() < deadline:
        time.sleep(0.05)
    return running


async def test_workers_die_with_a_parent_killed_by_sigkill() -> None:
    server = await start_two_workers()
    workers = children(server.pid)
    try:
        server.process.kill()
        server.process.wait(10)
        # Each got SIGTERM from the kernel as its parent died, and stopped as after a normal SIGTERM.
        assert await asyncio.to_thread(wait_gone, workers) == set()
        # Nobody serves the port any more.
        with pytest.raises(aiohttp.ClientConnectionError):
            async with aiohttp.ClientSession() as session, session.get(server.url("/api/v1/health")) as answer:
                await answer.read()
    finally:
        for pid in workers:
            if is_running(pid):
                os.kill(pid, signal.SIGKILL)
        server.stop()


def test_workers_are_bounded() -> None:
    ran = subprocess.run(
        [sys.executable, "-m", "app", "--workers", "65"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert ran.returncode == 2
    assert ran.stderr.strip().splitlines()[-1].endswith("argument --workers: must be 1 to 64")

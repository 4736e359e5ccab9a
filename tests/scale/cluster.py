"""Server processes of one deployment sharing a Redis broker: their settings, starting several at once, and what each
says about the broker (`/metrics`, `/api/v1/health`, its log)."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import aiohttp
import redis
from prometheus_client.parser import text_string_to_metric_families

from app.paths import DATAFEED_PREFIX, HEALTH_PATH
from tests.live_server import LiveServer, start

# The machine's shared Redis: tests that neither restart it nor change its settings use it, under a prefix of their own.
SHARED_REDIS = "redis://127.0.0.1:6379/0"
# Seconds the broadcaster's lease lasts and between its ticks: short, so that hand-overs happen within a test.
LEASE = 1.0
INTERVAL = 0.2
# Seconds a condition between processes may take to show on a loaded two-core machine.
DEADLINE = 20.0
# How often a condition across processes is polled (seconds).
POLL = 0.05
# The broadcaster's words in the log when this process takes or loses the lease.
TOOK_OVER = re.compile(r"took over the bar broadcaster \(token (\d+)\)")
LOST = "lost the bar broadcaster lease"


def broker_env(redis_url: str, prefix: str, **more: str) -> dict[str, str]:
    """The settings of one process of a deployment on `redis_url` under key prefix `prefix`, with `more` on top."""
    return {
        "BROKER_URL": redis_url,
        "BROKER_PREFIX": prefix,
        "BROKER_LEASE": str(LEASE),
        "BAR_BROADCASTER_INTERVAL": str(INTERVAL),
        # Clients of these tests stay silent for up to a minute while a hand-over is timed.
        "WS_HEARTBEAT_INTERVAL": "300",
        "ACCESS_LOG": "false",
    } | more


async def start_all(envs: Sequence[dict[str, str]]) -> list[LiveServer]:
    """One healthy process per settings, started at once; none left running if one fails."""
    started = await asyncio.gather(*(asyncio.to_thread(start, env) for env in envs), return_exceptions=True)
    servers = [server for server in started if isinstance(server, LiveServer)]
    failed = [error for error in started if isinstance(error, BaseException)]
    if failed:
        for server in servers:
            server.stop()
        raise failed[0]
    return servers


def delete_keys(url: str, prefix: str) -> int:
    """Delete the keys under `prefix` (SCAN, then DEL: other tests' keys stay); how many there were."""
    client = redis.Redis.from_url(url)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*"))
        if keys:
            client.delete(*keys)
        return len(keys)
    finally:
        client.close()


def count_keys(url: str, prefix: str) -> int:
    """How many keys lie under `prefix`."""
    client = redis.Redis.from_url(url)
    try:
        return sum(1 for _ in client.scan_iter(match=f"{prefix}*"))
    finally:
        client.close()


async def get_json(session: aiohttp.ClientSession, server: LiveServer, path: str, **params: Any) -> Any:
    """The JSON answer of a GET that must answer 200."""
    query = {name: str(value) for name, value in params.items()}
    async with session.get(server.url(path), params=query) as answer:
        assert answer.status == 200, await answer.text()
        return await answer.json()


async def health(session: aiohttp.ClientSession, server: LiveServer) -> dict[str, Any]:
    """`GET /api/v1/health`."""
    found: dict[str, Any] = await get_json(session, server, HEALTH_PATH)
    return found


async def metrics(session: aiohttp.ClientSession, server: LiveServer) -> dict[str, float]:
    """Every sample of `GET /metrics` by name (labelled samples of one name summed)."""
    async with session.get(server.url("/metrics")) as answer:
        assert answer.status == 200, await answer.text()
        text = await answer.text()
    samples: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[sample.name] = samples.get(sample.name, 0.0) + sample.value
    return samples


async def bar_at(session: aiohttp.ClientSession, server: LiveServer, symbol: str, resolution: str, time_ms: int) -> Any:
    """The bar that `GET /api/v1/datafeed/bars` serves at `time_ms` (None if it serves none there)."""
    start_s = time_ms // 1000
    found = await get_json(
        session, server, f"{DATAFEED_PREFIX}/bars", symbol=symbol, resolution=resolution, from_time=start_s,
        to_time=start_s + 1,
    )  # fmt: skip
    return next((bar for bar in found["bars"] if bar["time"] == time_ms), None)


async def poll(check: Callable[[], Awaitable[bool]], what: str, within: float = DEADLINE) -> float:
    """Poll `check` (other processes' state: nothing to await) until it holds; when it did (time.monotonic())."""
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {within} s")
        await asyncio.sleep(POLL)
    return time.monotonic()


async def leaders(session: aiohttp.ClientSession, servers: Sequence[LiveServer]) -> list[LiveServer]:
    """Those of `servers` whose `tradingpro_broker_leader` gauge is 1 now."""
    figures = await asyncio.gather(*(metrics(session, server) for server in servers))
    return [server for server, figure in zip(servers, figures, strict=True) if figure["tradingpro_broker_leader"] == 1]


async def sole_leader(
    session: aiohttp.ClientSession, servers: Sequence[LiveServer], within: float = DEADLINE
) -> LiveServer:
    """The one of `servers` that leads, once exactly one does."""
    found: list[LiveServer] = []

    async def one() -> bool:
        found[:] = await leaders(session, servers)
        return len(found) == 1

    await poll(one, f"exactly one of {[server.port for server in servers]} leading", within)
    return found[0]


def log_of(server: LiveServer) -> str:
    return server.log_path.read_text(errors="replace")


def tokens(server: LiveServer) -> list[int]:
    """The fencing tokens `server` logged taking the lease with, in order."""
    return [int(token) for token in TOOK_OVER.findall(log_of(server))]

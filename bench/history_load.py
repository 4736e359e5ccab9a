"""Benchmark: cold history requests must not hold up the live stream.

`--requests` (8) concurrent cold requests of `--bars` (5,000) minute bars, each for a different instrument and
a window ending at a random minute of the last 50 days, while a BTCUSD 1 subscriber receives updates (the
server's default broadcaster interval, 1 s) and `/api/v1/health` is asked back to back on one keep-alive
connection. The server's event loop is measured from outside: a health answer cannot come back sooner than the
loop gets to it, so the longest health round trip bounds the longest stall from above (targets: no stall over
20 ms, the subscriber's longest gap under 1.2 s). The script's own loop lateness (a 5 ms ticker) is printed
too: it says whether the client side was fast enough to see the server's stalls at all.

Run from the repository root:

    .venv/bin/python bench/history_load.py [--requests 8] [--bars 5000] [--rounds 3] [--seed 8]

Results are printed and written to bench/results/history_load.json.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import random
import statistics
import time
from typing import Any

import aiohttp
from harness import (
    CLIENT_CPU,
    environment,
    format_table,
    pin_to_cpu,
    rss_kb,
    start_server,
    write_json,
)

from app.market.instruments import INSTRUMENTS
from app.paths import WS_PATH

BARS_PATH = "/api/v1/datafeed/bars"
HEALTH_PATH = "/api/v1/health"
MINUTE = 60
LOOKBACK = 50 * 86_400
# Quiet time before and after the cold requests, seconds: the subscriber's gaps outside them for comparison.
SETTLE = 2.5
TICK = 0.005


async def _subscriber(session: aiohttp.ClientSession, base: str, arrivals: list[float], ready: asyncio.Event) -> None:
    async with session.ws_connect(base.replace("http", "ws", 1) + WS_PATH) as ws:
        await ws.send_json({"type": "bars.subscribe", "payload": {"symbol": "BTCUSD", "resolution": "1"}})
        async for message in ws:
            body = message.json()
            if body["type"] == "bars.subscribe.response":
                ready.set()
            elif body["type"] == "bars.update":
                arrivals.append(time.monotonic())


async def _health(session: aiohttp.ClientSession, base: str, samples: list[tuple[float, float]]) -> None:
    while True:
        sent = time.monotonic()
        async with session.get(base + HEALTH_PATH) as response:
            await response.read()
        samples.append((sent, time.monotonic() - sent))


async def _ticker(lateness: list[float]) -> None:
    while True:
        due = time.monotonic() + TICK
        await asyncio.sleep(TICK)
        lateness.append(time.monotonic() - due)


async def _cold(session: aiohttp.ClientSession, base: str, symbol: str, end: int, bars: int) -> float:
    params: dict[str, str | int] = {
        "symbol": symbol,
        "resolution": "1",
        "from_time": end - MINUTE,
        "to_time": end,
        "count_back": bars,
    }
    sent = time.monotonic()
    async with session.get(base + BARS_PATH, params=params) as response:
        body = await response.json()
    if response.status != 200 or len(body["bars"]) != bars:
        raise RuntimeError(f"{symbol} ending {end}: {response.status}, {len(body.get('bars', []))} bars")
    return time.monotonic() - sent


def _gap(arrivals: list[float], lo: float, hi: float) -> float:
    """The longest time between updates that touches [lo, hi]."""
    inside = [t for t in arrivals if lo <= t <= hi]
    before = [t for t in arrivals if t < lo][-1:]
    after = [t for t in arrivals if t > hi][:1]
    times = before + inside + after
    return max((b - a for a, b in itertools.pairwise(times)), default=float("nan"))


def _longest(samples: list[tuple[float, float]], lo: float, hi: float) -> float:
    """The longest health round trip that overlaps [lo, hi], seconds."""
    return max((took for sent, took in samples if sent <= hi and sent + took >= lo), default=float("nan"))


async def _round(base: str, symbols: list[str], ends: list[int], bars: int) -> dict[str, Any]:
    arrivals: list[float] = []
    health: list[tuple[float, float]] = []
    lateness: list[float] = []
    ready = asyncio.Event()
    async with aiohttp.ClientSession() as stream, aiohttp.ClientSession() as probe, aiohttp.ClientSession() as load:
        background = [
            asyncio.create_task(_subscriber(stream, base, arrivals, ready)),
            asyncio.create_task(_health(probe, base, health)),
            asyncio.create_task(_ticker(lateness)),
        ]
        await asyncio.wait_for(ready.wait(), 10)
        await asyncio.sleep(SETTLE)
        quiet = (time.monotonic() - SETTLE, time.monotonic())
        began = time.monotonic()
        durations = await asyncio.gather(*(_cold(load, base, s, e, bars) for s, e in zip(symbols, ends, strict=True)))
        finished = time.monotonic()
        await asyncio.sleep(SETTLE)
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
    return {
        "requests_seconds": [round(d, 3) for d in durations],
        "all_done_seconds": round(finished - began, 3),
        "health_max_ms_quiet": round(_longest(health, *quiet) * 1000, 1),
        "health_max_ms_during": round(_longest(health, began, finished) * 1000, 1),
        "health_median_ms_during": round(
            statistics.median([took for sent, took in health if began <= sent <= finished] or [float("nan")]) * 1000,
            2,
        ),
        "subscriber_gap_seconds": round(_gap(arrivals, began, finished), 3),
        "client_lateness_max_ms": round(max(lateness, default=0.0) * 1000, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=8)
    parser.add_argument("--bars", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=8)
    args = parser.parse_args()
    pin_to_cpu(CLIENT_CPU)
    draw = random.Random(args.seed)
    server = start_server({})
    try:
        now = int(time.time())
        rounds = []
        for _ in range(args.rounds):
            # A different window each time: the earlier rounds' bars are cached, these are not.
            symbols = draw.sample([i.symbol for i in INSTRUMENTS], args.requests)
            ends = [(now - draw.randrange(2 * 86_400, LOOKBACK)) // MINUTE * MINUTE for _ in symbols]
            rounds.append(asyncio.run(_round(server.base_url, symbols, ends, args.bars)))
        rss_mb = rss_kb(server.pid) / 1024
    finally:
        server.stop()
    rows = [
        (
            n + 1,
            f"{max(r['requests_seconds']):.2f}",
            r["all_done_seconds"],
            r["health_max_ms_quiet"],
            r["health_max_ms_during"],
            r["health_median_ms_during"],
            r["subscriber_gap_seconds"],
            r["client_lateness_max_ms"],
        )
        for n, r in enumerate(rounds)
    ]
    headers = (
        "round",
        "slowest req s",
        "all done s",
        "health max ms (quiet)",
        "health max ms (during)",
        "health median ms",
        "sub gap s",
        "client late ms",
    )
    print(f"{args.requests} concurrent cold requests of {args.bars} minute bars, BTCUSD 1 subscriber (interval 1 s)")
    print(format_table(headers, rows))
    print(f"server RSS after: {rss_mb:.0f} MB; targets: stall (health max during) <= 20 ms, subscriber gap < 1.2 s")
    summary = {
        "health_max_ms_during": max(r["health_max_ms_during"] for r in rounds),
        "subscriber_gap_seconds": max(r["subscriber_gap_seconds"] for r in rounds),
        "server_rss_mb": round(rss_mb),
    }
    path = write_json(
        "history_load.json",
        {"settings": vars(args), "environment": environment(), "rounds": rounds, "summary": summary},
    )
    print(f"written to {path}")


if __name__ == "__main__":
    main()

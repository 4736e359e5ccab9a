"""The rotating-URL load of the REST benchmark (`rest.py`); not run by itself.

Many `/api/v1/datafeed/bars` windows of WINDOW_BARS bars, drawn with a fixed seed: every instrument the server
lists, resolutions 1, 5, 15, 60 and 1D, each window ending at a random time in the last 50 days (intraday) or the
last 15 years (daily), shaped as TradingView's library asks (`from_time` = end - 300 periods, `count_back=300`).
Every URL is fetched once and kept only if it answers 200 with exactly WINDOW_BARS bars ascending before its end;
a draw that finds fewer (history begins inside the window) is drawn again. An instrument and resolution with fewer
bars than that in all its history is left out, and said so.

The set is meant to defeat the server's cache of closed bars (SimulatedFeed keeps MARKET_CACHE_MB megabytes of
blocks of `block_slots(grid)` periods, least recently used first out): `blocks_touched` counts the blocks the
answers' bars lie in and `touched_mb` what the answers' bars take cached, a lower bound of what serving the set
needs, to compare with the megabytes the server keeps.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from harness import HOST

from app.market.grid import grid_for
from app.market.instruments import INSTRUMENTS
from app.market.resolutions import DAY, Resolution, parse_resolution
from app.market.simulation import block_slots
from app.settings import load_settings

BARS_PATH = "/api/v1/datafeed/bars"
SEARCH_PATH = "/api/v1/datafeed/search?user_input=&max_results=100"
RESOLUTIONS = ("1", "5", "15", "60", "1D")
WINDOW_BARS = 300
INTRADAY_LOOKBACK = 50 * DAY
DAILY_LOOKBACK = 15 * 365 * DAY
# Draws of one URL whose window reaches before the history's start, before giving up on the set.
MAX_DRAWS = 50


@dataclass(frozen=True)
class Window:
    """One request: WINDOW_BARS bars of `symbol` at `resolution` ending before `end` (UTC seconds, exclusive)."""

    symbol: str
    resolution: str
    end: int

    @property
    def path(self) -> str:
        span = WINDOW_BARS * _resolution(self.resolution).seconds
        return (
            f"{BARS_PATH}?symbol={self.symbol}&resolution={self.resolution}"
            f"&from_time={self.end - span}&to_time={self.end}&count_back={WINDOW_BARS}"
        )


@dataclass
class RotatingSet:
    """The verified URLs, in the order wrk cycles through them, and what the set covers."""

    paths: list[str]
    seed: int
    pairs: int
    # "SYMBOL RESOLUTION" -> why it was left out.
    skipped: dict[str, str] = field(default_factory=dict)
    redrawn: int = 0
    verify_seconds: float = 0.0
    blocks_touched: int = 0
    # The server's bar cache, and what the blocks the answers lie in take at least (at the smallest block seen).
    cache_mb: int = 0
    touched_mb: float = 0.0

    @property
    def cold(self) -> bool:
        """Whether the set needs more of the bar cache than the server keeps, so cycling through it keeps missing."""
        return self.touched_mb > self.cache_mb

    def summary(self) -> dict[str, Any]:
        described = {key: value for key, value in vars(self).items() if key != "paths"}
        return described | {"urls": len(self.paths), "cold": self.cold, "first_urls": self.paths[:3]}


def _resolution(text: str) -> Resolution:
    resolution = parse_resolution(text)
    if resolution is None:
        raise ValueError(f"unknown resolution {text!r}")
    return resolution


class _Client:
    """One keep-alive HTTP connection to the server, for the many requests of building the set."""

    def __init__(self, port: int) -> None:
        self._connection = http.client.HTTPConnection(HOST, port, timeout=30)

    def get_json(self, path: str) -> tuple[int, Any]:
        self._connection.request("GET", path)
        response = self._connection.getresponse()
        body = response.read()
        try:
            return response.status, json.loads(body)
        except ValueError:
            return response.status, body[:200]

    def close(self) -> None:
        self._connection.close()


def _bars(answer: Any) -> list[Any]:
    """The `bars` list of a /bars answer; empty if the answer has none."""
    bars = answer.get("bars") if isinstance(answer, dict) else None
    return bars if isinstance(bars, list) else []


def _short(status: int, answer: Any) -> bool:
    """A good answer with fewer than WINDOW_BARS bars: history begins inside the window. Anything else is wrong."""
    return status == 200 and len(_bars(answer)) < WINDOW_BARS


def window_problem(status: int, answer: Any, window: Window) -> str | None:
    """Why `answer` is not WINDOW_BARS bars ascending before the window's end; None if it is."""
    if status != 200 or not isinstance(answer, dict) or not isinstance(answer.get("bars"), list):
        return f"answered {status}: {str(answer)[:200]}"
    bars = _bars(answer)
    if len(bars) != WINDOW_BARS:
        return f"answered {len(bars)} bars, not {WINDOW_BARS}"
    times = [bar["time"] for bar in bars if isinstance(bar, dict) and isinstance(bar.get("time"), int)]
    if len(times) != len(bars):
        return f"bars without a time in whole milliseconds: {bars[:3]}..."
    if times != sorted(set(times)) or times[-1] >= window.end * 1000:
        return f"bar times not ascending before the end {window.end * 1000}: {times[:3]}...{times[-3:]}"
    return None


def _draw(rng: random.Random, symbol: str, resolution: str, now: int) -> Window:
    lookback = INTRADAY_LOOKBACK if _resolution(resolution).is_intraday else DAILY_LOOKBACK
    return Window(symbol, resolution, now - rng.randrange(lookback))


def _symbols(client: _Client) -> list[str]:
    status, found = client.get_json(SEARCH_PATH)
    if status != 200 or not isinstance(found, list):
        raise SystemExit(f"rotating: {SEARCH_PATH} answered {status}: {str(found)[:200]}")
    return sorted(item["symbol"] for item in found)


def _usable_pairs(client: _Client, symbols: Sequence[str], now: int) -> tuple[list[tuple[str, str]], dict[str, str]]:
    """Instrument and resolution pairs with at least WINDOW_BARS bars of history, and why the others are not."""
    pairs, skipped = [], {}
    for symbol in symbols:
        for resolution in RESOLUTIONS:
            window = Window(symbol, resolution, now)
            status, answer = client.get_json(window.path)
            problem = window_problem(status, answer, window)
            if problem is None:
                pairs.append((symbol, resolution))
            elif _short(status, answer):
                skipped[f"{symbol} {resolution}"] = problem
            else:
                raise SystemExit(f"rotating: {window.path} {problem}")
    return pairs, skipped


def build(port: int, now: int, count: int, seed: int, server_env: Mapping[str, str]) -> RotatingSet:
    """`count` verified URLs drawn with `seed` (pairs chosen uniformly); SystemExit if the server answers wrong."""
    rng = random.Random(seed)
    client = _Client(port)
    started = time.perf_counter()
    try:
        pairs, skipped = _usable_pairs(client, _symbols(client), now)
        if not pairs:
            raise SystemExit(f"rotating: no instrument has {WINDOW_BARS} bars at any resolution: {skipped}")
        result = RotatingSet([], seed, len(pairs), skipped)
        blocks: set[tuple[str, str, int]] = set()
        bars: set[tuple[str, str, int]] = set()
        for _ in range(count):
            symbol, resolution = rng.choice(pairs)
            for _draws in range(MAX_DRAWS):
                window = _draw(rng, symbol, resolution, now)
                status, answer = client.get_json(window.path)
                problem = window_problem(status, answer, window)
                if problem is None:
                    break
                if not _short(status, answer):
                    raise SystemExit(f"rotating: {window.path} {problem}")
                result.redrawn += 1
            else:
                raise SystemExit(f"rotating: no {WINDOW_BARS}-bar window of {symbol} {resolution} in {MAX_DRAWS} draws")
            result.paths.append(window.path)
            hours = next(i.hours for i in INSTRUMENTS if i.symbol == symbol)
            grid = grid_for(hours, _resolution(resolution))
            blocks.update(
                (symbol, resolution, grid.first_at_or_after(bar["time"] // 1000) // block_slots(grid))
                for bar in answer["bars"]
            )
            bars.update((symbol, resolution, bar["time"]) for bar in answer["bars"])
    finally:
        client.close()
    result.verify_seconds = round(time.perf_counter() - started, 1)
    result.blocks_touched = len(blocks)
    result.cache_mb = load_settings(os.environ | dict(server_env)).market_cache_mb
    # A cached bar's wire form and columns take about 150 bytes; the blocks hold more bars than the answers.
    result.touched_mb = round(len(bars) * 150 / 2**20, 1)
    return result

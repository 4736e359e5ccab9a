"""Bar, quote and history values exchanged between a feed and its consumers."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

import orjson


class TickBar(NamedTuple):
    """OHLCV with prices as integer counts of 1/pricescale, so aggregation is exact."""

    open: int
    high: int
    low: int
    close: int
    volume: int


def merge(bars: Iterable[TickBar]) -> TickBar | None:
    """The bar covering consecutive bars: first open, max high, min low, last close, total volume."""
    merged: TickBar | None = None
    for bar in bars:
        if merged is None:
            merged = bar
        else:
            merged = TickBar(
                merged.open,
                max(merged.high, bar.high),
                min(merged.low, bar.low),
                bar.close,
                merged.volume + bar.volume,
            )
    return merged


@dataclass(frozen=True, slots=True)
class Bar:
    """One OHLCV bar as clients see it; `time` is the period start in UTC milliseconds.

    `json` is the bar's wire form, `{"time", "open", "high", "low", "close", "volume"}`, shared by
    the REST datafeed and the WebSocket. It is encoded once when the bar is made: closed bars are
    cached and served many times, and encoding floats is most of the cost of a history answer.
    """

    time: int
    open: float
    high: float
    low: float
    close: float
    volume: float
    json: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        wire = {
            "time": self.time,
            "open": self.open,
            "high": self.high,
            "low": self.low,
            "close": self.close,
            "volume": self.volume,
        }
        # A copy of exactly its length: orjson's own result keeps its 4 KiB output buffer (orjson 3.13), thirty
        # times the bar, and closed bars are cached by the hundred thousand.
        object.__setattr__(self, "json", bytes(memoryview(orjson.dumps(wire))))


@dataclass(frozen=True, slots=True)
class History:
    """Bars answering a history request, ascending; `no_data`: nothing exists before the range end."""

    bars: list[Bar]
    no_data: bool


@dataclass(frozen=True, slots=True)
class Quote:
    """A snapshot of an instrument's trading day so far."""

    last: float
    bid: float
    ask: float
    spread: float
    open: float
    high: float
    low: float
    prev_close: float
    volume: float
    change: float
    change_percent: float

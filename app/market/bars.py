"""Bar, quote and history values exchanged between a feed and its consumers."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple


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
    """One OHLCV bar as clients see it; `time` is the period start in UTC milliseconds."""

    time: int
    open: float
    high: float
    low: float
    close: float
    volume: float


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

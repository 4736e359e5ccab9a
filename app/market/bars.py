"""Bar, quote and history values exchanged between a feed and its consumers."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple, cast

import numpy as np
import numpy.typing as npt
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


# Volumes as clients see them: whole numbers, or floats for instruments traded in fractions.
Volumes = npt.NDArray[np.float64] | npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True, eq=False)
class BarColumns:
    """Consecutive bars as columns, with their wire form: how closed bars are cached and served.

    `times` in UTC milliseconds; `prices` rows of open, high, low, close; `json` the bars' wire objects (as
    `Bar.json`) joined by commas, bar i being `json[offsets[i]:offsets[i + 1] - 1]`. A few objects per block of
    bars rather than several per bar: the garbage collector's full passes, which stop every thread, stay short
    however many bars are cached.
    """

    times: npt.NDArray[np.int64]
    prices: npt.NDArray[np.float64]
    volumes: Volumes
    json: bytes
    offsets: npt.NDArray[np.int64]

    @classmethod
    def of(
        cls,
        times: npt.NDArray[np.int64],
        prices: npt.NDArray[np.float64],
        volumes: Volumes,
    ) -> BarColumns:
        """Columns and their wire form, encoded in one pass (floats as orjson writes them, as `Bar` does)."""
        opens, highs, lows, closes = prices.T.tolist()
        rows = zip(times.tolist(), opens, highs, lows, closes, volumes.tolist(), strict=True)
        wire = orjson.dumps(
            [{"time": t, "open": o, "high": h, "low": low, "close": c, "volume": v} for t, o, h, low, c, v in rows]
        )[1:-1]
        # Every bar is one flat object: its "{" starts it.
        starts = np.flatnonzero(np.frombuffer(wire, dtype=np.uint8) == ord("{"))
        return cls(times, prices, volumes, wire, np.append(starts, len(wire) + 1).astype(np.int64))

    @classmethod
    def of_bar(cls, bar: Bar) -> BarColumns:
        return cls(
            np.array([bar.time], dtype=np.int64),
            np.array([[bar.open, bar.high, bar.low, bar.close]]),
            np.array([bar.volume]),
            bar.json,
            np.array([0, len(bar.json) + 1], dtype=np.int64),
        )

    @staticmethod
    def concat(first: BarColumns, second: BarColumns) -> BarColumns:
        """The bars of `first`, then those of `second`."""
        if not len(second):
            return first
        if not len(first):
            return second
        return BarColumns(
            np.concatenate((first.times, second.times)),
            np.concatenate((first.prices, second.prices)),
            cast(Volumes, np.concatenate((first.volumes, second.volumes))),
            first.json + b"," + second.json,
            np.concatenate((first.offsets[:-1], second.offsets + first.offsets[-1])),
        )

    def __len__(self) -> int:
        return len(self.times)

    @property
    def nbytes(self) -> int:
        """Bytes of its arrays and wire form."""
        return self.times.nbytes + self.prices.nbytes + self.volumes.nbytes + len(self.json) + self.offsets.nbytes

    def __getitem__(self, part: slice) -> BarColumns:
        """Bars [start, stop) (a slice with no step)."""
        start, stop, _ = part.indices(len(self.times))
        stop = max(start, stop)
        return BarColumns(
            self.times[start:stop],
            self.prices[start:stop],
            self.volumes[start:stop],
            self.json[self.offsets[start] : self.offsets[stop] - 1] if stop > start else b"",
            self.offsets[start : stop + 1] - self.offsets[start],
        )

    def bars(self) -> list[Bar]:
        return [
            Bar(time, open_, high, low, close, volume)
            for time, (open_, high, low, close), volume in zip(
                self.times.tolist(), self.prices.tolist(), self.volumes.tolist(), strict=True
            )
        ]


@dataclass(frozen=True, slots=True, eq=False)
class History:
    """Bars answering a history request, ascending, in consecutive runs; `no_data`: nothing exists before the
    range end."""

    runs: tuple[BarColumns, ...]
    no_data: bool

    @property
    def bars(self) -> list[Bar]:
        """The bars as objects (made on each call: the WebSocket's few, and tests)."""
        return [bar for run in self.runs for bar in run.bars()]

    def __len__(self) -> int:
        return sum(len(run) for run in self.runs)

    def __eq__(self, other: object) -> bool:
        """The same bars (however they are split in runs) and the same `no_data`."""
        return isinstance(other, History) and (self.json(), self.no_data) == (other.json(), other.no_data)

    __hash__ = None  # type: ignore[assignment]  # equal by value, mutable parts: never a dict key

    def json(self) -> bytes:
        """The bars' wire objects joined by commas (the inside of a JSON array)."""
        return b",".join(run.json for run in self.runs if len(run))

    def columns(self) -> Columns:
        """The bars as one list per field, `time` in UTC seconds (TradingView UDF's layout)."""
        times = np.concatenate([np.zeros(0, dtype=np.int64), *(run.times for run in self.runs)])
        prices = np.concatenate([np.zeros((0, 4)), *(run.prices for run in self.runs)])
        volumes = np.concatenate([run.volumes for run in self.runs]) if self.runs else np.zeros(0)
        opens, highs, lows, closes = prices.T.tolist()
        return Columns((times // 1000).tolist(), opens, highs, lows, closes, volumes.tolist())


class Columns(NamedTuple):
    """Bars as one list per field."""

    time: list[int]
    open: list[float]
    high: list[float]
    low: list[float]
    close: list[float]
    volume: list[float]


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

"""The bars of one resolution of one instrument as its trades build them (`tape.Tape` holds one level per
resolution): the forming period's bar, and the bars closed lately, kept until the store shows them.

A `MinuteLevel` is made of trades; a `DerivedLevel` of the closed bars of a finer level (its source) in its period:
while the period forms, as a running aggregate (first open, highest high, lowest low, last close, volumes summed as
they come); once it closes, exactly as history aggregates the stored source bars (`aggregate`). Times in UTC seconds,
prices in ticks, volumes in the instrument's units.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

from app.market.aggregate import TickColumns, aggregate
from app.market.grid import Grid, grid_for
from app.market.resolutions import DAY, Resolution
from app.market.trades import Ints
from app.market.trading_hours import TradingHours

MINUTE = Resolution.M1


def _bar(stamp: int, open_: int, high: int, low: int, close: int, volume: float) -> TickColumns:
    """One bar as columns."""
    return TickColumns(
        np.array([stamp], dtype=np.int64),
        np.array([open_], dtype=np.int64),
        np.array([high], dtype=np.int64),
        np.array([low], dtype=np.int64),
        np.array([close], dtype=np.int64),
        np.array([volume], dtype=np.float64),
    )


class _Rows:
    """Bars appended in time order, in arrays that grow by doubling: the closed source bars of one period (up to a
    month of minutes)."""

    __slots__ = ("_count", "_floats", "_ints")

    def __init__(self) -> None:
        self._count = 0
        # Time, open, high, low, close as rows of one integer array; volumes apart.
        self._ints = np.empty((5, 16), dtype=np.int64)
        self._floats = np.empty(16, dtype=np.float64)

    def __len__(self) -> int:
        return self._count

    def extend(self, bars: TickColumns) -> None:
        count, added = self._count, len(bars)
        if count + added > self._floats.shape[0]:
            size = max(2 * self._floats.shape[0], count + added)
            ints, floats = np.empty((5, size), dtype=np.int64), np.empty(size, dtype=np.float64)
            ints[:, :count], floats[:count] = self._ints[:, :count], self._floats[:count]
            self._ints, self._floats = ints, floats
        end = count + added
        self._ints[:, count:end] = (bars.times, bars.opens, bars.highs, bars.lows, bars.closes)
        self._floats[count:end] = bars.volumes
        self._count = end

    def columns(self) -> TickColumns:
        """The bars so far (views of the arrays, whose first rows never change)."""
        count = self._count
        times, opens, highs, lows, closes = self._ints[:, :count]
        return TickColumns(times, opens, highs, lows, closes, self._floats[:count])


class Level(ABC):
    """The bars of one resolution: its forming period, and its bars closed lately (until the store shows them)."""

    __slots__ = ("end", "grid", "hours", "last_closes", "parents", "period", "recent", "resolution", "start", "written")

    def __init__(self, hours: TradingHours, resolution: Resolution, written: bool, at: float) -> None:
        self.hours = hours
        self.resolution = resolution
        self.grid: Grid = grid_for(hours, resolution)
        self.written = written
        # The levels made of this one's bars.
        self.parents: list[DerivedLevel] = []
        # Closed bars not yet seen in the store, each with its period's end (UTC seconds).
        self.recent: list[tuple[int, TickColumns]] = []
        # The closes of the last two closed bars, oldest first (a daily one's make the quote's previous close).
        self.last_closes: list[int] = []
        self.period, self.start, self.end = 0, 0, 0
        self.enter(at)

    def enter(self, at: float) -> None:
        """Make the period holding `at` (UTC seconds) the forming one, with nothing in it yet."""
        self.period = self.grid.index(at)
        self.start, self.end = self.grid.bounds(self.period)

    @abstractmethod
    def forming(self) -> TickColumns | None:
        """The forming bar, or None while its period has no trade."""

    @abstractmethod
    def final(self) -> TickColumns | None:
        """The bar of the period that just ended, or None when it had no trade."""


class MinuteLevel(Level):
    """1-minute bars, made of trades."""

    __slots__ = ("close", "close_time", "high", "low", "open", "open_time", "scale", "units")

    def __init__(self, hours: TradingHours, volume_scale: int, at: float) -> None:
        self.scale = volume_scale
        self.units = 0
        self.open = self.high = self.low = self.close = 0
        self.open_time = self.close_time = 0
        super().__init__(hours, MINUTE, written=True, at=at)

    def enter(self, at: float) -> None:
        super().enter(at)
        self.units = 0

    def add(self, times: Ints, ticks: Ints, units: Ints) -> None:
        """Trades of this minute, in order (see `Trades`)."""
        first, last = int(times[0]), int(times[-1])
        high, low = int(ticks.max()), int(ticks.min())
        if not self.units:
            self.open, self.open_time, self.high, self.low = int(ticks[0]), first, high, low
            self.close, self.close_time = int(ticks[-1]), last
        else:
            # An earlier trade opens the bar; of equal times, the one that arrived first.
            if first < self.open_time:
                self.open, self.open_time = int(ticks[0]), first
            # A later trade closes it; of equal times, the one that arrived last.
            if last >= self.close_time:
                self.close, self.close_time = int(ticks[-1]), last
            self.high, self.low = max(self.high, high), min(self.low, low)
        # Python integers: a sum of sizes never wraps around.
        self.units += sum(units.tolist())

    def resume(self, bar: TickColumns) -> None:
        """Continue the forming minute from its stored bar (one, with volume): a server that stopped within the
        minute wrote it as it stood. Its open stays (its trades came first); a later trade closes it."""
        self.open, self.high, self.low, self.close = (int(c[0]) for c in (bar.opens, bar.highs, bar.lows, bar.closes))
        self.open_time = self.close_time = self.start * 1000
        self.units = round(float(bar.volumes[0]) * self.scale)

    def forming(self) -> TickColumns | None:
        if not self.units:
            return None
        return _bar(self.start, self.open, self.high, self.low, self.close, self.units / self.scale)

    def take_forming(self) -> TickColumns | None:
        """The forming bar as it stands (None without a trade), the period left empty: on leaving, a bar written
        before its period ends (a tape made again within the period continues it: `resume`)."""
        forming = self.forming()
        self.units = 0
        return forming

    def final(self) -> TickColumns | None:
        return self.forming()


class DerivedLevel(Level):
    """Bars made of the closed bars of a finer level (`source`) in their period, as `aggregate` makes them."""

    __slots__ = ("part", "rows", "source")

    def __init__(self, hours: TradingHours, resolution: Resolution, source: Level, written: bool, at: float) -> None:
        self.source = source
        source.parents.append(self)
        self.rows = _Rows()
        # The closed source bars so far as one bar: stamp, open, high, low, close (ticks), volume.
        self.part: tuple[int, int, int, int, int, float] | None = None
        super().__init__(hours, resolution, written, at)

    def enter(self, at: float) -> None:
        super().enter(at)
        self.rows, self.part = _Rows(), None

    def source_span(self) -> tuple[int, int]:
        """The times (UTC seconds) of the source bars the forming period holds: [start, end)."""
        if self.source.resolution.is_intraday:
            return self.start, self.end
        first, after = self.grid.day_numbers(self.period)
        return first * DAY, after * DAY

    def take(self, bars: TickColumns) -> None:
        """Closed source bars of the forming period, in time order."""
        if not len(bars):
            return
        self.rows.extend(bars)
        high, low, close, volume = int(bars.highs.max()), int(bars.lows.min()), int(bars.closes[-1]), bars.volumes
        if self.part is None:
            stamp = self._stamp()
            self.part = (stamp, int(bars.opens[0]), high, low, close, float(volume.sum()))
        else:
            stamp, open_, was_high, was_low, _, was_volume = self.part
            self.part = (stamp, open_, max(was_high, high), min(was_low, low), close, was_volume + float(volume.sum()))

    def forming(self) -> TickColumns | None:
        # While the period forms its volume is a running sum; its final one is made as history makes it (`final`).
        below = self.source.forming()
        if self.part is None:
            if below is None:
                return None
            stamped = np.array([self._stamp()], dtype=np.int64)
            return TickColumns(stamped, below.opens, below.highs, below.lows, below.closes, below.volumes)
        stamp, open_, high, low, close, volume = self.part
        if below is None:
            return _bar(stamp, open_, high, low, close, volume)
        return _bar(
            stamp,
            open_,
            max(high, int(below.highs[0])),
            min(low, int(below.lows[0])),
            int(below.closes[0]),
            volume + float(below.volumes[0]),
        )

    def final(self) -> TickColumns | None:
        if not len(self.rows):
            return None
        return aggregate(self.hours, self.source.resolution, self.resolution, self.rows.columns())

    def _stamp(self) -> int:
        """The forming period's bar time, as `aggregate` stamps it: an intraday period's start; 00:00 UTC of the
        trading day of a day, of the first trading day by the calendar of a week or month (`Grid.stamp`)."""
        return self.start if self.resolution.is_intraday else self.grid.stamp(self.period)

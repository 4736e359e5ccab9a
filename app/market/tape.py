"""Bars of every resolution built from one instrument's trades, on its session grid (pure: no I/O).

A `Tape` holds an instrument's bars as its trades build them: the forming bar of each resolution and the bars that
closed lately. Trades are finer than any bar, so they build 1-minute bars; each coarser resolution is made of the
bars of a finer one exactly as history makes it from the store (`aggregate`): of the coarsest *written* resolution
that nests into it (1 minute and every resolution the instrument already has stored), so that a bar goes out with
the same values that `/bars` serves for it once it is closed.

Times: trades in UTC milliseconds, bars and periods in UTC seconds (the grid's). Prices in ticks, sizes in volume
units (see `trades`); a bar's volume is their sum in the instrument's units (a float, as the store holds it).

The rules the tape keeps:
- a bar covers a period of `grid` (intraday periods on the grid anchored at the session open and extended through
  the trading day, days, weeks and months of trading days); a trade outside the session belongs to the extended
  grid's period that holds it, as an imported bar would;
- open and close are those of the earliest and the latest trade by time; of trades with equal time, the first to
  arrive opens and the last to arrive closes;
- a bar closes when its period ends, by the clock (`advance`) or because a later trade arrives; its final values
  then never change, and a trade older than the forming minute is the caller's to refuse (`floor`);
- while a period forms, a coarser bar's volume is a running sum; once it closes, the sum history makes;
- a period without trades has no bar.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from app.market.aggregate import ORDER, TickColumns, aggregate, source_for
from app.market.grid import Grid, grid_for
from app.market.resolutions import DAY, Resolution
from app.market.trades import Ints, Trades
from app.market.trading_hours import TradingHours, day_number

MINUTE = Resolution.M1
# Reads the closed bars of `resolution` stamped in [start, end) (UTC seconds) from the store: what a tape made at a
# restart continues from.
ReadBars = Callable[[Resolution, int, int], TickColumns]


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


class _Level(ABC):
    """The bars of one resolution: its forming period, and its bars closed lately (until the store shows them)."""

    __slots__ = ("end", "grid", "hours", "last_closes", "parents", "period", "recent", "resolution", "start", "written")

    def __init__(self, hours: TradingHours, resolution: Resolution, written: bool, at: float) -> None:
        self.hours = hours
        self.resolution = resolution
        self.grid: Grid = grid_for(hours, resolution)
        self.written = written
        # The levels made of this one's bars.
        self.parents: list[_Derived] = []
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


class _Minute(_Level):
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

    def forming(self) -> TickColumns | None:
        if not self.units:
            return None
        return _bar(self.start, self.open, self.high, self.low, self.close, self.units / self.scale)

    def final(self) -> TickColumns | None:
        return self.forming()


class _Derived(_Level):
    """Bars made of the closed bars of a finer level (`source`) in their period, as `aggregate` makes them."""

    __slots__ = ("part", "rows", "source")

    def __init__(self, hours: TradingHours, resolution: Resolution, source: _Level, written: bool, at: float) -> None:
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
            stamp = self._stamp(int(bars.times[0]))
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
            stamped = np.array([self._stamp(int(below.times[0]))], dtype=np.int64)
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

    def _stamp(self, first: int) -> int:
        """The bar time of a bar whose first source bar is stamped `first`, as `aggregate` stamps it: an intraday
        period's start; 00:00 UTC of the (first) trading day with data for a day, week or month."""
        if self.resolution.is_intraday:
            return self.start
        if self.source.resolution.is_intraday:
            return day_number(self.hours.trading_day(first)) * DAY
        return first


@dataclass(frozen=True, slots=True, eq=False)
class Closed:
    """Bars that closed, for the store: per written resolution, ascending. `until` (UTC seconds): every bar of the
    tape whose period ended by then is made of these and of the bars handed out before."""

    bars: dict[Resolution, TickColumns]
    until: int


def written_resolutions(stored: Iterable[Resolution]) -> tuple[Resolution, ...]:
    """The resolutions a tape writes (and makes the others of) for an instrument with bars `stored`: 1 minute and
    those, finest first."""
    kept = {MINUTE, *stored}
    return tuple(resolution for resolution in ORDER if resolution in kept)


class Tape:
    """The bars one instrument's trades build at every resolution (see the module's rules).

    `written`: the resolutions the instrument has stored; with 1 minute, those its closed bars are written at, and
    those every other resolution is made of. `at` (UTC seconds): where the tape begins, the start of its first
    forming minute (its clock, the newest trade and the end of its newest stored bar, whichever is latest). `read`
    gives the stored bars that the forming periods of coarser resolutions already hold (after a restart);
    `previous_close` is the close of the last daily bar before the day of `at`, in ticks.
    """

    def __init__(
        self,
        hours: TradingHours,
        volume_scale: int,
        written: Iterable[Resolution],
        at: float,
        read: ReadBars,
        previous_close: int | None = None,
    ) -> None:
        self.written = written_resolutions(written)
        self._minute = _Minute(hours, volume_scale, at)
        self._levels: dict[Resolution, _Level] = {MINUTE: self._minute}
        for resolution in ORDER[1:]:
            # A written resolution is made of a finer written one (as the bars of it that are written are); any
            # other as history makes it, of the coarsest written one that nests into it.
            finer = [r for r in self.written if ORDER.index(r) < ORDER.index(resolution)]
            source = self._levels[source_for(finer, resolution) or MINUTE]
            level = _Derived(hours, resolution, source, resolution in self.written, at)
            level.take(read(source.resolution, *level.source_span()))
            self._levels[resolution] = level
        if previous_close is not None:
            self._levels[Resolution.DAY].last_closes.append(previous_close)
        self._closed: dict[Resolution, list[TickColumns]] = {}
        # Changes with every trade, close and forgotten bar: what `bars` answered stays true until it does.
        self.version = 0
        self._answers: dict[Resolution, TickColumns] = {}
        self._answered = -1

    def floor(self) -> int:
        """UTC milliseconds before which a trade is too old: the start of the forming minute."""
        return self._minute.start * 1000

    def advance(self, now: float) -> None:
        """Close every bar whose period ended by `now` (UTC seconds); a later `now` than the tape has seen moves its
        forming periods there."""
        if now < self._minute.end:
            return
        for level in self._levels.values():
            if now >= level.end:
                bar = level.final()
                if bar is not None:
                    self._emit(level, bar)
                level.enter(now)
        self.version += 1

    def add(self, trades: Trades) -> None:
        """Apply `trades`, none of them older than `floor()` (ValueError otherwise): a trade past the forming
        minute closes it first."""
        times = trades.times
        if not len(times):
            return
        if int(times[0]) < self.floor():
            raise ValueError(f"a trade at {int(times[0])} ms is older than the forming minute ({self.floor()} ms)")
        first = 0
        while first < len(times):
            self.advance(int(times[first]) / 1000)
            stop = int(np.searchsorted(times, self._minute.end * 1000))
            self._minute.add(times[first:stop], trades.ticks[first:stop], trades.units[first:stop])
            first = stop
        self.version += 1

    def bars(self, resolution: Resolution) -> TickColumns:
        """The bars of `resolution` that the store may not show yet, ascending: those closed lately, then the
        forming one (if its period has a trade)."""
        if self._answered != self.version:
            self._answers, self._answered = {}, self.version
        answer = self._answers.get(resolution)
        if answer is None:
            level = self._levels[resolution]
            forming = level.forming()
            parts = [bar for _, bar in level.recent]
            answer = self._answers[resolution] = TickColumns.concat([*parts, forming] if forming else parts)
        return answer

    def day(self) -> tuple[TickColumns | None, int | None]:
        """For a quote: the newest daily bar the store may not show yet (the forming one, else the last closed) and
        the close before it, in ticks; (None, None) when every daily bar is in the store."""
        level = self._levels[Resolution.DAY]
        forming, closes = level.forming(), level.last_closes
        if forming is not None:
            return forming, closes[-1] if closes else None
        if level.recent:
            return level.recent[-1][1], closes[-2] if len(closes) > 1 else None
        return None, None

    def take_closed(self) -> Closed | None:
        """The bars to write that closed since the last call (call `advance` first), or None."""
        if not self._closed:
            return None
        closed = {resolution: TickColumns.concat(bars) for resolution, bars in self._closed.items()}
        self._closed = {}
        return Closed(closed, self._minute.start)

    def flush(self) -> Closed | None:
        """On leaving: the bars to write, the forming minute's as it stands among them (no later trade can join it
        once it is stored), or None."""
        forming = self._minute.forming()
        if forming is not None:
            self._closed.setdefault(MINUTE, []).append(forming)
            self._minute.units = 0
        return self.take_closed()

    def seen(self, until: int) -> None:
        """The store shows every bar whose period ended by `until` (UTC seconds): forget them."""
        for level in self._levels.values():
            if level.recent and level.recent[0][0] <= until:
                level.recent = [(end, bar) for end, bar in level.recent if end > until]
        self.version += 1

    def _emit(self, level: _Level, bar: TickColumns) -> None:
        """A bar of `level` closed: keep it until the store shows it, write it if its resolution is written, and
        make the coarser levels of it."""
        level.recent.append((level.end, bar))
        level.last_closes = [*level.last_closes[-1:], int(bar.closes[-1])]
        if level.written:
            self._closed.setdefault(level.resolution, []).append(bar)
        for parent in level.parents:
            parent.take(bar)

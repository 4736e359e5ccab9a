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
- no bar holds more than EXACT_LIMIT volume units (so every volume is exact as a double and an int64): `overfills`
  names the trades that would pass it, for the caller to refuse;
- a period without trades has no bar.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import accumulate, islice

import numpy as np

from app.market.aggregate import ORDER, TickColumns, source_for
from app.market.levels import MINUTE, DerivedLevel, Level, MinuteLevel
from app.market.resolutions import Resolution
from app.market.trades import EXACT_LIMIT, Overfill, Trades
from app.market.trading_hours import TradingHours

# Reads the closed bars of `resolution` stamped in [start, end) (UTC seconds) from the store: what a tape made at a
# restart continues from.
ReadBars = Callable[[Resolution, int, int], TickColumns]


@dataclass(frozen=True, slots=True, eq=False)
class Closed:
    """Bars that closed, for the store: per written resolution, ascending. `until` (UTC seconds): every bar of the
    tape whose period ended by then is made of these and of the bars handed out before. `replaces`: the first
    1-minute bar is the minute the tape resumed, which the store holds with fewer trades (it is written over)."""

    bars: dict[Resolution, TickColumns]
    until: int
    replaces: bool = False


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
    `previous_close` is the close of the last daily bar before the day of `at`, in ticks; `resumed` the stored bar of
    the minute holding `at` (with volume), which the forming minute continues: a server that stopped within the
    minute wrote it as it stood.
    """

    def __init__(
        self,
        hours: TradingHours,
        volume_scale: int,
        written: Iterable[Resolution],
        at: float,
        read: ReadBars,
        previous_close: int | None = None,
        resumed: TickColumns | None = None,
    ) -> None:
        self.written = written_resolutions(written)
        self._minute = MinuteLevel(hours, volume_scale, at)
        self._levels: dict[Resolution, Level] = {MINUTE: self._minute}
        # The time of the stored minute the forming one continues, until its bar is handed out to be written over it.
        self._resumed: int | None = None
        if resumed is not None:
            self._minute.resume(resumed)
            self._resumed = self._minute.start
        for resolution in ORDER[1:]:
            # A written resolution is made of a finer written one (as the bars of it that are written are); any
            # other as history makes it, of the coarsest written one that nests into it.
            finer = [r for r in self.written if ORDER.index(r) < ORDER.index(resolution)]
            source = self._levels[source_for(finer, resolution) or MINUTE]
            level = DerivedLevel(hours, resolution, source, resolution in self.written, at)
            start, end = level.source_span()
            if source.resolution.is_intraday:
                # Closed bars only: a stored bar of the forming minute (`resumed`) is the forming minute's.
                end = min(end, self._minute.start)
            level.take(read(source.resolution, start, end))
            self._levels[resolution] = level
        if previous_close is not None:
            self._levels[Resolution.DAY].last_closes.append(previous_close)
        self._closed: dict[Resolution, list[TickColumns]] = {}
        # Changes with every trade, close and forgotten bar: what `bars` answered stays true until it does.
        self.version = 0
        self._answers: dict[Resolution, TickColumns] = {}
        self._answered = -1

    def trading(self) -> bool:
        """Whether the forming minute has a trade: trades are coming in now."""
        return self._minute.forming() is not None

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

    def overfills(self, trades: Trades) -> dict[int, Overfill]:
        """The trades (positions in `trades`, not older than `floor()`) that would bring a bar they join past
        EXACT_LIMIT volume units, each with the finest such bar: a forming bar's volume counts the trades applied
        and the stored bars of its period; the volume a trade brings it to, those of `trades` before it."""
        times, units = trades.times, trades.units
        grid = self._minute.grid
        # The trades by minute: positions [first, stop), the minute's start (UTC seconds), their sizes' sum (Python
        # integers: 10,000 sizes of up to 2**53 units would wrap around in int64).
        minutes: list[tuple[int, int, int, int]] = []
        first = 0
        while first < len(times):
            start, end = grid.bounds(grid.index(int(times[first]) / 1000))
            stop = int(np.searchsorted(times, end * 1000))
            minutes.append((first, stop, start, sum(units[first:stop].tolist())))
            first = stop
        found: dict[int, Overfill] = {}
        for level in self._levels.values():
            periods: dict[int, list[tuple[int, int, int, int]]] = {}
            for minute in minutes:
                periods.setdefault(level.grid.index(minute[2]), []).append(minute)
            for period, parts in periods.items():
                held = self._held(level) if period == level.period else 0
                if held + sum(part[3] for part in parts) <= EXACT_LIMIT:
                    continue
                stamp = level.grid.stamp(period)
                positions = [position for first, stop, _, _ in parts for position in range(first, stop)]
                sizes = [size for first, stop, _, _ in parts for size in units[first:stop].tolist()]
                for position, volume in zip(positions, islice(accumulate(sizes, initial=held), 1, None), strict=True):
                    if volume > EXACT_LIMIT:
                        found.setdefault(position, Overfill(level.resolution, stamp, volume))
        return found

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
        minutes = closed.get(MINUTE)
        replaces = minutes is not None and int(minutes.times[0]) == self._resumed
        if replaces:
            self._resumed = None
        return Closed(closed, self._minute.start, replaces)

    def flush(self) -> Closed | None:
        """On leaving: the bars to write, the forming minute's as it stands among them (a tape made again within the
        minute resumes it), or None."""
        forming = self._minute.take_forming()
        if forming is not None:
            self._closed.setdefault(MINUTE, []).append(forming)
        return self.take_closed()

    def seen(self, until: int) -> None:
        """The store shows every bar whose period ended by `until` (UTC seconds): forget them."""
        for level in self._levels.values():
            if level.recent and level.recent[0][0] <= until:
                level.recent = [(end, bar) for end, bar in level.recent if end > until]
        self.version += 1

    def _held(self, level: Level) -> int:
        """The volume units of `level`'s forming bar (0 without one)."""
        if level is self._minute:
            return self._minute.units
        forming = level.forming()
        return 0 if forming is None else round(float(forming.volumes[0]) * self._minute.scale)

    def _emit(self, level: Level, bar: TickColumns) -> None:
        """A bar of `level` closed: keep it until the store shows it, write it if its resolution is written, and
        make the coarser levels of it."""
        level.recent.append((level.end, bar))
        level.last_closes = [*level.last_closes[-1:], int(bar.closes[-1])]
        if level.written:
            self._closed.setdefault(level.resolution, []).append(bar)
        for parent in level.parents:
            parent.take(bar)

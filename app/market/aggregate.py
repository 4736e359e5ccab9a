"""Bars of one resolution made exactly from bars of a finer one, on an instrument's session grid.

A coarser bar is the aggregate of the finer bars its period holds: first open, highest high, lowest low, last close,
summed volume. Intraday periods are those of `grid` (anchored at the session open and extended through the whole
trading day, so a bar outside the session belongs to the period of the extended grid that holds it); a daily bar
holds the trading day's bars; a weekly or monthly bar those of the trading days of its week (Monday to Sunday) or
month. Intraday bars are stamped at their period's start; daily ones at 00:00 UTC of their trading day; weekly and
monthly ones at 00:00 UTC of their period's first trading day by the instrument's calendar (`Grid.stamp`: a week
whose Monday is a holiday is stamped Tuesday), whichever days have data, as the importer stamps stored weeks and
months: a bar's time never changes when earlier rows of its period are imported later.

Bars of a source resolution are the rows of a store: times in UTC seconds (intraday: any moment inside their
period; D/W/M: 00:00 UTC of their trading day), prices in integer ticks, volumes as stored.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from app.market.grid import day_periods, grid_for
from app.market.resolutions import DAY, Resolution
from app.market.trading_hours import TradingHours, day_number, day_of_number

Times = npt.NDArray[np.int64]
Ticks = npt.NDArray[np.int64]
Volumes = npt.NDArray[np.float64]
# Finest first: the order in which one resolution can be made of another.
ORDER = tuple(Resolution)
# 1970-01-01 was a Thursday: day number d lies in week (d + 3) // 7, which begins on Monday, day 7w - 3.
_WEEK_OFFSET = 3
# Months are numbered from 1970-01 here (numpy's datetime64[M]), from year 0 on the grid.
_GRID_MONTH_OFFSET = 1970 * 12


@dataclass(frozen=True, slots=True, eq=False)
class TickColumns:
    """Bars as columns, ascending by `times` (UTC seconds): prices in integer ticks, volumes as stored."""

    times: Times
    opens: Ticks
    highs: Ticks
    lows: Ticks
    closes: Ticks
    volumes: Volumes

    @classmethod
    def empty(cls) -> TickColumns:
        ticks = np.zeros(0, dtype=np.int64)
        return cls(ticks, ticks, ticks, ticks, ticks, np.zeros(0))

    @classmethod
    def concat(cls, parts: Iterable[TickColumns]) -> TickColumns:
        """The bars of `parts`, one after another."""
        chosen = [part for part in parts if len(part)]
        if len(chosen) == 1:
            return chosen[0]
        if not chosen:
            return cls.empty()
        return cls(
            np.concatenate([part.times for part in chosen]),
            np.concatenate([part.opens for part in chosen]),
            np.concatenate([part.highs for part in chosen]),
            np.concatenate([part.lows for part in chosen]),
            np.concatenate([part.closes for part in chosen]),
            np.concatenate([part.volumes for part in chosen]),
        )

    def __len__(self) -> int:
        return len(self.times)

    def __getitem__(self, part: slice) -> TickColumns:
        return TickColumns(
            self.times[part], self.opens[part], self.highs[part], self.lows[part], self.closes[part], self.volumes[part]
        )

    def between(self, start: int, end: int) -> TickColumns:
        """The bars with time in [start, end) (UTC seconds)."""
        return self[int(self.times.searchsorted(start)) : int(self.times.searchsorted(end))]


def nests(source: Resolution, target: Resolution) -> bool:
    """Whether bars of `source` aggregate exactly into bars of `target`: intraday periods nest in every coarser
    grid and in trading days; days nest in weeks and months; weeks in nothing but themselves (a week may straddle
    two months)."""
    if source is target:
        return True
    if ORDER.index(source) > ORDER.index(target):
        return False
    return source.is_intraday or source is Resolution.DAY


def source_for(stored: Iterable[Resolution], target: Resolution) -> Resolution | None:
    """The stored resolution that serves `target`: `target` itself if stored, else the coarsest stored one that
    nests into it (the fewest rows to aggregate); None when none does (a bar finer than the data is never made)."""
    fitting = [resolution for resolution in stored if nests(resolution, target)]
    return max(fitting, key=ORDER.index, default=None)


def served(stored: Iterable[Resolution]) -> tuple[Resolution, ...]:
    """Every resolution that bars stored at `stored` serve, finest first."""
    kept = tuple(stored)
    return tuple(resolution for resolution in ORDER if source_for(kept, resolution) is not None)


def source_span(hours: TradingHours, source: Resolution, target: Resolution, start: int, end: int) -> tuple[int, int]:
    """The times [lo, hi) (UTC seconds) of the `source` rows that make the `target` bars stamped in [start, end).

    The span holds whole periods of `target`, so each bar made from it is complete; a weekly or monthly bar made
    from it may be stamped outside [start, end) (its period's first trading day decides), which the caller filters.
    """
    if source is target:
        return start, end
    if target.is_intraday:
        grid = grid_for(hours, target)
        return grid.bounds(grid.first_at_or_after(start))[0], grid.bounds(grid.first_at_or_after(end))[0]
    # Trading days whose bars can be stamped in [start, end), widened to whole weeks or months.
    first, after = -(-start // DAY), -(-end // DAY)
    if after <= first:
        return start, start
    first, after = _period_first_day(target, first), _period_first_day(target, after - 1, following=True)
    if source.is_intraday:
        return hours.day_start(day_of_number(first)), hours.day_start(day_of_number(after))
    return first * DAY, after * DAY


def _period_first_day(target: Resolution, number: int, *, following: bool = False) -> int:
    """The first day (number) of the D/W/M period holding day `number`, or of the period after it."""
    if target is Resolution.DAY:
        return number + following
    if target is Resolution.WEEK:
        return ((number + _WEEK_OFFSET) // 7 + following) * 7 - _WEEK_OFFSET
    day = day_of_number(number)
    month = day.year * 12 + day.month - 1 + following
    return day_number(day.replace(year=month // 12, month=month % 12 + 1, day=1))


def aggregate(hours: TradingHours, source: Resolution, target: Resolution, rows: TickColumns) -> TickColumns:
    """The `target` bars made of `rows` of `source` (which must nest into `target`: ValueError otherwise).

    Rows of a period missing from `rows` are missing from its bar: give whole periods (`source_span`).
    """
    if not nests(source, target):
        raise ValueError(f"{source} bars do not make {target} bars")
    if source is target or not len(rows):
        return rows
    days = _trading_days(hours, source, rows.times)
    if target.is_intraday:
        keys = _intraday_starts(hours, target, days, rows.times)
        firsts = _run_starts(keys)
        return _reduce(rows, firsts, keys[firsts])
    keys = _period_keys(target, days)
    firsts = _run_starts(keys)
    if target is Resolution.DAY:
        return _reduce(rows, firsts, days[firsts] * DAY)
    offset = _GRID_MONTH_OFFSET if target is Resolution.MONTH else 0
    stamps = [_period_stamp(hours, target, key + offset) for key in keys[firsts].tolist()]
    return _reduce(rows, firsts, np.array(stamps, dtype=np.int64))


def bar_time(hours: TradingHours, source: Resolution, target: Resolution, time: int) -> int:
    """The time (UTC seconds) of the `target` bar that the `source` row stamped `time` is part of, as `aggregate`
    stamps it. ValueError when `source` does not nest into `target`."""
    one = np.array([time], dtype=np.int64)
    return int(aggregate(hours, source, target, TickColumns(one, one, one, one, one, np.zeros(1))).times[0])


def _trading_days(hours: TradingHours, source: Resolution, times: Times) -> npt.NDArray[np.int64]:
    """The trading day (number) of each row: by the trading days' starts for intraday rows, by the date of their
    00:00 UTC stamp for D rows."""
    if not source.is_intraday:
        return times // DAY
    first = day_number(hours.trading_day(int(times[0])))
    last = day_number(hours.trading_day(int(times[-1])))
    starts = np.array([hours.day_start(day_of_number(first) + timedelta(days=k)) for k in range(last - first + 2)])
    return first + np.searchsorted(starts, times, side="right").astype(np.int64) - 1


def _intraday_starts(hours: TradingHours, target: Resolution, days: Times, times: Times) -> Times:
    """The start (UTC seconds) of the `target` period holding each row, on the grid of its trading day."""
    numbers = np.unique(days)
    # Every period start of the days that have rows; a row's period is the last start at or before it.
    starts = np.concatenate([day_periods(hours, target, int(number))[:-1] for number in numbers])
    return starts[np.searchsorted(starts, times, side="right") - 1]


def _period_keys(target: Resolution, days: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """A number naming the D/W/M period of each trading day."""
    if target is Resolution.DAY:
        return days
    if target is Resolution.WEEK:
        return (days + _WEEK_OFFSET) // 7
    return days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)


@lru_cache(maxsize=65_536)
def _period_stamp(hours: TradingHours, target: Resolution, index: int) -> int:
    """The bar time (UTC seconds) of W/M period `index` of the grid: 00:00 UTC of its first trading day."""
    return grid_for(hours, target).stamp(index)


def _run_starts(keys: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """The index of the first row of each run of equal `keys`."""
    return np.concatenate(([0], np.flatnonzero(np.diff(keys)) + 1))


def _reduce(rows: TickColumns, firsts: npt.NDArray[np.int64], stamps: Times) -> TickColumns:
    """One bar per run of rows beginning at `firsts`, stamped with `stamps` (one per run)."""
    lasts = np.append(firsts[1:], len(rows)) - 1
    return TickColumns(
        stamps,
        rows.opens[firsts],
        np.maximum.reduceat(rows.highs, firsts),
        np.minimum.reduceat(rows.lows, firsts),
        rows.closes[lasts],
        np.add.reduceat(rows.volumes, firsts),
    )

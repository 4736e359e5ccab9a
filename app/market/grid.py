"""The periods an instrument's bars cover, as TradingView's libraries build them from its session.

Intraday periods lie on a grid anchored at the session open and extended through the trading day (a
09:30 open gives 60-minute bars at 09:30, 10:30, ... and 240-minute bars at 09:30 and 13:30; the last bar
of a session may hold less trading). Daily bars cover a trading day; weekly and monthly bars the trading
days of their week (Monday to Sunday) or month. Every bar is stamped at its period's start, except daily,
weekly and monthly bars: 00:00 UTC of their (first) trading day.

Periods are numbered consecutively: intraday ones a fixed count to each trading day, enough for a 25-hour
day (the numbers past a day's last period name empty periods, start == end), days by their date, weeks from
the week of 1970-01-01, months from year 0.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from app.market.resolutions import DAY, Resolution
from app.market.trading_hours import TradingHours, day_number, day_of_number

# Room for a 25-hour trading day (daylight saving ends) and a shortened period at each end.
_LONGEST_DAY = DAY + 3600
# 1970-01-01 was a Thursday: its week's Monday is day -3, so week w begins on day 7w - 3.
_WEEK_OFFSET = 3


class Grid:
    """The periods of one resolution for one instrument's trading hours."""

    __slots__ = ("_per_day", "hours", "resolution")

    def __init__(self, hours: TradingHours, resolution: Resolution) -> None:
        self.hours = hours
        self.resolution = resolution
        self._per_day = _LONGEST_DAY // resolution.seconds + 2 if resolution.is_intraday else 1

    @property
    def periods_per_day(self) -> int:
        """Intraday: how many period numbers each trading day has (its last ones may be empty); D/W/M: 1."""
        return self._per_day

    def day_and_period(self, index: int) -> tuple[int, int]:
        """Intraday: the trading day (days since 1970-01-01) of period `index` and its number within the day."""
        return divmod(index, self._per_day)

    def period_index(self, number: int, period: int) -> int:
        """Intraday: the index of period `period` of trading day `number`."""
        return number * self._per_day + period

    def day_numbers(self, index: int) -> tuple[int, int]:
        """D/W/M: the first trading day of period `index` and the first of the next period (days since 1970-01-01)."""
        first, after = self._days(index)
        return day_number(first), day_number(after)

    def index(self, t: float) -> int:
        """Number of the period containing `t` (UTC seconds)."""
        day = self.hours.trading_day(t)
        if not self.resolution.is_intraday:
            return self._containing(day)
        number = day_number(day)
        _, first, _ = _layout(self.hours, self.resolution, number)
        second = int(t // 1)
        return number * self._per_day + (0 if second < first else 1 + (second - first) // self.resolution.seconds)

    def bounds(self, index: int) -> tuple[int, int]:
        """The period's [start, end) in UTC seconds; an empty period past a day's last has start == end."""
        if self.resolution.is_intraday:
            number, k = divmod(index, self._per_day)
            start, first, end = _layout(self.hours, self.resolution, number)
            if k == 0:
                return start, min(first, end)
            lo = first + (k - 1) * self.resolution.seconds
            return min(lo, end), min(lo + self.resolution.seconds, end)
        first_day, after = self._days(index)
        return self.hours.day_start(first_day), self.hours.day_start(after)

    def stamp(self, index: int) -> int:
        """The bar time (UTC seconds) of the period: its start, or 00:00 UTC of its first trading day."""
        if self.resolution.is_intraday:
            return self.bounds(index)[0]
        first, after = self._days(index)
        day = first
        while day < after and not self.hours.is_trading_day(day):
            day += timedelta(days=1)
        return day_number(day if day < after else first) * DAY

    def first_at_or_after(self, t: float) -> int:
        """Number of the first period whose bar time (`stamp`) is at or after `t`."""
        if self.resolution.is_intraday:
            index = self.index(t)
            return index if self.bounds(index)[0] >= t else index + 1
        # A D/W/M stamp is a UTC midnight inside its period's dates, so the UTC date of `t` decides.
        index = self._containing(day_of_number(int(t // DAY)))
        return index if self.stamp(index) >= t else index + 1

    def _containing(self, day: date) -> int:
        """Number of the D/W/M period that holds the date `day`."""
        if self.resolution is Resolution.DAY:
            return day_number(day)
        if self.resolution is Resolution.WEEK:
            return (day_number(day) + _WEEK_OFFSET) // 7
        return day.year * 12 + day.month - 1

    def _days(self, index: int) -> tuple[date, date]:
        """The first trading day of a D/W/M period and the first of the next one."""
        if self.resolution is Resolution.DAY:
            first = day_of_number(index)
            return first, first + timedelta(days=1)
        if self.resolution is Resolution.WEEK:
            first = day_of_number(7 * index - _WEEK_OFFSET)
            return first, first + timedelta(days=7)
        year, month = divmod(index, 12)
        after_year, after_month = divmod(index + 1, 12)
        return date(year, month + 1, 1), date(after_year, after_month + 1, 1)


@lru_cache(maxsize=65_536)
def _layout(hours: TradingHours, resolution: Resolution, number: int) -> tuple[int, int, int]:
    """Trading day `number` for an intraday grid: its start, the first grid line after it, its end.

    Its periods are [start, first line), then a period from each line (the grid through the session open,
    `resolution` apart) to the next, the last cut at the end.
    """
    day = day_of_number(number)
    start, end = hours.day_start(day), hours.day_start(day + timedelta(days=1))
    anchor, step = hours.local(day, hours.opens), resolution.seconds
    first = anchor - (anchor - start) // step * step
    return start, first if first > start else first + step, end


def day_periods(hours: TradingHours, resolution: Resolution, number: int) -> npt.NDArray[np.int64]:
    """The bounds of trading day `number`'s periods of an intraday resolution, ascending (UTC seconds): period k of
    the day (grid index `number * per_day + k`) is [bounds[k], bounds[k + 1]). Grids of coarser resolutions share
    the day's start, end and anchor, so their bounds are bounds of every finer grid's too: the periods nest."""
    start, first, end = _layout(hours, resolution, number)
    lines = np.arange(first, end, resolution.seconds, dtype=np.int64)
    return np.concatenate((np.array([start], dtype=np.int64), lines, np.array([end], dtype=np.int64)))


@lru_cache(maxsize=64)
def grid_for(hours: TradingHours, resolution: Resolution) -> Grid:
    """The shared grid of `resolution` for `hours`."""
    return Grid(hours, resolution)

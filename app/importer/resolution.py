"""A file's resolution, told from its bar spacing, and each row's bar time on that resolution's grid.

The resolution is the most common spacing between consecutive times (gaps for nights, weekends and holidays are
normal): 1, 5, 15, 30, 60 or 240 minutes, a day, 6 to 8 days (a week: a holiday moves a week's first trading
day), or 26 to 35 days (a month). Daily, weekly and monthly rows are dates (or 00:00): a daily row is its trading
day; a weekly or monthly row may carry any date of its week (Monday to Sunday) or month, as exports differ
(Yahoo the Monday or the 1st, pandas the last day), and is stamped 00:00 UTC of the first trading day of its
period. Intraday rows must start a period of the instrument's grid, anchored at the session open and extended
through the day (app/market/grid.py); naive times are read in --input-timezone first.
"""

from __future__ import annotations

from collections.abc import Callable
from zoneinfo import ZoneInfo

import numpy as np

from app.importer.arrays import distinct
from app.importer.decimals import Ints, Mask
from app.importer.problems import Problems, refuse
from app.importer.times import Kind, Times, format_time
from app.importer.zones import Ambiguous, wall_to_utc
from app.market.grid import day_periods, grid_for
from app.market.resolutions import DAY, Resolution
from app.market.trading_hours import TradingHours, day_of_number

_INTRADAY = {r.seconds: r for r in Resolution if r.is_intraday}
_WEEK_DAYS = range(6, 9)
_MONTH_DAYS = range(26, 36)
# 1970-01-01 was a Thursday: day d lies in week (d + 3) // 7 of grid.py's numbering (weeks begin on Monday).
_WEEK_OFFSET = 3
LABELS = {
    Resolution.DAY: "daily",
    Resolution.WEEK: "weekly",
    Resolution.MONTH: "monthly",
    **{r: f"{r.value}-minute" for r in Resolution if r.is_intraday},
}


def detect(name: str, times: Times) -> Resolution:
    """The resolution of a file's rows (see the module's docstring); raises ImportRefusedError when the spacing is not
    one, or there are too few rows to tell."""
    unique = distinct(times.seconds)
    if len(unique) < 2:
        if len(unique) == 1 and (times.kinds == Kind.DATE).all():
            return Resolution.DAY
        raise refuse(name, f"{len(unique)} bar time{'s' if len(unique) != 1 else ''}: too few to tell the resolution")
    spacings, counts = np.unique(np.diff(unique), return_counts=True)
    spacing = int(spacings[np.argmax(counts)])
    if spacing in _INTRADAY:
        return _INTRADAY[spacing]
    days, rest = divmod(spacing, DAY)
    if not rest and days == 1:
        return Resolution.DAY
    if not rest and days in _WEEK_DAYS:
        return Resolution.WEEK
    if not rest and days in _MONTH_DAYS:
        return Resolution.MONTH
    raise refuse(
        name,
        f"bars are mostly {_duration(spacing)} apart: not a resolution (1, 5, 15, 30, 60 or 240 minutes, a day, a"
        " week or a month)",
    )


def _duration(seconds: int) -> str:
    if seconds % DAY == 0:
        return f"{seconds // DAY} days"
    if seconds % 60 == 0:
        return f"{seconds // 60} minutes"
    return f"{seconds} seconds"


def bar_times(
    name: str,
    lines: Ints,
    times: Times,
    resolution: Resolution,
    hours: TradingHours,
    zone: ZoneInfo,
    ambiguous: Ambiguous | None,
    problems: Problems,
) -> tuple[Ints, Mask]:
    """Each row's bar time (UTC seconds) and whether it is usable; rows that are not go into `problems`."""
    if resolution.is_intraday:
        return _intraday(name, lines, times, resolution, hours, zone, ambiguous, problems)
    return _dated(name, lines, times, resolution, hours, problems)


def _dated(
    name: str, lines: Ints, times: Times, resolution: Resolution, hours: TradingHours, problems: Problems
) -> tuple[Ints, Mask]:
    seconds = times.walls
    ok = seconds % DAY == 0
    problems.add_rows(
        name,
        lines,
        ~ok,
        lambda i: f"{_spelled(times, i)} is not a date: the rows are {LABELS[resolution]} bars, one per date",
    )
    days = seconds // DAY
    if resolution is Resolution.DAY:
        return days * DAY, ok
    if resolution is Resolution.WEEK:
        periods = (days + _WEEK_OFFSET) // 7
    else:
        periods = days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64) + 1970 * 12
    grid = grid_for(hours, resolution)
    unique, inverse = np.unique(periods, return_inverse=True)
    stamps = np.array([grid.stamp(int(period)) for period in unique], dtype=np.int64)
    return stamps[inverse.reshape(-1)], ok


def _spelled(times: Times, i: int) -> str:
    """How row i's time reads: the wall clock of a naive time, an aware one's with its offset, else UTC."""
    offset = int(times.offsets[i])
    if times.kinds[i] == Kind.NAIVE or offset:
        wall = format_time(int(times.walls[i]), clock=True).removesuffix(" UTC")
        sign, minutes = "+" if offset >= 0 else "-", abs(offset) // 60
        return f"{wall}{sign}{minutes // 60:02d}:{minutes % 60:02d}" if offset else wall
    return format_time(int(times.seconds[i]))


def _intraday(
    name: str,
    lines: Ints,
    times: Times,
    resolution: Resolution,
    hours: TradingHours,
    zone: ZoneInfo,
    ambiguous: Ambiguous | None,
    problems: Problems,
) -> tuple[Ints, Mask]:
    label = LABELS[resolution]
    dated = times.kinds == Kind.DATE
    problems.add_rows(
        name, lines, dated, lambda i: f"{_spelled(times, i)} has no time of day: the rows are {label} bars"
    )
    seconds = times.seconds.copy()
    ok = ~dated
    naive = times.kinds == Kind.NAIVE
    if naive.any() and zone.key not in ("UTC", "Etc/UTC"):
        readings = wall_to_utc(seconds[naive], zone, ambiguous)
        seconds[naive] = readings.utc
        for mask, what in ((readings.nonexistent, "does not exist"), (readings.ambiguous, "happens twice")):
            bad = np.zeros(len(seconds), dtype=np.bool_)
            bad[naive] = mask
            ok &= ~bad
            problems.add_rows(name, lines, bad, _zone_problem(times, zone, what))
    on_grid = _on_grid(seconds, resolution, hours)
    off = ok & ~on_grid
    problems.add_rows(
        name,
        lines,
        off,
        lambda i: (
            f"{format_time(int(seconds[i]))} does not start a {label} bar: the grid is anchored at the session"
            f" open ({hours.session} {hours.timezone})"
        ),
    )
    return seconds, ok & on_grid


def _zone_problem(times: Times, zone: ZoneInfo, what: str) -> Callable[[int], str]:
    advice = "--ambiguous earlier or later says which" if what == "happens twice" else "the clocks skip it"
    return lambda i: f"{_spelled(times, i)} {what} in {zone.key} (daylight saving): {advice}"


def _on_grid(seconds: Ints, resolution: Resolution, hours: TradingHours) -> Mask:
    """Whether each time (UTC seconds) starts a period of the resolution's grid."""
    if len(seconds) == 0:
        return np.zeros(0, dtype=np.bool_)
    # The trading days around the rows, by their start: a row belongs to the last day starting at or before it.
    numbers = np.arange(int(seconds.min()) // DAY - 2, int(seconds.max()) // DAY + 3)
    starts = np.array([hours.day_start(day_of_number(int(n))) for n in numbers], dtype=np.int64)
    day = np.searchsorted(starts, seconds, side="right") - 1
    used = distinct(day)
    first = np.zeros(len(numbers), dtype=np.int64)
    end = np.zeros(len(numbers), dtype=np.int64)
    for index in used:
        bounds = day_periods(hours, resolution, int(numbers[index]))
        first[index], end[index] = bounds[1], bounds[-1]
    after_first = seconds - first[day]
    on_grid: Mask = (seconds == starts[day]) | (
        (after_first >= 0) & (after_first % resolution.seconds == 0) & (seconds < end[day])
    )
    return on_grid

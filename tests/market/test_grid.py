"""The periods bars cover: the session-anchored intraday grid, trading days, and how D/W/M bars are stamped."""

from __future__ import annotations

import calendar

import pytest

from app.market.grid import grid_for
from app.market.resolutions import Resolution
from app.market.trading_hours import CRYPTO_HOURS, FOREX_HOURS, STOCK_HOURS, TradingHours
from tests.market.sessions import trading_seconds


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> int:
    return calendar.timegm((year, month, day, hour, minute, second))


# Wednesday 2026-11-18 15:07:45 UTC (10:07:45 in New York).
MOMENT = utc(2026, 11, 18, 15, 7, 45)


def starts(hours: TradingHours, resolution: Resolution, start: int, end: int) -> list[int]:
    """Bar times of the periods with trading in [start, end)."""
    grid = grid_for(hours, resolution)
    indices = range(grid.first_at_or_after(start), grid.first_at_or_after(end))
    return [grid.stamp(i) for i in indices if trading_seconds(hours, *grid.bounds(i))]


@pytest.mark.parametrize(
    ("resolution", "start"),
    [
        (Resolution.M1, utc(2026, 11, 18, 15, 7)),
        (Resolution.M5, utc(2026, 11, 18, 15, 5)),
        (Resolution.M15, utc(2026, 11, 18, 15, 0)),
        (Resolution.M30, utc(2026, 11, 18, 15, 0)),
        (Resolution.H1, utc(2026, 11, 18, 15, 0)),
        (Resolution.H4, utc(2026, 11, 18, 12, 0)),
        (Resolution.DAY, utc(2026, 11, 18)),
        (Resolution.WEEK, utc(2026, 11, 16)),  # the Monday
        (Resolution.MONTH, utc(2026, 11, 1)),
    ],
)
def test_a_24x7_utc_instrument_has_utc_periods(resolution: Resolution, start: int) -> None:
    grid = grid_for(CRYPTO_HOURS, resolution)
    index = grid.index(MOMENT)
    assert grid.bounds(index)[0] == start == grid.stamp(index)
    end = grid.bounds(index)[1]
    assert grid.index(end - 0.4) == index, "its last fraction of a second"
    assert grid.index(start) == index, "a period starts at its own start"
    assert grid.index(start - 1) == index - 1, "a second earlier is the period before"
    assert grid.bounds(index + 1)[0] == end, "periods are numbered consecutively"
    assert grid.first_at_or_after(start) == index
    assert grid.first_at_or_after(start + 1) == index + 1


@pytest.mark.parametrize(
    ("resolution", "start", "following"),
    [
        (Resolution.H4, utc(2026, 11, 18, 20), utc(2026, 11, 19)),
        (Resolution.WEEK, utc(2026, 12, 28), utc(2027, 1, 4)),  # a week across New Year
        (Resolution.MONTH, utc(2028, 2, 1), utc(2028, 3, 1)),  # 29 days in a leap year
        (Resolution.MONTH, utc(2027, 2, 1), utc(2027, 3, 1)),
        (Resolution.MONTH, utc(2026, 12, 1), utc(2027, 1, 1)),
    ],
)
def test_the_period_after(resolution: Resolution, start: int, following: int) -> None:
    grid = grid_for(CRYPTO_HOURS, resolution)
    assert grid.bounds(grid.index(start)) == (start, following)


@pytest.mark.parametrize(
    ("day", "offset"),
    [((2026, 11, 17), 5), ((2026, 7, 14), 4)],  # New York is UTC-5 in winter, UTC-4 in summer
)
def test_stock_intraday_bars_sit_on_the_grid_from_the_0930_open(day: tuple[int, int, int], offset: int) -> None:
    midnight = utc(*day)
    new_york = [midnight + (hour + offset) * 3600 + minute * 60 for hour, minute in ((9, 30), (13, 30))]
    hourly = [new_york[0] + k * 3600 for k in range(7)]  # 09:30 ... 15:30, the last holding half an hour
    assert starts(STOCK_HOURS, Resolution.H1, midnight, midnight + 86_400) == hourly
    assert starts(STOCK_HOURS, Resolution.H4, midnight, midnight + 86_400) == new_york
    assert starts(STOCK_HOURS, Resolution.M30, midnight, midnight + 86_400) == [
        new_york[0] + k * 1800 for k in range(13)
    ]
    assert len(starts(STOCK_HOURS, Resolution.M1, midnight, midnight + 86_400)) == 390
    last = grid_for(STOCK_HOURS, Resolution.H1)
    assert last.bounds(last.index(hourly[-1])) == (hourly[-1], hourly[-1] + 3600)


def test_forex_4_hour_bars_start_at_17_00_new_york() -> None:
    sunday_open = utc(2026, 11, 22, 22)  # Sunday 17:00 New York (EST)
    assert starts(FOREX_HOURS, Resolution.H4, sunday_open - 86_400, sunday_open + 86_400) == [
        sunday_open + k * 14_400 for k in range(6)
    ]
    summer_open = utc(2026, 7, 19, 21)  # Sunday 17:00 New York (EDT)
    assert starts(FOREX_HOURS, Resolution.H4, summer_open, summer_open + 4 * 3600) == [summer_open]


@pytest.mark.parametrize(
    ("hours", "moment", "day"),
    [
        (FOREX_HOURS, utc(2026, 11, 22, 22), utc(2026, 11, 23)),  # Sunday 17:00 New York trades for Monday
        (FOREX_HOURS, utc(2026, 11, 23, 21, 59), utc(2026, 11, 23)),
        (FOREX_HOURS, utc(2026, 11, 23, 22), utc(2026, 11, 24)),
        (STOCK_HOURS, utc(2026, 11, 23, 20, 59), utc(2026, 11, 23)),
        (CRYPTO_HOURS, utc(2026, 11, 22, 23, 59), utc(2026, 11, 22)),
    ],
)
def test_a_daily_bar_is_stamped_00_00_utc_of_its_trading_day(hours: TradingHours, moment: int, day: int) -> None:
    grid = grid_for(hours, Resolution.DAY)
    assert grid.stamp(grid.index(moment)) == day
    assert grid.first_at_or_after(day) == grid.index(moment)


@pytest.mark.parametrize(
    ("hours", "resolution", "moment", "stamp"),
    [
        (STOCK_HOURS, Resolution.MONTH, utc(2026, 2, 17), utc(2026, 2, 2)),  # Sunday the 1st: Monday the 2nd
        (STOCK_HOURS, Resolution.MONTH, utc(2026, 1, 20), utc(2026, 1, 2)),  # New Year's Day
        (STOCK_HOURS, Resolution.MONTH, utc(2026, 11, 18), utc(2026, 11, 2)),
        (STOCK_HOURS, Resolution.WEEK, utc(2026, 5, 28), utc(2026, 5, 26)),  # Memorial Day Monday
        (STOCK_HOURS, Resolution.WEEK, utc(2026, 11, 18), utc(2026, 11, 16)),
        (FOREX_HOURS, Resolution.MONTH, utc(2026, 2, 17), utc(2026, 2, 2)),
        (FOREX_HOURS, Resolution.WEEK, utc(2026, 11, 22, 23), utc(2026, 11, 23)),  # Sunday evening: next week's
        (CRYPTO_HOURS, Resolution.MONTH, utc(2026, 2, 17), utc(2026, 2, 1)),
        (CRYPTO_HOURS, Resolution.WEEK, utc(2026, 5, 28), utc(2026, 5, 25)),
    ],
)
def test_weeks_and_months_are_stamped_at_their_first_trading_day(
    hours: TradingHours, resolution: Resolution, moment: int, stamp: int
) -> None:
    grid = grid_for(hours, resolution)
    index = grid.index(moment)
    assert grid.stamp(index) == stamp
    assert grid.first_at_or_after(stamp) == index
    assert grid.first_at_or_after(stamp + 1) == index + 1

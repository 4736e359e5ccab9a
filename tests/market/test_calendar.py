"""The trading calendar: which days each kind of market trades, its session, what is open when."""

from __future__ import annotations

import calendar

import pytest

from app.market.resolutions import DAY
from app.market.trading_hours import CRYPTO_HOURS, FOREX_HOURS, STOCK_HOURS, TradingHours


def utc(day: int, hour: int = 0, minute: int = 0) -> int:
    """A moment of November 2026 (the 16th is a Monday) in UTC seconds."""
    return calendar.timegm((2026, 11, day, hour, minute, 0))


MONDAY, WEDNESDAY, FRIDAY, SATURDAY, SUNDAY = 16, 18, 20, 21, 22
SESSION = 6 * 3600 + 1800  # 14:30 to 21:00


def is_open(hours: TradingHours, moment: int) -> bool:
    return hours.active_seconds(moment, moment + 1) == 1


def test_session_strings_are_tradingviews_for_etc_utc() -> None:
    assert STOCK_HOURS.session == "1430-2100:23456"
    assert FOREX_HOURS.session == "0000-0000:23456"
    assert CRYPTO_HOURS.session == "24x7"


@pytest.mark.parametrize(
    ("day", "stock", "forex", "crypto"),
    [
        (MONDAY, SESSION, DAY, DAY),
        (WEDNESDAY, SESSION, DAY, DAY),
        (FRIDAY, SESSION, DAY, DAY),
        (SATURDAY, 0, 0, DAY),
        (SUNDAY, 0, 0, DAY),
    ],
)
def test_a_whole_day_of_trading_per_weekday(day: int, stock: int, forex: int, crypto: int) -> None:
    start = utc(day)
    assert STOCK_HOURS.active_seconds(start, start + DAY) == stock
    assert FOREX_HOURS.active_seconds(start, start + DAY) == forex
    assert CRYPTO_HOURS.active_seconds(start, start + DAY) == crypto


@pytest.mark.parametrize(
    ("start", "end", "seconds"),
    [
        (utc(WEDNESDAY, 14), utc(WEDNESDAY, 15), 1800),  # the hour the session opens in
        (utc(WEDNESDAY, 14, 30), utc(WEDNESDAY, 14, 31), 60),
        (utc(WEDNESDAY, 14, 29), utc(WEDNESDAY, 14, 30), 0),
        (utc(WEDNESDAY, 20, 59), utc(WEDNESDAY, 21), 60),
        (utc(WEDNESDAY, 21), utc(WEDNESDAY, 22), 0),
        (utc(WEDNESDAY, 12), utc(WEDNESDAY, 16), 5400),  # a 4-hour bar across the open
        (utc(SATURDAY, 14, 30), utc(SATURDAY, 15), 0),
    ],
)
def test_stock_seconds_of_trading_inside_an_interval(start: int, end: int, seconds: int) -> None:
    assert STOCK_HOURS.active_seconds(start, end) == seconds


@pytest.mark.parametrize(
    ("moment", "stock", "forex", "crypto"),
    [
        (utc(WEDNESDAY, 3), False, True, True),
        (utc(WEDNESDAY, 14, 29), False, True, True),
        (utc(WEDNESDAY, 14, 30), True, True, True),
        (utc(WEDNESDAY, 20, 59), True, True, True),
        (utc(WEDNESDAY, 21), False, True, True),
        (utc(FRIDAY, 23, 59), False, True, True),
        (utc(SATURDAY, 15), False, False, True),
        (utc(SUNDAY, 23, 59), False, False, True),
        (utc(MONDAY), False, True, True),
    ],
)
def test_what_is_open_when(moment: int, stock: bool, forex: bool, crypto: bool) -> None:
    assert (is_open(STOCK_HOURS, moment), is_open(FOREX_HOURS, moment), is_open(CRYPTO_HOURS, moment)) == (
        stock,
        forex,
        crypto,
    )


def test_a_stock_session_is_busiest_at_the_open_and_the_close_and_quiet_at_lunch() -> None:
    opens, closes = STOCK_HOURS.opens, STOCK_HOURS.closes
    at_open, at_lunch, at_close = (STOCK_HOURS.activity(s) for s in (opens, (opens + closes) / 2, closes - 1))
    assert at_open > at_close > at_lunch
    assert at_lunch == pytest.approx(0.75, abs=0.05)


def test_forex_is_busiest_when_london_and_new_york_overlap() -> None:
    asia, london, overlap, new_york = (FOREX_HOURS.activity(hour * 3600) for hour in (3, 9, 14, 18))
    assert (asia, london, overlap, new_york) == pytest.approx((0.5, 1.3, 2.1, 1.3))


def test_crypto_swells_in_the_us_afternoon() -> None:
    by_hour = [CRYPTO_HOURS.activity(hour * 3600) for hour in range(24)]
    assert max(range(24), key=by_hour.__getitem__) == 16
    assert min(by_hour) == pytest.approx(0.7)
    assert max(by_hour) == pytest.approx(1.3)

"""The trading calendar: sessions in New York time with daylight saving, holidays, what is open when."""

from __future__ import annotations

import calendar
from datetime import date

import numpy as np
import pytest

from app.market.resolutions import DAY
from app.market.trading_hours import CRYPTO_HOURS, FOREX_HOURS, STOCK_HOURS, TradingHours
from tests.market.sessions import trading_seconds


def utc(month: int, day: int, hour: int = 0, minute: int = 0) -> int:
    """A moment of 2026 in UTC seconds (New York is UTC-4 from 8 March to 1 November, UTC-5 otherwise)."""
    return calendar.timegm((2026, month, day, hour, minute, 0))


SESSION = 6 * 3600 + 1800  # 09:30 to 16:00


def is_open(hours: TradingHours, moment: int) -> bool:
    return trading_seconds(hours, moment, moment + 1) == 1


def test_session_strings_and_timezones_are_tradingviews() -> None:
    assert (STOCK_HOURS.session, STOCK_HOURS.timezone) == ("0930-1600", "America/New_York")
    assert (FOREX_HOURS.session, FOREX_HOURS.timezone) == ("1700-1700:23456", "America/New_York")
    assert (CRYPTO_HOURS.session, CRYPTO_HOURS.timezone) == ("24x7", "Etc/UTC")


@pytest.mark.parametrize(
    ("day", "stock", "forex", "crypto"),
    [
        (utc(11, 16), SESSION, DAY, DAY),  # Monday: forex's session began at 22:00 UTC on Sunday
        (utc(11, 18), SESSION, DAY, DAY),
        (utc(11, 20), SESSION, 22 * 3600, DAY),  # Friday: forex closes at 17:00 New York, 22:00 UTC
        (utc(11, 21), 0, 0, DAY),
        (utc(11, 22), 0, 2 * 3600, DAY),  # Sunday: forex from 22:00 UTC
        (utc(7, 15), SESSION, DAY, DAY),
        (utc(7, 17), SESSION, 21 * 3600, DAY),  # a summer Friday: 17:00 New York is 21:00 UTC
        (utc(11, 26), 0, DAY, DAY),  # Thanksgiving: NYSE closed
        (utc(1, 1), 0, DAY, DAY),  # New Year's Day
        (utc(4, 3), 0, 21 * 3600, DAY),  # Good Friday: NYSE closed, forex trades to 17:00 New York
        (utc(7, 3), 0, 21 * 3600, DAY),  # Independence Day observed (a Friday)
    ],
)
def test_a_whole_utc_day_of_trading(day: int, stock: int, forex: int, crypto: int) -> None:
    assert trading_seconds(STOCK_HOURS, day, day + DAY) == stock
    assert trading_seconds(FOREX_HOURS, day, day + DAY) == forex
    assert trading_seconds(CRYPTO_HOURS, day, day + DAY) == crypto


@pytest.mark.parametrize(
    ("moment", "stock", "forex", "crypto"),
    [
        (utc(11, 18, 14, 29), False, True, True),  # 09:29 New York (EST)
        (utc(11, 18, 14, 30), True, True, True),
        (utc(11, 18, 20, 59), True, True, True),
        (utc(11, 18, 21), False, True, True),  # 16:00 New York
        (utc(7, 15, 13, 29), False, True, True),  # 09:29 New York (EDT)
        (utc(7, 15, 13, 30), True, True, True),
        (utc(7, 15, 19, 59), True, True, True),
        (utc(7, 15, 20), False, True, True),
        (utc(3, 6, 14, 30), True, True, True),  # the Friday before clocks change: still EST
        (utc(3, 9, 13, 30), True, True, True),  # the Monday after: EDT
        (utc(3, 9, 14, 30), True, True, True),
        (utc(3, 9, 20, 0), False, True, True),
        (utc(11, 20, 21, 59), False, True, True),  # Friday 16:59 New York
        (utc(11, 20, 22), False, False, True),  # Friday 17:00 New York: forex closes
        (utc(11, 21, 15), False, False, True),
        (utc(11, 22, 21, 59), False, False, True),  # Sunday 16:59 New York
        (utc(11, 22, 22), False, True, True),  # Sunday 17:00 New York: forex opens
        (utc(7, 19, 21), False, True, True),  # a summer Sunday 17:00 New York is 21:00 UTC
        (utc(11, 26, 16), False, True, True),  # Thanksgiving
    ],
)
def test_what_is_open_when(moment: int, stock: bool, forex: bool, crypto: bool) -> None:
    assert (is_open(STOCK_HOURS, moment), is_open(FOREX_HOURS, moment), is_open(CRYPTO_HOURS, moment)) == (
        stock,
        forex,
        crypto,
    )


@pytest.mark.parametrize(
    ("moment", "stock", "forex"),
    [
        (utc(11, 20, 23), date(2026, 11, 20), date(2026, 11, 21)),  # Friday 18:00 New York
        (utc(11, 22, 22), date(2026, 11, 22), date(2026, 11, 23)),  # Sunday 17:00 New York: Monday's
        (utc(11, 23, 4, 59), date(2026, 11, 22), date(2026, 11, 23)),  # Sunday 23:59 New York
        (utc(11, 23, 21, 59), date(2026, 11, 23), date(2026, 11, 23)),
        (utc(11, 23, 22), date(2026, 11, 23), date(2026, 11, 24)),
    ],
)
def test_the_trading_day_a_moment_belongs_to(moment: int, stock: date, forex: date) -> None:
    assert (STOCK_HOURS.trading_day(moment), FOREX_HOURS.trading_day(moment)) == (stock, forex)


def test_a_stock_session_is_busiest_at_the_open_and_the_close_and_quiet_at_lunch() -> None:
    for opens, closes in ((utc(11, 18, 14, 30), utc(11, 18, 21)), (utc(7, 15, 13, 30), utc(7, 15, 20))):
        moments = np.array([opens, (opens + closes) / 2, closes - 1], dtype=np.float64)
        at_open, at_lunch, at_close = STOCK_HOURS.activity(moments, np.full(3, opens), np.full(3, closes))
        assert at_open > at_close > at_lunch
        assert at_lunch == pytest.approx(0.75, abs=0.05)


def test_forex_is_busiest_when_london_and_new_york_overlap() -> None:
    moments = np.array([3, 9, 14, 18], dtype=np.float64) * 3600
    asia, london, overlap, new_york = FOREX_HOURS.activity(moments, np.zeros(4, np.int64), np.full(4, DAY))
    assert (asia, london, overlap, new_york) == pytest.approx((0.5, 1.3, 2.1, 1.3))


def test_crypto_swells_in_the_us_afternoon() -> None:
    by_hour = CRYPTO_HOURS.activity(
        np.arange(24, dtype=np.float64) * 3600, np.zeros(24, np.int64), np.full(24, DAY)
    ).tolist()
    assert max(range(24), key=by_hour.__getitem__) == 16
    assert min(by_hour) == pytest.approx(0.7)
    assert max(by_hour) == pytest.approx(1.3)

"""TradingView session strings read into trading hours: the days, the open and close, overnight sessions."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from app.market.resolutions import DAY
from app.market.sessions import SessionError, trading_hours
from app.market.trading_hours import FOREX_HOURS, STOCK_HOURS

HOUR = 3600


@pytest.mark.parametrize(
    ("session", "opens", "closes", "weekdays"),
    [
        # No days named: Monday to Friday.
        ("0930-1600", 9.5 * HOUR, 16 * HOUR, {0, 1, 2, 3, 4}),
        ("0930-1600:23456", 9.5 * HOUR, 16 * HOUR, {0, 1, 2, 3, 4}),
        # 1 is Sunday, 7 Saturday.
        ("0800-1200:17", 8 * HOUR, 12 * HOUR, {5, 6}),
        ("24x7", 0, DAY, {0, 1, 2, 3, 4, 5, 6}),
        ("0000-0000:1234567", 0, DAY, {0, 1, 2, 3, 4, 5, 6}),
        ("0000-2400", 0, DAY, {0, 1, 2, 3, 4}),
        # Overnight: from the evening before.
        ("1700-1700:23456", -7 * HOUR, 17 * HOUR, {0, 1, 2, 3, 4}),
        ("1800-0900", -6 * HOUR, 9 * HOUR, {0, 1, 2, 3, 4}),
        # A break: from the first open to the last close.
        ("0930-1130,1300-1500", 9.5 * HOUR, 15 * HOUR, {0, 1, 2, 3, 4}),
        # The same hours on different days, as parts.
        ("0930-1600|0930-1600:7", 9.5 * HOUR, 16 * HOUR, {0, 1, 2, 3, 4, 5}),
    ],
)
def test_sessions_give_the_open_close_and_days(session: str, opens: float, closes: float, weekdays: set[int]) -> None:
    hours = trading_hours(session, "America/New_York")
    assert (hours.opens, hours.closes, set(hours.weekdays)) == (opens, closes, weekdays)
    assert (hours.session, hours.timezone) == (session, "America/New_York")


def test_the_simulations_sessions_read_as_the_simulation_defines_them() -> None:
    for defined in (STOCK_HOURS, FOREX_HOURS):
        read = trading_hours(defined.session, defined.timezone)
        assert (read.opens, read.closes, read.weekdays) == (defined.opens, defined.closes, defined.weekdays)


def test_an_overnight_session_belongs_to_the_day_it_ends_on() -> None:
    hours = trading_hours("1700-1700:23456", "America/New_York")
    sunday_evening = datetime(2024, 11, 10, 23, 0, tzinfo=UTC).timestamp()
    assert hours.trading_day(sunday_evening) == date(2024, 11, 11)
    assert hours.session_bounds(date(2024, 11, 9)) is None
    opens, closes = hours.session_bounds(date(2024, 11, 11)) or (0, 0)
    assert (opens, closes) == (1731276000, 1731362400)


def test_equal_sessions_share_their_hours() -> None:
    assert trading_hours("0930-1600", "America/New_York") is trading_hours(" 0930-1600 ", "America/New_York")
    held = trading_hours("0930-1600", "America/New_York", exchange_holidays=True)
    assert held.is_trading_day(date(2024, 7, 4)) is False
    assert trading_hours("0930-1600", "America/New_York").is_trading_day(date(2024, 7, 4)) is True


@pytest.mark.parametrize(
    ("session", "timezone", "says"),
    [
        ("0930-1600", "Mars/Olympus_Mons", "not an IANA time zone"),
        ("9:30-16:00", "Etc/UTC", "expected HHMM-HHMM"),
        ("2500-2600", "Etc/UTC", "not a time of day"),
        ("0960-1600", "Etc/UTC", "not a time of day"),
        ("2400-0100", "Etc/UTC", "not a time of day"),
        ("0930-1600:08", "Etc/UTC", "not 08"),
        ("0900-1630|0900-1400:2", "Etc/UTC", "different hours on different days"),
        ("1;0930-1600", "Etc/UTC", "first day of the week"),
        ("1300-1500,0930-1200", "Etc/UTC", "must follow one another"),
    ],
)
def test_what_cannot_be_read_is_refused_by_name(session: str, timezone: str, says: str) -> None:
    with pytest.raises(SessionError, match=says):
        trading_hours(session, timezone)

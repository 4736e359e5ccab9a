"""When each kind of market trades: sessions in the exchange's own timezone, daylight saving and holidays.

A trading day is a calendar date. Its session runs from `opens` to `closes`, seconds after the local
midnight that starts the date (a negative `opens` is the evening before, as forex opens at 17:00 New York
time on the eve of its trading day). Stocks trade 09:30-16:00 America/New_York on NYSE trading days (the
`holidays` package's NYSE calendar; early closes are not modelled), forex from Sunday 17:00 to Friday 17:00
New York time, crypto every UTC day. The session strings are TradingView's for each instrument's timezone.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays
import numpy as np
import numpy.typing as npt

from app.market.resolutions import DAY

Moments = npt.NDArray[np.float64]
Seconds = npt.NDArray[np.int64]
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
# Every year the server may be asked about, computed once: a calendar that adds years as they are looked up would
# be written by the generator thread while the event loop reads it.
_NYSE_HOLIDAYS = holidays.financial_holidays("NYSE", years=range(2000, 2101), expand=False)


def day_number(day: date) -> int:
    """Days from 1970-01-01 to `day`; its 00:00 UTC is `day_number(day) * DAY`."""
    return day.toordinal() - _EPOCH_ORDINAL


def day_of_number(number: int) -> date:
    """The date `number` days after 1970-01-01."""
    return date.fromordinal(number + _EPOCH_ORDINAL)


class TradingHours:
    """An instrument class's sessions: `session` and `timezone` as TradingView spells them."""

    __slots__ = ("closes", "exchange_holidays", "opens", "session", "timezone", "weekdays", "zone")

    def __init__(
        self,
        session: str,
        timezone: str = "Etc/UTC",
        opens: int = 0,
        closes: int = DAY,
        weekdays: frozenset[int] = frozenset(range(7)),
        exchange_holidays: bool = False,
    ) -> None:
        self.session = session
        self.timezone = timezone
        self.zone = ZoneInfo(timezone)
        self.opens = opens
        self.closes = closes
        self.weekdays = weekdays
        self.exchange_holidays = exchange_holidays

    def is_trading_day(self, day: date) -> bool:
        """True when `day` has a session: a trading weekday that is not an exchange holiday."""
        return day.weekday() in self.weekdays and not (self.exchange_holidays and day in _NYSE_HOLIDAYS)

    def local(self, day: date, seconds: int) -> int:
        """UTC seconds of the wall-clock moment `seconds` after local midnight starting `day` (may be negative)."""
        wall = datetime.combine(day, time()) + timedelta(seconds=seconds)
        return int(wall.replace(tzinfo=self.zone).timestamp())

    def day_start(self, day: date) -> int:
        """UTC seconds at which trading day `day` begins: its local midnight, or its session open if earlier."""
        return _day_start(self, day)

    def trading_day(self, t: float) -> date:
        """The trading day whose span [day_start(day), day_start(next day)) contains `t` (UTC seconds)."""
        moment = datetime.fromtimestamp(int(t // 1), UTC).astimezone(self.zone)
        day = moment.date()
        # Only a session that opens the evening before moves a moment into the next date's trading day.
        return day + timedelta(days=1) if self.opens < 0 and t >= self.day_start(day + timedelta(days=1)) else day

    def session_bounds(self, day: date) -> tuple[int, int] | None:
        """The session [open, close) of `day` in UTC seconds, or None when `day` does not trade."""
        return _session_times(self, day) if self.is_trading_day(day) else None

    def activity(self, moments: Moments, opens: Seconds, closes: Seconds) -> Moments:
        """Relative trading intensity (about 1.0 on average) at each of `moments` (UTC seconds), within the
        session [opens, closes) (UTC seconds, one per moment) it belongs to."""
        return np.ones_like(moments)


@lru_cache(maxsize=65_536)
def _day_start(hours: TradingHours, day: date) -> int:
    return hours.local(day, min(0, hours.opens))


@lru_cache(maxsize=65_536)
def _session_times(hours: TradingHours, day: date) -> tuple[int, int]:
    """Where `day`'s session would open and close (UTC seconds), trading day or not."""
    return hours.local(day, hours.opens), hours.local(day, hours.closes)


class StockHours(TradingHours):
    """Busy open and close, quiet lunch: the U shape of an equity session."""

    __slots__ = ()

    def activity(self, moments: Moments, opens: Seconds, closes: Seconds) -> Moments:
        since_open = (moments - opens) / 2700
        to_close = (closes - moments) / 2700
        return 0.75 + 1.0 * np.exp(-since_open) + 0.7 * np.exp(-to_close)


class ForexHours(TradingHours):
    """Quiet Asian hours, busy London, busiest London/New York overlap (hours in UTC)."""

    __slots__ = ()

    def activity(self, moments: Moments, opens: Seconds, closes: Seconds) -> Moments:
        hour = moments % DAY / 3600
        return 0.5 + 0.8 * ((hour >= 7) & (hour < 16)) + 0.8 * ((hour >= 13) & (hour < 21))


class CryptoHours(TradingHours):
    """Always open, with a mild swell during the US afternoon."""

    __slots__ = ()

    def activity(self, moments: Moments, opens: Seconds, closes: Seconds) -> Moments:
        return 1.0 + 0.3 * np.cos(math.tau * (moments % DAY / DAY - 16 / 24))


WEEKDAYS = frozenset(range(5))
NEW_YORK = "America/New_York"
STOCK_HOURS = StockHours("0930-1600", NEW_YORK, 9 * 3600 + 1800, 16 * 3600, WEEKDAYS, exchange_holidays=True)
# TradingView: a session whose close is not after its open runs overnight, from the day before.
FOREX_HOURS = ForexHours("1700-1700:23456", NEW_YORK, -7 * 3600, 17 * 3600, WEEKDAYS)
CRYPTO_HOURS = CryptoHours("24x7")

"""When each kind of market trades, in UTC.

Stocks trade a fixed 14:30-21:00 UTC session on weekdays (the NASDAQ day, without daylight-saving
shifts or holidays), forex round the clock on weekdays, crypto always. The session strings are in
TradingView's notation for the `Etc/UTC` timezone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from app.market.resolutions import DAY

_THURSDAY = 3  # weekday of 1970-01-01, Monday = 0


@dataclass(frozen=True, slots=True)
class TradingHours:
    """A daily session [opens, closes) in seconds after midnight UTC on the given weekdays."""

    session: str
    opens: int = 0
    closes: int = DAY
    weekdays: frozenset[int] = frozenset(range(7))

    def active_seconds(self, start: int, end: int) -> int:
        """Seconds of trading inside [start, end), an interval within one UTC day."""
        day_start = start - start % DAY
        if (day_start // DAY + _THURSDAY) % 7 not in self.weekdays:
            return 0
        lo = max(start, day_start + self.opens)
        hi = min(end, day_start + self.closes)
        return max(0, hi - lo)

    def activity(self, second_of_day: float) -> float:
        """Relative trading intensity at a moment of the session (1.0 on average)."""
        return 1.0


@dataclass(frozen=True, slots=True)
class StockHours(TradingHours):
    """Busy open and close, quiet lunch: the U shape of an equity session."""

    def activity(self, second_of_day: float) -> float:
        since_open = (second_of_day - self.opens) / 2700
        to_close = (self.closes - second_of_day) / 2700
        return 0.75 + 1.0 * math.exp(-since_open) + 0.7 * math.exp(-to_close)


@dataclass(frozen=True, slots=True)
class ForexHours(TradingHours):
    """Quiet Asian hours, busy London, busiest London/New York overlap."""

    def activity(self, second_of_day: float) -> float:
        hour = second_of_day / 3600
        return 0.5 + (0.8 if 7 <= hour < 16 else 0.0) + (0.8 if 13 <= hour < 21 else 0.0)


@dataclass(frozen=True, slots=True)
class CryptoHours(TradingHours):
    """Always open, with a mild swell during the US afternoon."""

    def activity(self, second_of_day: float) -> float:
        return 1.0 + 0.3 * math.cos(math.tau * (second_of_day / DAY - 16 / 24))


WEEKDAYS = frozenset(range(5))
STOCK_HOURS = StockHours("1430-2100:23456", 14 * 3600 + 1800, 21 * 3600, WEEKDAYS)
FOREX_HOURS = ForexHours("0000-0000:23456", 0, DAY, WEEKDAYS)
CRYPTO_HOURS = CryptoHours("24x7")

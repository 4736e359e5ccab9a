"""An oracle of trading time for the calendar tests, from the sessions alone."""

from __future__ import annotations

from app.market.resolutions import DAY
from app.market.trading_hours import TradingHours, day_of_number


def trading_seconds(hours: TradingHours, start: int, end: int) -> int:
    """Seconds of trading in [start, end) (UTC seconds): the overlap with every session of the dates around it (a
    session lies within a day of its date)."""
    total = 0
    for number in range(start // DAY - 1, end // DAY + 2):
        session = hours.session_bounds(day_of_number(number))
        if session is not None:
            total += max(0, min(end, session[1]) - max(start, session[0]))
    return total

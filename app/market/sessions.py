"""TradingView session strings read into `TradingHours`, for instruments described by their data (stored ones).

The notation is the Charting Library's (its "Trading Sessions" page, the `session` field of LibrarySymbolInfo;
a copy: https://github.com/m-ahmadi/cw/wiki/Trading-Sessions, and its translation with the remark on default
days: https://www.kancloud.cn/isung/tradingview/972222):

- `HHMM-HHMM` in the exchange's timezone, e.g. `0930-1600`; `24x7` for a market that never closes;
- `:` and the days the session applies to, 1 = Sunday ... 7 = Saturday (`0930-1600:23456`); without days the
  session applies to Monday to Friday ("all non-24x7 symbols are considered not trading on Saturday and
  Sunday"; Pine Script's own session strings, which default to every day, are a different notation);
- a session whose close is not after its open is overnight and starts the day before: `1700-1700:23456` trades
  from Sunday 17:00 to Friday 17:00, each day's session belonging to the day it ends on; `0000-0000` is the whole
  day;
- `,` separates the periods of a session with a break (`0930-1200,1300-1600`);
- `|` joins parts for different days.

What a trading day is follows from that: from the session open (the evening before for an overnight session) or
local midnight, whichever is earlier, to the next day's. A session with a break trades from its first open to its
last close, and its grid is anchored at the first open (CONTRACT.md: the grid anchored at the session open, extended
through the whole day); its periods must follow one another within the day. Parts with different hours on
different days (`0900-1630|0900-1400:2`) and a first day of the week (`1;...`) describe hours that one daily open
and close cannot hold: they are refused, with a SessionError saying so.
"""

from __future__ import annotations

import re
from functools import lru_cache
from itertools import pairwise
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from app.market.resolutions import DAY
from app.market.trading_hours import TradingHours

ALWAYS = "24x7"
_PART = re.compile(r"(?P<periods>\d{4}-\d{4}(?:,\d{4}-\d{4})*)(?::(?P<days>\d+))?")
# TradingView's day digits (1 = Sunday) as Python weekdays (0 = Monday).
_WEEKDAY_OF_DIGIT = {str(digit): (digit - 2) % 7 for digit in range(1, 8)}
MONDAY_TO_FRIDAY = frozenset(range(5))
EVERY_DAY = frozenset(range(7))


class SessionError(ValueError):
    """A session string or timezone that cannot be read; the message says what is wrong, for a person."""


def trading_hours(session: str, timezone: str, *, exchange_holidays: bool = False) -> TradingHours:
    """The trading hours of `session` (TradingView's notation) in the IANA `timezone`, on the NYSE holiday calendar
    when `exchange_holidays`; raises SessionError.

    Equal arguments give the same object, so the grids and day layouts cached per `TradingHours` are shared by
    every instrument with the same hours.
    """
    return _trading_hours(session.strip(), timezone.strip(), exchange_holidays)


@lru_cache(maxsize=1024)
def _trading_hours(session: str, timezone: str, exchange_holidays: bool) -> TradingHours:
    _check_timezone(timezone)
    if session.lower() == ALWAYS:
        return TradingHours(session, timezone, 0, DAY, EVERY_DAY, exchange_holidays)
    if ";" in session:
        raise SessionError(f"session {session!r}: a first day of the week (;) is not supported")
    spans: set[tuple[int, int]] = set()
    weekdays: set[int] = set()
    for part in session.split("|"):
        match = _PART.fullmatch(part.strip())
        if match is None:
            raise SessionError(
                f"session {session!r}: expected HHMM-HHMM periods separated by commas, optionally :days "
                "(1 = Sunday ... 7 = Saturday), or 24x7"
            )
        spans.add(_span(session, match["periods"]))
        weekdays |= _weekdays(session, match["days"])
    if len(spans) > 1:
        raise SessionError(f"session {session!r}: different hours on different days are not supported")
    opens, closes = spans.pop()
    return TradingHours(session, timezone, opens, closes, frozenset(weekdays), exchange_holidays)


def _span(session: str, periods: str) -> tuple[int, int]:
    """From the first open to the last close, in seconds after the local midnight starting the trading day."""
    times = [
        (_minutes(session, period[:4], closing=False), _minutes(session, period[5:], closing=True))
        for period in periods.split(",")
    ]
    if times == [(0, 0)]:
        return 0, DAY
    if len(times) == 1 and times[0][1] <= times[0][0]:
        # Overnight: it opens the evening before the day it belongs to.
        return times[0][0] * 60 - DAY, times[0][1] * 60
    ordered = all(opens < closes for opens, closes in times) and all(
        closes <= opens for (_, closes), (opens, _) in pairwise(times)
    )
    if not ordered:
        raise SessionError(f"session {session!r}: the periods of a session with a break must follow one another")
    return times[0][0] * 60, times[-1][1] * 60


def _check_timezone(timezone: str) -> None:
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise SessionError(f"timezone {timezone!r} is not an IANA time zone (e.g. America/New_York)") from None


def _minutes(session: str, text: str, *, closing: bool) -> int:
    """Minutes after local midnight of `HHMM`; 2400 only as a close."""
    hours, minutes = int(text[:2]), int(text[2:])
    if minutes > 59 or hours > 24 or (hours == 24 and (minutes or not closing)):
        raise SessionError(f"session {session!r}: {text} is not a time of day (0000 to 2359, 2400 as a close)")
    return hours * 60 + minutes


def _weekdays(session: str, digits: str | None) -> frozenset[int]:
    """Python weekdays (0 = Monday) of TradingView's day digits; none given: Monday to Friday."""
    if digits is None:
        return MONDAY_TO_FRIDAY
    unknown = sorted(set(digits) - _WEEKDAY_OF_DIGIT.keys())
    if unknown:
        raise SessionError(f"session {session!r}: days are digits 1 (Sunday) to 7 (Saturday), not {''.join(unknown)}")
    return frozenset(_WEEKDAY_OF_DIGIT[digit] for digit in digits)

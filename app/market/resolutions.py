"""Chart resolutions and the UTC periods they cut time into."""

from __future__ import annotations

import calendar
from datetime import UTC, datetime
from enum import StrEnum

DAY = 86_400
WEEK = 7 * DAY
# 1970-01-01 was a Thursday; weekly bars start on Mondays, four days later.
_MONDAY_OFFSET = 4 * DAY


class Resolution(StrEnum):
    """A bar period, spelled as TradingView spells it."""

    M1 = "1"
    M5 = "5"
    M15 = "15"
    M30 = "30"
    H1 = "60"
    H4 = "240"
    DAY = "1D"
    WEEK = "1W"
    MONTH = "1M"

    @property
    def is_intraday(self) -> bool:
        return self not in (Resolution.DAY, Resolution.WEEK, Resolution.MONTH)

    @property
    def seconds(self) -> int:
        """Nominal length; a month counts as 31 days (used for limits, never for alignment)."""
        return _NOMINAL_SECONDS[self]

    def period_start(self, t: float) -> int:
        """Start (UTC seconds) of the period that contains `t`."""
        ts = int(t // 1)
        if self is Resolution.MONTH:
            moment = datetime.fromtimestamp(ts, UTC)
            return calendar.timegm((moment.year, moment.month, 1, 0, 0, 0))
        if self is Resolution.WEEK:
            return ts - (ts - _MONDAY_OFFSET) % WEEK
        return ts - ts % self.seconds

    def next_start(self, start: int) -> int:
        """Start of the period after the one that begins at `start`."""
        if self is Resolution.MONTH:
            moment = datetime.fromtimestamp(start, UTC)
            year, month = divmod(moment.year * 12 + moment.month, 12)
            return calendar.timegm((year, month + 1, 1, 0, 0, 0))
        return start + self.seconds


_NOMINAL_SECONDS = {
    Resolution.M1: 60,
    Resolution.M5: 300,
    Resolution.M15: 900,
    Resolution.M30: 1800,
    Resolution.H1: 3600,
    Resolution.H4: 14_400,
    Resolution.DAY: DAY,
    Resolution.WEEK: WEEK,
    Resolution.MONTH: 31 * DAY,
}

ALIASES = {"D": Resolution.DAY, "W": Resolution.WEEK, "M": Resolution.MONTH}


def parse_resolution(text: str) -> Resolution | None:
    """The resolution named by `text` (aliases D/W/M accepted), or None."""
    text = text.strip().upper()
    if text in ALIASES:
        return ALIASES[text]
    try:
        return Resolution(text)
    except ValueError:
        return None


def slot_index(resolution: Resolution, t: float) -> int:
    """Number of the period containing `t`, counting periods from 1970 (months from year 0)."""
    start = resolution.period_start(t)
    if resolution is Resolution.MONTH:
        moment = datetime.fromtimestamp(start, UTC)
        return moment.year * 12 + moment.month - 1
    if resolution is Resolution.WEEK:
        return (start - _MONDAY_OFFSET) // WEEK
    return start // resolution.seconds


def slot_start(resolution: Resolution, index: int) -> int:
    """Start (UTC seconds) of the period numbered `index`."""
    if resolution is Resolution.MONTH:
        year, month = divmod(index, 12)
        return calendar.timegm((year, month + 1, 1, 0, 0, 0))
    if resolution is Resolution.WEEK:
        return index * WEEK + _MONDAY_OFFSET
    return index * resolution.seconds


def first_slot_at_or_after(resolution: Resolution, t: float) -> int:
    """Number of the first period that starts at or after `t`."""
    index = slot_index(resolution, t)
    return index if slot_start(resolution, index) >= t else index + 1

"""Chart resolutions as TradingView spells them (the periods they cover are `grid`'s)."""

from __future__ import annotations

from enum import StrEnum

DAY = 86_400
WEEK = 7 * DAY


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

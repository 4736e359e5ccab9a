"""Bar times as exports spell them, read a whole column at a time.

Accepted: ISO dates (`2024-01-02`; `.` or `/` between the parts as well, as MetaTrader writes `2024.01.02`),
ISO date-times (`2024-01-02 14:30`, `2024-01-02T14:30:00`, with `Z` or an offset such as `+01:00`), a date column
beside an `HH:MM[:SS]` column (MetaTrader), and unix times by their digits: 10 seconds, 13 milliseconds,
16 microseconds (Binance's spot files since 2025). Each time is read as one of four kinds:

- DATE: a date alone, a trading day; its value is 00:00 UTC of that date, whatever the input timezone;
- NAIVE: a date-time without offset; its value is the wall clock read as if UTC (the caller applies the zone);
- AWARE: a date-time with `Z` or an offset, and UNIX: unix time; both are UTC seconds. An aware time keeps its
  offset too, so that its wall clock is known: `2024-01-02 00:00:00-05:00` (yfinance's daily rows) is a date.

The common fixed-width spellings are read as a byte matrix; anything else is tried with `datetime.fromisoformat`
one field at a time, and what that refuses is bad. A time with a fraction of a second is bad too: bars start on
whole seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import IntEnum

import numpy as np
import numpy.typing as npt

from app.importer.decimals import Fields, Ints, Mask, characters, lengths
from app.market.resolutions import DAY

Chars = npt.NDArray[np.uint8]
_EPOCH = datetime(1970, 1, 1)
_UNIX_DIGITS = {10: 1, 13: 1_000, 16: 1_000_000}
_MONTH_DAYS = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)
# A year outside these is a misread (a unix time of the wrong unit, a swapped field), not a bar.
FIRST_YEAR, LAST_YEAR = 1900, 2199
_END = int((datetime(LAST_YEAR + 1, 1, 1) - _EPOCH).total_seconds())


class Kind(IntEnum):
    """How a time was given (see the module's docstring)."""

    DATE = 0
    NAIVE = 1
    AWARE = 2
    UNIX = 3


@dataclass(frozen=True, slots=True)
class Times:
    """A column of times: `seconds` (see Kind for what they count), `kinds`, the UTC offsets aware times were
    written with (seconds east of UTC, 0 for the others), and `bad` rows with the reason."""

    seconds: Ints
    kinds: npt.NDArray[np.int8]
    offsets: Ints
    bad: Mask
    reasons: dict[int, str]

    @property
    def walls(self) -> Ints:
        """Each time's wall clock as written, read as if UTC (a date's 00:00, a naive time itself)."""
        walls: Ints = self.seconds + self.offsets
        return walls

    def take(self, rows: Mask) -> Times:
        """The times of `rows` (reasons are left behind: they belong to bad rows)."""
        return Times(self.seconds[rows], self.kinds[rows], self.offsets[rows], self.bad[rows], {})

    @staticmethod
    def join(parts: list[Times]) -> Times:
        """The columns one after the other."""
        if not parts:
            empty = np.zeros(0, dtype=np.int64)
            return Times(empty, np.zeros(0, dtype=np.int8), empty, np.zeros(0, dtype=np.bool_), {})
        return Times(
            np.concatenate([part.seconds for part in parts]),
            np.concatenate([part.kinds for part in parts]),
            np.concatenate([part.offsets for part in parts]),
            np.concatenate([part.bad for part in parts]),
            {},
        )


def _digits(chars: Chars, positions: range | list[int]) -> tuple[Ints, Mask]:
    """The number spelled by the characters at `positions`, and whether each field has digits at all of them."""
    value = np.zeros(chars.shape[1], dtype=np.int64)
    ok = np.ones(chars.shape[1], dtype=np.bool_)
    for position in positions:
        digit = chars[position] - np.uint8(ord("0"))
        ok &= digit < 10
        value = value * 10 + digit
    return value, ok


def _days(year: Ints, month: Ints, day: Ints, ok: Mask) -> tuple[Ints, Mask]:
    """Days since 1970-01-01 of valid calendar dates (the proleptic Gregorian count of Howard Hinnant's
    `days_from_civil`); `ok` narrowed to the dates that exist."""
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    month_days = _MONTH_DAYS[np.clip(month, 0, 12)] + ((month == 2) & leap)
    ok = ok & (year >= FIRST_YEAR) & (year <= LAST_YEAR) & (month >= 1) & (month <= 12)
    ok &= (day >= 1) & (day <= month_days)
    # Years counted from March, so that the leap day ends a year.
    shifted = year - (month <= 2)
    era = shifted // 400
    of_era = shifted - era * 400
    of_year = (153 * ((month + 9) % 12) + 2) // 5 + day - 1
    days = era * 146_097 + of_era * 365 + of_era // 4 - of_era // 100 + of_year - 719_468
    return np.where(ok, days, 0), ok


def _clock(chars: Chars, at: int) -> tuple[Ints, Mask, Ints, Mask]:
    """Seconds after midnight of `HH:MM` starting at character `at`, whether it is one, and the seconds of the
    `:SS` that may follow and whether they are."""
    hours, ok = _digits(chars, [at, at + 1])
    minutes, ok_minutes = _digits(chars, [at + 3, at + 4])
    ok &= ok_minutes & (chars[at + 2] == ord(":")) & (hours < 24) & (minutes < 60)
    seconds, ok_seconds = _digits(chars, [at + 6, at + 7])
    ok_seconds &= ok & (chars[at + 5] == ord(":")) & (seconds < 60)
    return hours * 3600 + minutes * 60, ok, seconds, ok_seconds


def _dates(chars: Chars) -> tuple[Ints, Mask]:
    """Days since 1970-01-01 of `YYYY-MM-DD` (or `.` or `/` between) at the start of each field. Each run of
    fields with the same first ten characters (a day of intraday bars) is read once."""
    prefix = chars[:10]
    starts = np.ones(prefix.shape[1], dtype=np.bool_)
    starts[1:] = (prefix[:, 1:] != prefix[:, :-1]).any(axis=0)
    firsts = np.flatnonzero(starts)
    runs = np.diff(np.append(firsts, prefix.shape[1]))
    first = np.ascontiguousarray(prefix[:, firsts])
    year, ok = _digits(first, range(4))
    month, ok_month = _digits(first, [5, 6])
    day, ok_day = _digits(first, [8, 9])
    separator = first[4]
    separated = (separator == ord("-")) | (separator == ord(".")) | (separator == ord("/"))
    ok &= ok_month & ok_day & separated & (first[7] == separator)
    days, ok = _days(year, month, day, ok)
    return np.repeat(days, runs), np.repeat(ok, runs)


def read_times(fields: Fields, clocks: Fields | None = None) -> Times:
    """Read a column of times, or of dates with `clocks` (`HH:MM[:SS]`, MetaTrader's second column) beside."""
    n = len(fields)
    chars = characters(fields, 28)
    length = lengths(chars)
    seconds = np.zeros(n, dtype=np.int64)
    offsets = np.zeros(n, dtype=np.int64)
    kinds = np.full(n, Kind.NAIVE, dtype=np.int8)
    done = np.zeros(n, dtype=np.bool_)
    if clocks is not None:
        days, dated = _dates(chars)
        clock_chars = characters(clocks, 8)
        clock_length = lengths(clock_chars)
        minutes, minutes_ok, secs, secs_ok = _clock(clock_chars, 0)
        full = clock_length == 8
        done = dated & (length == 10) & np.where(full, secs_ok, minutes_ok & (clock_length == 5))
        seconds = days * DAY + minutes + np.where(full, secs, 0)
        return _finish(fields, clocks, seconds, kinds, offsets, done)
    if (chars[4] == ord("-")).any() or (chars[4] == ord(".")).any() or (chars[4] == ord("/")).any():
        _read_iso(chars, length, seconds, kinds, offsets, done)
    if not done.all():
        _read_unix(chars, length, seconds, kinds, done)
    return _finish(fields, None, seconds, kinds, offsets, done)


def _read_iso(
    chars: Chars, length: Ints, seconds: Ints, kinds: npt.NDArray[np.int8], offsets: Ints, done: Mask
) -> None:
    """Fill in the fields that are an ISO date, or date and time (naive, with Z, or with a ±HH:MM offset)."""
    days, dated = _dates(chars)
    date_only = dated & (length == 10)
    kinds[date_only] = Kind.DATE
    seconds[date_only] = days[date_only] * DAY
    done |= date_only
    joined = dated & ((chars[10] == ord(" ")) | (chars[10] == ord("T")))
    minutes, minutes_ok, secs, secs_ok = _clock(chars, 11)
    start = days * DAY + minutes
    for end, ok, value in ((16, minutes_ok, start), (19, secs_ok, start + secs)):
        naive = joined & ok & (length == end)
        zulu = joined & ok & (length == end + 1) & (chars[end] == ord("Z"))
        sign = np.where(chars[end] == ord("-"), -1, 1)
        offset, offset_ok = _clock(chars, end + 1)[:2]
        offset_ok &= (chars[end] == ord("+")) | (chars[end] == ord("-"))
        shifted = joined & ok & (length == end + 6) & offset_ok
        offset = sign * offset
        for rows, kind, shift in ((naive, Kind.NAIVE, 0), (zulu, Kind.AWARE, 0), (shifted, Kind.AWARE, offset)):
            kinds[rows] = kind
            seconds[rows] = (value - shift)[rows]
            offsets[rows] = (np.zeros_like(value) + shift)[rows]
            done |= rows


def _read_unix(chars: Chars, length: Ints, seconds: Ints, kinds: npt.NDArray[np.int8], done: Mask) -> None:
    """Fill in the fields that are unix times of 10, 13 or 16 digits (whole seconds before the last year)."""
    value = np.zeros(len(length), dtype=np.int64)
    digits = np.ones(len(length), dtype=np.bool_)
    for position in range(max(_UNIX_DIGITS)):
        digit = chars[position] - np.uint8(ord("0"))
        digits &= digit < 10
        value = value * 10 + digit
        unit = _UNIX_DIGITS.get(position + 1)
        if unit is not None:
            rows = digits & (length == position + 1) & (value % unit == 0) & (value // unit < _END)
            kinds[rows] = Kind.UNIX
            seconds[rows] = value[rows] // unit
            done |= rows


def _finish(
    fields: Fields, clocks: Fields | None, seconds: Ints, kinds: npt.NDArray[np.int8], offsets: Ints, done: Mask
) -> Times:
    """Read the rows the byte matrix could not, one at a time."""
    bad = np.zeros(len(fields), dtype=np.bool_)
    reasons: dict[int, str] = {}
    for row in np.flatnonzero(~done):
        text = fields[row].decode("latin-1").strip()
        if clocks is not None:
            text = f"{text} {clocks[row].decode('latin-1').strip()}"
        read = read_time(text)
        if isinstance(read, str):
            bad[row] = True
            reasons[int(row)] = read
        else:
            kinds[row], seconds[row], offsets[row] = read
    return Times(seconds, kinds, offsets, bad, reasons)


def read_time(text: str) -> tuple[Kind, int, int] | str:
    """One time as (kind, seconds, its UTC offset in seconds), or why it cannot be read."""
    if text.isdigit():
        unit = _UNIX_DIGITS.get(len(text))
        if unit is None:
            return f"unix time {text!r} has {len(text)} digits, not 10 (s), 13 (ms) or 16 (µs)"
        if int(text) % unit:
            return f"time {text!r} has a fraction of a second (bars start on whole seconds)"
        if int(text) // unit >= _END:
            return f"time {text!r} is after the year {LAST_YEAR}"
        return Kind.UNIX, int(text) // unit, 0
    spelled = text
    if len(text) >= 10 and text[4] in "./" and text[7] == text[4]:
        spelled = f"{text[:4]}-{text[5:7]}-{text[8:]}"
    try:
        moment = datetime.fromisoformat(spelled)
    except ValueError:
        return f"time {text!r} is not a date, a date and time, or a unix time"
    if not FIRST_YEAR <= moment.year <= LAST_YEAR:
        return f"time {text!r} is outside the years {FIRST_YEAR}-{LAST_YEAR}"
    if moment.microsecond:
        return f"time {text!r} has a fraction of a second (bars start on whole seconds)"
    offset = moment.utcoffset()
    if offset is not None:
        return Kind.AWARE, int(moment.timestamp()), int(offset.total_seconds())
    seconds = int((moment - _EPOCH).total_seconds())
    return (Kind.DATE if len(spelled) == 10 else Kind.NAIVE), seconds, 0


def format_time(seconds: int, clock: bool = False) -> str:
    """UTC seconds as a person reads them: `2024-01-02 14:30 UTC`, or `2024-01-02` at 00:00 unless `clock`."""
    moment = datetime.fromtimestamp(seconds, UTC)
    if seconds % DAY == 0 and not clock:
        return moment.strftime("%Y-%m-%d")
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC" if seconds % 60 else "%Y-%m-%d %H:%M UTC")

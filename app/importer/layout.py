"""Where the columns are: the delimiter, whether a header line names them, and which column holds what.

Read from the file's first non-empty line. The delimiter is a tab or `;` if the line has one, else `,` (with
`--decimal ,` the comma is the decimal mark, so the columns must be `;` or tab separated). The line is a header
when none of its fields is a number or a time. Header names are matched without regard to case, spaces,
underscores or MetaTrader's angle brackets: the time is `time`, `date`, `datetime`, `timestamp` or `open time`
(or `date` and `time` as two columns); the volume is `volume` or `vol`, else `tickvol` (MetaTrader 5 writes both,
and its `vol`, the exchange's volume, comes first); other columns (`Adj Close`, Binance's close time and counts)
are ignored. An unnamed first column is the time (pandas' index). Without a header, columns are taken by
position: time, open, high, low, close, volume; or, when the second field is a time of day (MetaTrader), date,
time, open, high, low, close, volume.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass

from app.importer.decimals import is_number
from app.importer.problems import refuse
from app.importer.times import read_time

PRICES = ("open", "high", "low", "close")
_CLOCK = re.compile(r"\d{1,2}:\d{2}(:\d{2})?")


@dataclass(frozen=True, slots=True)
class Layout:
    """How one file is laid out: `time` is one column, or a date column and a time-of-day column."""

    delimiter: str
    header: bool
    time: tuple[int] | tuple[int, int]
    prices: tuple[int, int, int, int]
    volume: int

    @property
    def columns(self) -> tuple[int, ...]:
        """Every column read, in the order time(s), open, high, low, close, volume."""
        return (*self.time, *self.prices, self.volume)

    @property
    def fields(self) -> int:
        """Fields a data line needs at least."""
        return max(self.columns) + 1


def _name(field: str) -> str:
    return " ".join(field.strip().strip("<>").replace("_", " ").lower().split())


def _is_time(field: str) -> bool:
    return not isinstance(read_time(field.strip()), str) or bool(_CLOCK.fullmatch(field.strip()))


def detect(file: str, first_line: str, line: int, decimal_comma: bool) -> Layout:
    """The layout of a file whose first non-empty line is `first_line` (line number `line`); raises
    ImportRefusedError when it has no usable columns."""
    delimiter = "\t" if "\t" in first_line else ";" if ";" in first_line else ","
    if decimal_comma and delimiter == ",":
        raise refuse(file, "--decimal , needs columns separated by ; or a tab, and this file uses ,", line)
    fields = next(csv.reader([first_line], delimiter=delimiter))
    if any(is_number(field, decimal_comma) or _is_time(field) for field in fields):
        return _by_position(file, line, delimiter, fields)
    return _by_name(file, line, delimiter, fields)


def _by_position(file: str, line: int, delimiter: str, fields: list[str]) -> Layout:
    if len(fields) > 1 and _CLOCK.fullmatch(fields[1].strip()):
        layout = Layout(delimiter, False, (0, 1), (2, 3, 4, 5), 6)
    else:
        layout = Layout(delimiter, False, (0,), (1, 2, 3, 4), 5)
    if len(fields) < layout.fields:
        names = "date, time, " if len(layout.time) == 2 else "time, "
        raise refuse(
            file,
            f"no header, and {len(fields)} columns where {layout.fields} are needed ({names}open, high, low, close,"
            " volume)",
            line,
        )
    return layout


def _by_name(file: str, line: int, delimiter: str, fields: list[str]) -> Layout:
    found: dict[str, int] = {}
    problems: list[str] = []
    for column, field in enumerate(fields):
        role = _ROLES.get(_name(field))
        if role in found:
            problems.append(f"two {role} columns ({fields[found[role]]!r} and {field!r})")
        elif role is not None:
            found[role] = column
    times = [found[role] for role in ("time", "date", "clock") if role in found]
    time: tuple[int] | tuple[int, int] = (0,)
    if "date" in found and "clock" in found and "time" not in found:
        time = (found["date"], found["clock"])
    elif len(times) > 1:
        problems.append("more than one time column")
    elif times:
        time = (times[0],)
    found.setdefault("volume", found.get("tickvol", -1))
    missing = [role for role in (*PRICES, "volume") if found.get(role, -1) < 0]
    if not times and _name(fields[0]):
        missing.insert(0, "time")
    if missing:
        problems.append(f"no {', '.join(missing)} column")
    if problems:
        header = ", ".join(repr(field) for field in fields)
        raise refuse(file, f"{'; '.join(problems)} in the header ({header})", line)
    return Layout(delimiter, True, time, (found["open"], found["high"], found["low"], found["close"]), found["volume"])


# Header names by role; `date` and `clock` pair up as MetaTrader's two columns, or stand alone as the time.
_ROLES: dict[str, str] = {
    "date": "date",
    "time": "clock",
    **dict.fromkeys(("datetime", "timestamp", "date time", "open time"), "time"),
    **{name: price for price in PRICES for name in (price, price[0])},
    **dict.fromkeys(("volume", "vol", "v"), "volume"),
    **dict.fromkeys(("tickvol", "tick volume"), "tickvol"),
}

"""Bars checked as bars: OHLC consistency, volume, and one bar per time once the rows are sorted.

A bar needs low <= open, close <= high (so low <= high) and volume >= 0. Rows may come in any order and from
several files: they are sorted by time (stably, so the first of equal rows is kept), rows repeating a time with
the same values collapse into one, and rows repeating a time with other values are refused, both lines named.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from app.importer.decimals import Ints, Mask
from app.importer.problems import SHOWN, Problem, Problems
from app.importer.times import format_time
from app.store.base import BarRows, Volumes


@dataclass(frozen=True, slots=True)
class Origin:
    """Where rows come from: `files[file_index[i]]` line `lines[i]` for row i."""

    files: tuple[str, ...]
    file_index: Ints
    lines: Ints

    def where(self, i: int) -> str:
        return f"{self.files[int(self.file_index[i])]} line {int(self.lines[i])}"


def check_bars(
    name: str,
    lines: Ints,
    prices: tuple[Ints, Ints, Ints, Ints],
    volumes: Volumes,
    usable: Mask,
    values: Callable[[int], str],
    problems: Problems,
) -> Mask:
    """Whether each row is a consistent bar (prices in ticks); the `usable` rows that are not go into `problems`,
    with `values(i)`: row i as written."""
    opens, highs, lows, closes = prices
    top, bottom = np.maximum(opens, closes), np.minimum(opens, closes)
    rules = (
        (highs < lows, "high is below low"),
        (highs < top, "high is below the open or close"),
        (lows > bottom, "low is above the open or close"),
        (volumes < 0, "volume is negative"),
    )
    ok = usable.copy()
    for broken, message in rules:
        problems.add_rows(name, lines, broken & ok, _broken(message, values))
        ok &= ~broken
    return ok


def _broken(message: str, values: Callable[[int], str]) -> Callable[[int], str]:
    return lambda i: f"{message} ({values(i)})"


def sort_bars(rows: BarRows, origin: Origin, problems: Problems) -> tuple[BarRows, Origin, int]:
    """`rows` by time, identical repeats dropped, with their origins and how many repeats were dropped; a time
    repeated with other values goes into `problems`, naming the line that first gave it."""
    if bool((rows.times[1:] > rows.times[:-1]).all()):
        return rows, origin, 0
    order = np.argsort(rows.times, kind="stable")
    ordered = _take(rows, order)
    origin = Origin(origin.files, origin.file_index[order], origin.lines[order])
    times = ordered.times
    repeat = np.zeros(len(times), dtype=np.bool_)
    repeat[1:] = times[1:] == times[:-1]
    # Each row is compared with the first row of its time.
    first = np.maximum.accumulate(np.where(repeat, 0, np.arange(len(times))))
    same = ordered.volumes == ordered.volumes[first]
    for column in (ordered.opens, ordered.highs, ordered.lows, ordered.closes):
        same &= column == column[first]
    conflicts = np.flatnonzero(repeat & ~same)
    problems.add_many(
        len(conflicts),
        (
            Problem(
                origin.files[int(origin.file_index[i])],
                int(origin.lines[i]),
                f"{format_time(int(times[i]))} is also on {origin.where(int(first[i]))}, with other values",
            )
            for i in conflicts[:SHOWN]
        ),
    )
    keep = ~repeat
    kept = _take(ordered, keep)
    return kept, Origin(origin.files, origin.file_index[keep], origin.lines[keep]), int((repeat & same).sum())


def _take(rows: BarRows, index: npt.NDArray[np.int64] | Mask) -> BarRows:
    """The rows `index` selects (positions or a mask)."""
    prices = (rows.opens[index], rows.highs[index], rows.lows[index], rows.closes[index])
    return BarRows(rows.times[index], *prices, rows.volumes[index])

"""Bar rows on their way into and out of an engine: checked, compared with what is stored, built from records.

Pure numpy, shared by both engines, so that they accept, refuse and count a write the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from app.store.base import BarRows, StoreError

# One stored bar as a driver returns it: time (UTC seconds), open, high, low, close (ticks), volume.
RECORD = np.dtype([("time", "i8"), ("open", "i8"), ("high", "i8"), ("low", "i8"), ("close", "i8"), ("volume", "f8")])
# Rows compared with the store per read: bounds what a re-import of millions of rows holds as Python objects.
CHUNK = 65_536
Mask = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class Comparison:
    """How rows relate to the stored ones, a mask over the rows each: not stored yet, stored with other values."""

    new: Mask
    changed: Mask


def checked(rows: BarRows) -> BarRows:
    """`rows` with int64 times and ticks and float64 volumes, once they are one bar per time and consistent.

    Raises StoreError naming the first offending bar: columns of different lengths, prices that are not integer
    ticks, times not strictly ascending, low above open or close, high below them, a volume negative or not finite.
    """
    columns = (rows.times, rows.opens, rows.highs, rows.lows, rows.closes, rows.volumes)
    if any(np.ndim(column) != 1 or len(column) != len(rows.times) for column in columns):
        raise StoreError("bar columns must be one-dimensional and of equal length")
    if any(np.asarray(column).dtype.kind not in "iu" for column in columns[:5]):
        raise StoreError("bar times and prices must be integers (UTC seconds, ticks)")
    times, opens, highs, lows, closes = (np.asarray(column, dtype=np.int64) for column in columns[:5])
    volumes = np.asarray(rows.volumes, dtype=np.float64)
    _refuse(times, np.diff(times, prepend=times[:1] - 1) <= 0, "its time is not after the previous bar's")
    _refuse(times, (lows > opens) | (lows > closes), "its low is above its open or close")
    _refuse(times, (highs < opens) | (highs < closes), "its high is below its open or close")
    _refuse(times, ~np.isfinite(volumes) | (volumes < 0), "its volume is negative or not a number")
    return BarRows(times, opens, highs, lows, closes, volumes)


def compare(rows: BarRows, read_stored: Callable[[int, int], BarRows]) -> Comparison:
    """Compare checked `rows` with the stored bars `read_stored(start, end)` returns for [start, end) (UTC seconds),
    CHUNK rows at a time."""
    new: list[Mask] = []
    changed: list[Mask] = []
    for part in chunks(rows, CHUNK):
        stored = read_stored(int(part.times[0]), int(part.times[-1]) + 1)
        at = np.searchsorted(stored.times, part.times).clip(max=max(len(stored) - 1, 0))
        found = stored.times[at] == part.times if len(stored) else np.zeros(len(part), dtype=np.bool_)
        same = found.copy()
        for mine, theirs in zip(_values(part), _values(stored), strict=True):
            same[found] &= mine[found] == theirs[at[found]]
        new.append(~found)
        changed.append(found & ~same)
    if not new:
        return Comparison(np.zeros(0, dtype=np.bool_), np.zeros(0, dtype=np.bool_))
    return Comparison(np.concatenate(new), np.concatenate(changed))


def rewritten_from(rows: BarRows, comparison: Comparison, last: int | None) -> int | None:
    """The earliest time of checked `rows` that changes their series other than by appending after its last bar
    (`last`, UTC seconds; None: the series has no bars yet): a row stored with other values, or a new row before
    `last`. None when the write only appends (or changes nothing)."""
    rewriting = comparison.changed | (comparison.new & (rows.times < last)) if last is not None else comparison.changed
    return int(rows.times[int(np.argmax(rewriting))]) if rewriting.any() else None


def chunks(rows: BarRows, size: int) -> Iterator[BarRows]:
    """`rows` in consecutive slices of at most `size` rows (views, no copies)."""
    for start in range(0, len(rows), size):
        yield sliced(rows, start, start + size)


def sliced(rows: BarRows, start: int, stop: int) -> BarRows:
    """The rows from index `start` to `stop` (excluded), a view."""
    part = slice(start, stop)
    return BarRows(
        rows.times[part], rows.opens[part], rows.highs[part], rows.lows[part], rows.closes[part], rows.volumes[part]
    )


def selected(rows: BarRows, mask: Mask) -> BarRows:
    """The rows where `mask` is true (`rows` itself when it is true everywhere: a first import copies nothing)."""
    if mask.all():
        return rows
    return BarRows(
        rows.times[mask], rows.opens[mask], rows.highs[mask], rows.lows[mask], rows.closes[mask], rows.volumes[mask]
    )


def from_records(records: Sequence[tuple[Any, ...]]) -> BarRows:
    """Columns from records in the order the driver returned them."""
    if not records:
        return BarRows.empty()
    table = np.array(records, dtype=RECORD)
    return BarRows(
        np.ascontiguousarray(table["time"]),
        np.ascontiguousarray(table["open"]),
        np.ascontiguousarray(table["high"]),
        np.ascontiguousarray(table["low"]),
        np.ascontiguousarray(table["close"]),
        np.ascontiguousarray(table["volume"]),
    )


def statement_parameters(rows: BarRows, size: int, *prefix: object) -> Iterator[list[object]]:
    """Parameters of statements writing `size` rows each (len(rows) a multiple of `size`), as Python numbers:
    `prefix`, then column after column the rows' times, opens, highs, lows, closes and volumes. Raises ValueError
    when the rows do not divide into statements.

    One statement of many rows costs a driver far less than as many statements of one row, and a column taken whole
    is a reshape, where a record per row is a tuple per row; the Python numbers of CHUNK rows exist at a time.
    """
    if size < 1 or len(rows) % size:
        raise ValueError(f"{len(rows)} rows do not divide into statements of {size}")
    for part in chunks(rows, CHUNK - CHUNK % size):
        ticks = (part.times, part.opens, part.highs, part.lows, part.closes)
        # Row i of `integers` holds statement i's times, then its opens, and so on.
        integers = np.stack([column.reshape(-1, size) for column in ticks], axis=1).reshape(-1, len(ticks) * size)
        volumes = part.volumes.reshape(-1, size)
        for numbers, fractions in zip(integers.tolist(), volumes.tolist(), strict=True):
            yield [*prefix, *numbers, *fractions]


def _values(rows: BarRows) -> tuple[npt.NDArray[Any], ...]:
    return (rows.opens, rows.highs, rows.lows, rows.closes, rows.volumes)


def _refuse(times: npt.NDArray[np.int64], bad: Mask, why: str) -> None:
    if bad.any():
        first = int(np.argmax(bad))
        time = int(times[first])
        # A time far outside the calendar is shown as the number alone.
        when = f" = {datetime.fromtimestamp(time, UTC):%Y-%m-%d %H:%M:%S} UTC" if abs(time) < 10**11 else ""
        raise StoreError(f"bar {first + 1} of {len(times)} (time {time}{when}) refused: {why}; nothing was written")

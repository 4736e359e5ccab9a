"""A CSV file read into columns: times as read (see times.py), prices and volumes as exact decimals.

The file is converted block by block as it is read, so memory holds its numbers (about 100 bytes a bar), not its
text. Every field that cannot be read is a problem of its line; so is a field too long to be a time or a number.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from app.importer.decimals import Decimals, Ints, Mask, read_decimals
from app.importer.layout import PRICES, Layout
from app.importer.problems import Problems
from app.importer.reader import WIDTH, read_blocks
from app.importer.times import Times, read_times

_COLUMNS = (*PRICES, "volume")


@dataclass(frozen=True, slots=True)
class ParsedFile:
    """The readable rows of one file: line numbers, times, and open, high, low, close, volume as decimals."""

    name: str
    layout: Layout
    lines: Ints
    times: Times
    numbers: tuple[Decimals, ...]

    def __len__(self) -> int:
        return len(self.lines)


def parse_file(
    path: Path, name: str, decimal_comma: bool, problems: Problems, progress: Callable[[int], object]
) -> ParsedFile:
    """Read one file, its unreadable lines into `problems` (left out of the result); raises ImportRefusedError for a
    file that cannot be read or whose first line gives no usable layout."""
    layout: Layout | None = None
    parts: list[tuple[Ints, Times, list[Decimals]]] = []
    for layout, block in read_blocks(path, name, decimal_comma, problems, progress):
        if len(block.lines) == 0:
            continue
        clock = len(layout.time) == 2
        first_price = 2 if clock else 1
        fields = block.fields
        # A field that fills the width may have been cut.
        long: Mask = (fields.view(np.uint8).reshape(len(fields), -1, WIDTH)[:, :, -1] != 0).any(axis=1)
        problems.add_rows(name, block.lines, long, lambda i: f"a field longer than {WIDTH - 1} characters")
        times = read_times(fields[:, 0], fields[:, 1] if clock else None)
        numbers = [read_decimals(fields[:, first_price + i], decimal_comma) for i in range(5)]
        bad = times.bad | np.logical_or.reduce([number.bad for number in numbers]) | long
        problems.add_rows(name, block.lines, bad & ~long, _describe(fields, times, numbers, first_price))
        if bad.any():
            keep = ~bad
            parts.append((block.lines[keep], times.take(keep), [_take(number, keep) for number in numbers]))
        else:
            parts.append((block.lines, times, numbers))
    assert layout is not None  # read_blocks refuses a file without a first line
    return ParsedFile(
        name,
        layout,
        np.concatenate([part[0] for part in parts]) if parts else np.zeros(0, dtype=np.int64),
        Times.join([part[1] for part in parts]),
        tuple(_join([part[2][i] for part in parts]) for i in range(5)),
    )


def _describe(
    fields: npt.NDArray[np.bytes_], times: Times, numbers: list[Decimals], first_price: int
) -> Callable[[int], str]:
    def describe(row: int) -> str:
        said = [times.reasons[row]] if times.bad[row] else []
        unread = [
            f"{column} {fields[row, first_price + i].decode('latin-1')!r}"
            for i, column in enumerate(_COLUMNS)
            if numbers[i].bad[row]
        ]
        if unread:
            said.append(f"not a number: {', '.join(unread)}")
        return "; ".join(said)

    return describe


def _take(number: Decimals, keep: npt.NDArray[np.bool_]) -> Decimals:
    return Decimals(number.digits[keep], number.places[keep], number.bad[keep])


def _join(parts: list[Decimals]) -> Decimals:
    if not parts:
        empty = np.zeros(0, dtype=np.int64)
        return Decimals(empty, empty, np.zeros(0, dtype=np.bool_))
    return Decimals(
        np.concatenate([part.digits for part in parts]),
        np.concatenate([part.places for part in parts]),
        np.concatenate([part.bad for part in parts]),
    )

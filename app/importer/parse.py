"""A CSV file read into columns: times as read (see times.py), prices and volumes as exact decimals.

The file is converted block by block as it is read, so memory holds its numbers (about 100 bytes a bar), not its
text. Every field that cannot be read is a problem of its line; so is a field too long to be a time or a number.
A number too large to hold is kept, with its text, for the caller to refuse once it knows the largest it takes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from app.importer.decimals import Decimals, Ints, Mask, Unread, read_decimals, read_one
from app.importer.layout import PRICES, Layout
from app.importer.problems import Problems
from app.importer.reader import WIDTH, read_blocks
from app.importer.times import Times, read_times

_COLUMNS = (*PRICES, "volume")


@dataclass(frozen=True, slots=True)
class ParsedFile:
    """The readable rows of one file: line numbers, times, and open, high, low, close, volume as decimals. Also
    `timed`, the times of every row whose time was read, refused rows among them (where the file has bars, for its
    spacing); `refused`, how many problems reading the file found; and `written`, the text of each number too large
    to hold, by line and column (0 to 4: open to volume)."""

    name: str
    layout: Layout
    lines: Ints
    times: Times
    numbers: tuple[Decimals, ...]
    timed: Times
    refused: int
    written: dict[tuple[int, int], str]

    def __len__(self) -> int:
        return len(self.lines)


def parse_file(
    path: Path, name: str, decimal_comma: bool, problems: Problems, progress: Callable[[int], object]
) -> ParsedFile:
    """Read one file, its unreadable lines into `problems` (left out of the result); raises ImportRefusedError for a
    file that cannot be read or whose first line gives no usable layout."""
    layout: Layout | None = None
    parts: list[tuple[Ints, Times, list[Decimals], Times]] = []
    written: dict[tuple[int, int], str] = {}
    before = problems.count
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
        problems.add_rows(name, block.lines, bad & ~long, _describe(fields, times, numbers, first_price, decimal_comma))
        for column, number in enumerate(numbers):
            for row in np.flatnonzero(number.large & ~bad):
                written[int(block.lines[row]), column] = fields[row, first_price + column].decode("latin-1").strip()
        if bad.any():
            keep = ~bad
            lines, kept = block.lines[keep], times.take(keep)
            parts.append((lines, kept, [_take(number, keep) for number in numbers], times.take(~times.bad & ~long)))
        else:
            parts.append((block.lines, times, numbers, times))
    assert layout is not None  # read_blocks refuses a file without a first line
    times = Times.join([part[1] for part in parts])
    return ParsedFile(
        name,
        layout,
        np.concatenate([part[0] for part in parts]) if parts else np.zeros(0, dtype=np.int64),
        times,
        tuple(_join([part[2][i] for part in parts]) for i in range(5)),
        # The same times again only where rows were refused.
        Times.join([part[3] for part in parts]) if problems.count > before else times,
        problems.count - before,
        written,
    )


def _describe(
    fields: npt.NDArray[np.bytes_], times: Times, numbers: list[Decimals], first_price: int, decimal_comma: bool
) -> Callable[[int], str]:
    """Row `row`'s problems: its time's, then its bad numbers by reason (`not a number: open 'null', …`)."""

    def describe(row: int) -> str:
        said = [times.reasons[row]] if times.bad[row] else []
        unread: dict[Unread, list[str]] = {}
        for i, column in enumerate(_COLUMNS):
            if numbers[i].bad[row]:
                text = fields[row, first_price + i].decode("latin-1")
                why = read_one(text, decimal_comma)
                assert isinstance(why, Unread)  # the row's field was read as bad
                unread.setdefault(why, []).append(f"{column} {text!r}")
        said += [f"{why.value}: {', '.join(columns)}" for why, columns in sorted(unread.items(), key=_order)]
        return "; ".join(said)

    return describe


def _order(item: tuple[Unread, list[str]]) -> int:
    return list(Unread).index(item[0])


def _take(number: Decimals, keep: npt.NDArray[np.bool_]) -> Decimals:
    return Decimals(number.digits[keep], number.places[keep], number.bad[keep], number.large[keep])


def _join(parts: list[Decimals]) -> Decimals:
    if not parts:
        empty, none = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.bool_)
        return Decimals(empty, empty, none, none)
    return Decimals(
        np.concatenate([part.digits for part in parts]),
        np.concatenate([part.places for part in parts]),
        np.concatenate([part.bad for part in parts]),
        np.concatenate([part.large for part in parts]),
    )

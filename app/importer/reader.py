"""A CSV file's fields, read in blocks of lines by numpy's C parser (`numpy.loadtxt`), with their line numbers.

The file is read a few megabytes at a time, cut at a line end; each block's lines are split by `loadtxt` into
fixed-width bytes (the columns the layout needs only). A block `loadtxt` refuses (a line with too few fields, an
unbalanced quote) is split again by the standard csv module, line by line, to name each bad line. Empty lines are
skipped; line numbers are the file's own, 1-based.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from app.importer.decimals import Ints
from app.importer.layout import Layout, detect
from app.importer.problems import Problems, refuse

# Bytes read at a time: about 80,000 lines of minute bars, a few megabytes of fields in memory.
BLOCK = 4 << 20
# Longest field kept (a longer one is cut, and refused): an ISO time with microseconds and offset takes 32.
WIDTH = 40
_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True, slots=True)
class Block:
    """Some lines of a file: `fields[i]` holds the layout's columns (`Layout.columns`) of line `lines[i]`."""

    lines: Ints
    fields: npt.NDArray[np.bytes_]


def read_blocks(
    path: Path, name: str, decimal_comma: bool, problems: Problems, progress: Callable[[int], object]
) -> Iterator[tuple[Layout, Block]]:
    """The file's data lines in Blocks, each with the file's Layout; `progress(n)` is told of each n bytes read.
    Raises ImportRefusedError for a file that cannot be read or has no usable first line; lines that cannot be split
    are added to `problems` instead of a Block."""
    try:
        stream = path.open("rb")
    except OSError as error:
        raise refuse(name, f"cannot be read ({error.strerror})") from None
    with stream:
        carry, line, layout = b"", 1, None
        while True:
            chunk = stream.read(BLOCK)
            data = carry + chunk
            if chunk:
                cut = data.rfind(b"\n") + 1
                if cut == 0:
                    carry = data
                    continue
                data, carry = data[:cut], data[cut:]
            if line == 1 and data.startswith(_BOM):
                data = data[len(_BOM) :]
            if b"\0" in data:
                raise refuse(name, "has NUL bytes: not a CSV text file (UTF-16?); save it as UTF-8")
            if layout is None:
                layout, data, line = _header(name, data, line, decimal_comma)
            if layout is not None:
                yield layout, _block(name, data, line, layout, problems)
            line += data.count(b"\n")
            progress(len(chunk))
            if not chunk:
                break
    if layout is None:
        raise refuse(name, "is empty: no header and no bars")


def _header(name: str, data: bytes, line: int, decimal_comma: bool) -> tuple[Layout | None, bytes, int]:
    """The layout from the first non-empty line in `data`; the data lines after it and the number of the first."""
    for text in data.split(b"\n"):
        if text.strip():
            try:
                first = text.decode("utf-8").strip()
            except UnicodeDecodeError:
                raise refuse(name, "is not UTF-8 text", line) from None
            if "\r" in first:
                raise refuse(name, "has lines ending in CR alone (classic Mac OS): save it with LF or CRLF", line)
            layout = detect(name, first, line, decimal_comma)
            if layout.header:
                return layout, data[len(text) + 1 :], line + 1
            return layout, data, line
        line += 1
        data = data[len(text) + 1 :]
    return None, b"", line


def _block(name: str, data: bytes, first: int, layout: Layout, problems: Problems) -> Block:
    """The fields of `data`'s lines (the first is line `first`); a block loadtxt refuses is split by `csv`."""
    lines = _data_lines(data, first)
    if len(lines) == 0:
        return Block(lines, np.zeros((0, len(layout.columns)), dtype=f"S{WIDTH}"))
    try:
        fields = np.loadtxt(
            io.BytesIO(data),
            dtype=f"S{WIDTH}",
            delimiter=layout.delimiter,
            comments=None,
            usecols=layout.columns,
            ndmin=2,
            quotechar='"',
            encoding=None,
        )
    except ValueError:
        return _split(name, data, first, layout, problems)
    if len(fields) != len(lines):
        return _split(name, data, first, layout, problems)
    return Block(lines, fields)


def _data_lines(data: bytes, first: int) -> Ints:
    """The numbers of `data`'s non-empty lines (the lines loadtxt makes rows of), the first being line `first`."""
    if not data:
        return np.zeros(0, dtype=np.int64)
    buffer = np.frombuffer(data, dtype=np.uint8)
    ends = np.flatnonzero(buffer == ord("\n"))
    if len(ends) == 0 or ends[-1] != len(data) - 1:
        ends = np.append(ends, len(data))
    starts = np.concatenate(([0], ends[:-1] + 1))
    lengths = ends - starts - (buffer[np.maximum(ends - 1, 0)] == ord("\r")) * (ends > starts)
    numbers: Ints = first + np.flatnonzero(lengths > 0).astype(np.int64)
    return numbers


def _split(name: str, data: bytes, first: int, layout: Layout, problems: Problems) -> Block:
    """`data` split line by line with the csv module, each line that does not split into the layout's columns
    added to `problems`."""
    rows: list[list[bytes]] = []
    lines: list[int] = []
    for number, text in enumerate(data.decode("latin-1").split("\n"), start=first):
        if not text.strip():
            continue
        try:
            fields = next(csv.reader([text.removesuffix("\r")], delimiter=layout.delimiter, strict=True))
        except csv.Error as error:
            problems.add(name, number, f"cannot be split into fields ({error})")
            continue
        if len(fields) < layout.fields:
            problems.add(
                name, number, f"{len(fields)} field{'s' if len(fields) != 1 else ''} where {layout.fields} are needed"
            )
            continue
        rows.append([fields[column].encode("latin-1") for column in layout.columns])
        lines.append(number)
    return Block(
        np.array(lines, dtype=np.int64), np.array(rows, dtype=f"S{WIDTH}").reshape(len(rows), len(layout.columns))
    )

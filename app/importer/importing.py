"""An import: read, check, then write, or refuse whole.

Every file is read and checked before anything is written; a refusal names the problems (file and line), and the
store is left as it was. The bars of one resolution are written in one transaction; when an
import holds several resolutions of a stored instrument, existing bars are compared first, so that a conflict in
the second cannot follow a write of the first.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo

import numpy as np
from tqdm import tqdm

from app.importer.build import Series, build, price_places, volume_places
from app.importer.instrument import InstrumentFlags, hours_for, new_spec, stored_spec
from app.importer.parse import ParsedFile, parse_file
from app.importer.problems import SHOWN, ImportRefusedError, Problem, Problems
from app.importer.report import outcome, rate, span
from app.importer.times import format_time
from app.importer.zones import Ambiguous
from app.store.base import BarStore, ConflictError, InstrumentSpec, WriteResult


@dataclass(frozen=True, slots=True)
class ImportRequest:
    """What `python -m app import` was asked: files, the symbol, its flags and how to read the times."""

    files: tuple[str, ...]
    symbol: str
    flags: InstrumentFlags
    input_zone: ZoneInfo
    ambiguous: Ambiguous | None = None
    decimal_comma: bool = False
    replace: bool = False


@dataclass(frozen=True, slots=True)
class Imported:
    """What an import did: the series written and what each write did, the rows read, and the seconds spent
    reading the files, checking the rows and writing the bars."""

    symbol: str
    series: list[Series]
    results: list[WriteResult]
    rows: int
    reading: float
    checking: float
    writing: float

    @property
    def seconds(self) -> float:
        return self.reading + self.checking + self.writing

    def summary(self) -> list[str]:
        """`Imported 1,000 rows of AAPL (1) 2024-01-02 14:30 → 2024-01-02 21:09 UTC in 95 ms (…): 1,000 new, …`,
        one line per resolution after the first when there are several."""
        lines = [
            f"{self.symbol} ({item.resolution.value}) {span(int(item.rows.times[0]), int(item.rows.times[-1]))}: "
            f"{outcome(result, item.repeats)}"
            for item, result in zip(self.series, self.results, strict=True)
        ]
        head = f"Imported {self.rows:,} row{'s' if self.rows != 1 else ''} of"
        if len(lines) == 1:
            described, _, written = lines[0].partition(": ")
            return [f"{head} {described} {rate(self.rows, self.seconds)}: {written}"]
        return [f"{head} {self.symbol} {rate(self.rows, self.seconds)}:", *(f"  {line}" for line in lines)]


def import_files(request: ImportRequest, store: BarStore, err: TextIO) -> Imported:
    """Import the request's files into `store`. On `err`, when it is a terminal, what is going on: a progress bar for
    each file as it is read, then `Checking N rows…` and `Writing N bars…`. Raises ImportRefusedError,
    InstrumentError or StoreError, nothing written."""
    started = time.perf_counter()
    problems = Problems()
    parsed = _read(request, err, problems)
    read = time.perf_counter()
    rows = sum(len(file) for file in parsed)
    if err.isatty():
        print(f"Checking {rows:,} row{'s' if rows != 1 else ''}…", file=err, flush=True)
    stored = {item.spec.symbol: item.spec for item in store.instruments()}
    existing = stored.get(request.symbol)
    if existing is None:
        spec = new_spec(request.symbol, request.flags, price_places(parsed), volume_places(parsed))
    else:
        spec = stored_spec(existing, request.flags, volume_places(parsed))
    series = build(parsed, spec, hours_for(spec), request.input_zone, request.ambiguous, problems)
    if problems:
        raise ImportRefusedError(problems)
    if existing is not None and len(series) > 1 and not request.replace:
        _check_conflicts(store, request.symbol, series)
    checked = time.perf_counter()
    if err.isatty():
        bars = sum(len(item.rows) for item in series)
        print(f"Writing {bars:,} bar{'s' if bars != 1 else ''}…", file=err, flush=True)
    if existing is None:
        store.put_instrument(spec)
    results = [_write(store, spec, item, request.replace) for item in series]
    if existing is not None and spec != existing:
        store.put_instrument(spec)
    return Imported(spec.symbol, series, results, rows, read - started, checked - read, time.perf_counter() - checked)


def _read(request: ImportRequest, err: TextIO, problems: Problems) -> list[ParsedFile]:
    """Every file that can be read, parsed, with a progress bar over its bytes on `err` when it is a terminal (left
    on the screen, named by the file); its unreadable lines, and the files that cannot be read, go into
    `problems`."""
    parsed = []
    for name in request.files:
        path = Path(name)
        try:
            size: int | None = path.stat().st_size
        except OSError:
            size = None  # no bar: the refusal says why it cannot be read
        with tqdm(
            total=size,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            desc=path.name,
            file=err,
            disable=size is None or not err.isatty(),
        ) as bar:
            try:
                parsed.append(parse_file(path, name, request.decimal_comma, problems, bar.update))
            except ImportRefusedError as refused:
                problems.merge(refused.problems)
    return parsed


def _check_conflicts(store: BarStore, symbol: str, series: list[Series]) -> None:
    """Raise ImportRefusedError when any series holds a time stored with other values."""
    problems = Problems()
    for item in series:
        rows = item.rows
        stored = store.read_bars(symbol, item.resolution, int(rows.times[0]), int(rows.times[-1]) + 1)
        common, mine, theirs = np.intersect1d(rows.times, stored.times, assume_unique=True, return_indices=True)
        differ = np.zeros(len(common), dtype=np.bool_)
        for column in ("opens", "highs", "lows", "closes", "volumes"):
            differ |= getattr(rows, column)[mine] != getattr(stored, column)[theirs]
        _conflicts(problems, item, [int(t) for t in common[differ]])
    if problems:
        raise ImportRefusedError(problems)


def _conflicts(problems: Problems, item: Series, times: list[int]) -> None:
    """Note each of `times` (UTC seconds) of `item` as stored with other values, by its file and line."""
    at = np.searchsorted(item.rows.times, times)
    problems.add_many(
        len(times),
        (
            Problem(
                item.origin.files[int(item.origin.file_index[i])],
                int(item.origin.lines[i]),
                f"{format_time(int(item.rows.times[i]))} is stored with other values (--replace overwrites them)",
            )
            for i in at[:SHOWN]
        ),
    )


def _write(store: BarStore, spec: InstrumentSpec, item: Series, replace: bool) -> WriteResult:
    try:
        return store.write_bars(spec.symbol, item.resolution, item.rows, replace=replace)
    except ConflictError as conflict:
        problems = Problems()
        _conflicts(problems, item, sorted(conflict.times))
        raise ImportRefusedError(problems) from None

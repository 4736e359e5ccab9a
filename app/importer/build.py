"""Parsed files turned into the bars to store: one series per resolution, in ticks, sorted, checked.

Each file has its own resolution (a command may import a symbol's minute file and its daily file together),
told from the times of every row whose time could be read (a row refused for a number still marks a bar); files
of one resolution are merged. Every problem of every file is gathered before the caller decides: one bad row
refuses the whole import. A file whose spacing is no resolution is said to be so only when none of its rows was
refused: missing rows make any spacing look wrong, and the user is to see their cause, not its echo.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np

from app.importer.decimals import Decimals, Ints
from app.importer.layout import PRICES
from app.importer.limits import EXACT, grouped, largest_price, within
from app.importer.parse import ParsedFile
from app.importer.problems import ImportRefusedError, Problems
from app.importer.resolution import bar_times, detect
from app.importer.ticks import spelled, to_ticks
from app.importer.validate import Origin, check_bars, sort_bars
from app.importer.zones import Ambiguous
from app.market.resolutions import Resolution
from app.market.trading_hours import TradingHours
from app.store.base import BarRows, InstrumentSpec


@dataclass(frozen=True, slots=True)
class Series:
    """The bars of one resolution, where each came from, and how many identical repeated rows were dropped."""

    resolution: Resolution
    rows: BarRows
    origin: Origin
    repeats: int


def price_places(files: list[ParsedFile]) -> int | None:
    """The most decimals any price has (None: no rows)."""
    places = [int(number.places.max()) for file in files if len(file) for number in file.numbers[:4]]
    return max(places) if places else None


def volume_places(files: list[ParsedFile]) -> int:
    """The most decimals any volume has."""
    return max((int(file.numbers[4].places.max()) for file in files if len(file)), default=0)


def build(
    files: list[ParsedFile],
    spec: InstrumentSpec,
    hours: TradingHours,
    zone: ZoneInfo,
    ambiguous: Ambiguous | None,
    problems: Problems,
) -> list[Series]:
    """The series to store, finest first; problems of any row go into `problems`."""
    parts: dict[Resolution, list[tuple[int, BarRows, Ints]]] = {}
    for index, file in enumerate(files):
        if not len(file):
            if not file.refused:
                problems.add(file.name, 0, "has a header but no bars")
            # Else its lines are named already, and no rows are left to tell a resolution.
            continue
        try:
            resolution = detect(file.name, file.timed)
        except ImportRefusedError as refused:
            if not file.refused:
                problems.merge(refused.problems)
            continue
        times, ok = bar_times(file.name, file.lines, file.times, resolution, hours, zone, ambiguous, problems)
        ticks = []
        for column, number in enumerate(file.numbers[:4]):
            column_ticks, held, on_grid = to_ticks(number, spec.pricescale)
            problems.add_rows(file.name, file.lines, ok & ~held, _out_of_range(file, column, spec.pricescale))
            ok &= held
            problems.add_rows(file.name, file.lines, ok & ~on_grid, _off_grid(file, column, spec.pricescale))
            ok &= on_grid
            ticks.append(column_ticks)
        volume = file.numbers[4]
        too_large = (volume.digits > 0) & ~within(volume, EXACT)
        problems.add_rows(file.name, file.lines, ok & too_large, _volume_too_large(file))
        ok &= ~too_large
        volumes = volume.floats()
        prices = (ticks[0], ticks[1], ticks[2], ticks[3])
        ok &= check_bars(file.name, file.lines, prices, volumes, ok, _values(file), problems)
        keep = slice(None) if ok.all() else ok
        rows = BarRows(times[keep], ticks[0][keep], ticks[1][keep], ticks[2][keep], ticks[3][keep], volumes[keep])
        parts.setdefault(resolution, []).append((index, rows, file.lines[keep]))
    names = tuple(file.name for file in files)
    series = []
    for resolution in sorted(parts, key=lambda r: list(Resolution).index(r)):
        found = parts[resolution]
        merged = _concatenated([rows for _, rows, _ in found])
        origin = Origin(
            names,
            np.concatenate([np.full(len(rows), index, dtype=np.int64) for index, rows, _ in found]),
            np.concatenate([lines for _, _, lines in found]),
        )
        rows, origin, repeats = sort_bars(merged, origin, problems)
        series.append(Series(resolution, rows, origin, repeats))
    return series


def _concatenated(parts: list[BarRows]) -> BarRows:
    """The rows of `parts` one after the other (the one part itself when there is one)."""
    if len(parts) == 1:
        return parts[0]
    return BarRows(
        np.concatenate([rows.times for rows in parts]),
        np.concatenate([rows.opens for rows in parts]),
        np.concatenate([rows.highs for rows in parts]),
        np.concatenate([rows.lows for rows in parts]),
        np.concatenate([rows.closes for rows in parts]),
        np.concatenate([rows.volumes for rows in parts]),
    )


def _field(file: ParsedFile, column: int, i: int) -> str:
    """Row i's number in `column` (0 to 4: open to volume) as written, less trailing zeros."""
    number: Decimals = file.numbers[column]
    if number.large[i]:
        return file.written[int(file.lines[i]), column]
    return spelled(int(number.digits[i]), int(number.places[i]))


def _out_of_range(file: ParsedFile, column: int, pricescale: int) -> Callable[[int], str]:
    def said(i: int) -> str:
        largest = f"{largest_price(pricescale)} at pricescale {pricescale} (2**53 ticks)"
        if file.numbers[column].digits[i] < 0:
            return f"{PRICES[column]} {_field(file, column, i)} is too small: at least -{largest}"
        return f"{PRICES[column]} {_field(file, column, i)} is too large: at most {largest}"

    return said


def _off_grid(file: ParsedFile, column: int, pricescale: int) -> Callable[[int], str]:
    return lambda i: (
        f"{PRICES[column]} {_field(file, column, i)} is not a multiple of the tick 1/{pricescale} (pricescale"
        f" {pricescale})"
    )


def _volume_too_large(file: ParsedFile) -> Callable[[int], str]:
    return lambda i: (
        f"volume {_field(file, 4, i)} is too large: at most {grouped(EXACT, 0)} (2**53: a double holds every whole"
        " volume up to it)"
    )


def _values(file: ParsedFile) -> Callable[[int], str]:
    """Row i's values as written, for a message."""
    return lambda i: ", ".join(f"{column} {_field(file, c, i)}" for c, column in enumerate((*PRICES, "volume")))

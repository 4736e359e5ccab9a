"""Running an import as the command does, and reading back what it stored."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from app.importer.importing import Imported, ImportRequest, import_files
from app.importer.instrument import InstrumentFlags
from app.importer.problems import ImportRefusedError
from app.importer.zones import Ambiguous
from app.market.resolutions import Resolution
from app.store.base import BarRows, BarStore

# Far enough for every bar of these tests.
END = 2**40
# The `write` fixture: write(text, name="bars.csv") -> the path of a new file holding `text`.
Write = Callable[..., Path]


def run_import(
    store: BarStore,
    *files: Path,
    symbol: str = "ACME",
    flags: InstrumentFlags | None = None,
    input_zone: str = "UTC",
    ambiguous: Ambiguous | None = None,
    decimal_comma: bool = False,
    replace: bool = False,
) -> Imported:
    """Import `files` into `store` as `python -m app import` does."""
    request = ImportRequest(
        tuple(str(path) for path in files),
        symbol,
        flags or InstrumentFlags(),
        ZoneInfo(input_zone),
        ambiguous,
        decimal_comma,
        replace,
    )
    return import_files(request, store, io.StringIO())


def refused(store: BarStore, *files: Path, **options: object) -> str:
    """The refusal of an import that must be refused, with the files' directory left out of their names."""
    with pytest.raises(ImportRefusedError) as raised:
        run_import(store, *files, **options)  # type: ignore[arg-type]
    return str(raised.value).replace(f"{files[0].parent}/", "")


def stored(store: BarStore, resolution: Resolution, symbol: str = "ACME") -> BarRows:
    """Every stored bar of `symbol` at `resolution`."""
    return store.read_bars(symbol, resolution, -END, END)


def as_lists(rows: BarRows) -> list[tuple[int, int, int, int, int, float]]:
    """Rows as (time, open, high, low, close, volume) tuples, for comparing with expected values."""
    return [
        (int(t), int(o), int(h), int(low), int(c), float(v))
        for t, o, h, low, c, v in zip(
            rows.times, rows.opens, rows.highs, rows.lows, rows.closes, rows.volumes, strict=True
        )
    ]

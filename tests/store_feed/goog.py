"""GOOG's daily bars as the `backtesting` package ships them (backtesting/test/GOOG.csv, 2004-08-19 to 2013-03-01),
imported into a store as `python -m app import` does, and the same file with rows changed, for a `--replace`."""

from __future__ import annotations

import io
from collections.abc import Callable
from importlib.resources import as_file, files
from pathlib import Path
from zoneinfo import ZoneInfo

from app.importer.importing import Imported, ImportRequest, import_files
from app.importer.instrument import InstrumentFlags
from app.market.instruments import AssetClass
from app.store.open import open_store

# The file's row of 2010-01-04 (its close 626.75) and that day (UTC seconds).
JAN_4_2010 = "2010-01-04,626.95,629.51,624.24,626.75,1956200"
JAN_4_2010_TIME = 1_262_563_200


def goog_csv(folder: Path, change: Callable[[str], str] = lambda text: text) -> Path:
    """A copy of the shipped GOOG.csv in `folder`, its text passed through `change` (nothing is copied into the
    repository)."""
    with as_file(files("backtesting") / "test" / "GOOG.csv") as shipped:
        text = shipped.read_text()
    path = folder / "GOOG.csv"
    path.write_text(change(text))
    return path


def import_goog(url: str, path: Path, *, replace: bool = False, symbol: str = "GOOG") -> Imported:
    """Import `path` as `symbol` (a NASDAQ stock) into the store at `url` (migrated first), as the command does."""
    store = open_store(url)
    try:
        store.migrate()
        request = ImportRequest(
            (str(path),), symbol, InstrumentFlags(asset_class=AssetClass.STOCK), ZoneInfo("UTC"), replace=replace
        )
        return import_files(request, store, io.StringIO())
    finally:
        store.close()

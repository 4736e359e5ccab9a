"""The real OHLCV files the `backtesting` package ships (daily GOOG, hourly EURUSD, monthly BTCUSD), imported and
read back exactly: every price in ticks as its decimal says, every volume as its decimal's nearest double."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from importlib.resources import as_file, files
from pathlib import Path

import pytest

from app.importer.instrument import InstrumentFlags
from app.market.instruments import AssetClass
from app.market.resolutions import Resolution
from app.store.base import BarStore
from tests.importer.helpers import as_lists, run_import, stored


@contextmanager
def shipped(name: str) -> Iterator[Path]:
    """A CSV file of the backtesting package, where it is installed (nothing is copied into the repository)."""
    with as_file(files("backtesting") / "test" / name) as path:
        yield path


def expected(path: Path, pricescale: int, stamp: Callable[[str], int]) -> list[tuple[int, int, int, int, int, float]]:
    """The file's rows as the store must hold them, read with the csv module and Decimal."""

    def ticks(text: str) -> int:
        scaled = Decimal(text) * pricescale
        assert scaled == scaled.to_integral_value(), text
        return int(scaled)

    with path.open(newline="") as stream:
        rows = list(csv.DictReader(stream))
    return [
        (
            stamp(row[""]),
            ticks(row["Open"]),
            ticks(row["High"]),
            ticks(row["Low"]),
            ticks(row["Close"]),
            float(row["Volume"]),
        )
        for row in rows
    ]


def utc(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp())


def first_of_month(text: str) -> int:
    return utc(date.fromisoformat(text).replace(day=1).isoformat())


@pytest.mark.parametrize(
    ("name", "asset_class", "resolution", "pricescale", "stamp", "count"),
    [
        ("GOOG.csv", AssetClass.STOCK, Resolution.DAY, 100, utc, 2148),
        ("EURUSD.csv", AssetClass.FOREX, Resolution.H1, 100_000, utc, 5000),
        # Month ends, as pandas resamples: each bar is stamped on its month's first trading day (every day for crypto).
        ("BTCUSD.csv", AssetClass.CRYPTO, Resolution.MONTH, 100, first_of_month, 156),
    ],
)
def test_shipped_files_read_back_exactly(
    store: BarStore,
    name: str,
    asset_class: AssetClass,
    resolution: Resolution,
    pricescale: int,
    stamp: Callable[[str], int],
    count: int,
) -> None:
    symbol = name.removesuffix(".csv")
    with shipped(name) as path:
        imported = run_import(store, path, symbol=symbol, flags=InstrumentFlags(asset_class=asset_class))
        want = expected(path, pricescale, stamp)
    assert imported.rows == count
    (instrument,) = store.instruments()
    assert (instrument.spec.pricescale, instrument.resolutions) == (pricescale, (resolution,))
    assert as_lists(stored(store, resolution, symbol)) == want
    again = run_import(store, path, symbol=symbol)
    assert again.summary()[0].endswith(f": 0 new, {count:,} unchanged, 0 replaced")

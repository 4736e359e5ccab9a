"""Both engines, through the BarStore interface: instruments and bars round-trip exactly, writes count what they did,
refuse conflicts and bad rows whole, and the revision moves with every change."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest

from app.market.instruments import AssetClass
from app.market.resolutions import Resolution
from app.store.base import BarRows, BarStore, ConflictError, StoredInstrument, StoreError, WriteResult
from app.store.open import open_store
from app.store.rows import CHUNK, selected
from tests.store_fixtures import sample_rows, stock_spec

START = 1_767_225_600  # 2026-01-01 00:00 UTC
M1 = Resolution.M1


def assert_same(rows: BarRows, expected: BarRows) -> None:
    assert rows.times.dtype == np.int64
    assert rows.volumes.dtype == np.float64
    for name in ("times", "opens", "highs", "lows", "closes", "volumes"):
        assert getattr(rows, name).tolist() == getattr(expected, name).tolist(), name


def everything(store: BarStore, resolution: Resolution = M1) -> BarRows:
    return store.read_bars("ACME", resolution, 0, 2**62)


def with_closes(rows: BarRows, at: list[int], delta: int) -> BarRows:
    """`rows` whose bars at positions `at` close `delta` ticks higher (highs raised to stay consistent)."""
    closes, highs = rows.closes.copy(), rows.highs.copy()
    closes[at] += delta
    highs[at] = np.maximum(highs[at], closes[at])
    return BarRows(rows.times, rows.opens, highs, rows.lows, closes, rows.volumes)


@pytest.fixture
def acme(store: BarStore) -> BarStore:
    store.put_instrument(stock_spec("ACME"))
    return store


def test_migrate_again_changes_nothing(acme: BarStore) -> None:
    acme.write_bars("ACME", M1, sample_rows(START, 10))
    revision = acme.revision()
    acme.migrate()
    assert acme.revision() == revision
    assert len(everything(acme)) == 10


def test_a_fresh_store_is_empty(store: BarStore) -> None:
    assert store.instruments() == []
    assert store.revision() == 0
    assert len(store.read_bars("ACME", M1, 0, 2**62)) == 0
    assert len(store.read_last("ACME", M1, 2**62, 10)) == 0


def test_instruments_round_trip_and_a_second_put_replaces_the_description(store: BarStore) -> None:
    coin = stock_spec(
        "ZEC",
        asset_class=AssetClass.CRYPTO,
        exchange="CRYPTO",
        timezone="Etc/UTC",
        session="24x7",
        pricescale=10_000,
        minmov=5,
        volume_precision=4,
        currency="USDT",
    )
    store.put_instrument(coin)
    store.put_instrument(stock_spec("ACME"))
    assert store.instruments() == [StoredInstrument(stock_spec("ACME"), (), {}), StoredInstrument(coin, (), {})]

    store.write_bars("ACME", M1, sample_rows(START, 5))
    renamed = stock_spec("ACME", description="Acme Anvils Inc.", exchange="NYSE")
    store.put_instrument(renamed)
    (acme, _) = store.instruments()
    assert acme.spec == renamed
    assert len(everything(store)) == 5


def test_bars_round_trip_exactly(acme: BarStore) -> None:
    rows = sample_rows(START, 1_000)
    assert acme.write_bars("ACME", M1, rows) == WriteResult(inserted=1_000, unchanged=0, replaced=0)
    assert_same(everything(acme), rows)
    # [start, end): the bar at `end` is left out.
    part = acme.read_bars("ACME", M1, START + 60 * 10, START + 60 * 20)
    assert part.times.tolist() == rows.times[10:20].tolist()
    assert len(acme.read_bars("ACME", Resolution.M5, 0, 2**62)) == 0
    assert len(acme.read_bars("OTHER", M1, 0, 2**62)) == 0


def test_spans_per_resolution_finest_first(acme: BarStore) -> None:
    acme.write_bars("ACME", Resolution.DAY, sample_rows(START, 3, step=86_400))
    acme.write_bars("ACME", M1, sample_rows(START + 600, 10))
    acme.write_bars("ACME", M1, sample_rows(START, 5))
    (stored,) = acme.instruments()
    assert stored.resolutions == (M1, Resolution.DAY)
    assert stored.spans == {M1: (START, START + 600 + 9 * 60), Resolution.DAY: (START, START + 2 * 86_400)}


def test_rewriting_counts_unchanged_and_new_rows(acme: BarStore) -> None:
    rows = sample_rows(START, 100)
    acme.write_bars("ACME", M1, selected(rows, np.arange(100) < 60))
    assert acme.write_bars("ACME", M1, rows) == WriteResult(inserted=40, unchanged=60, replaced=0)
    assert acme.write_bars("ACME", M1, rows) == WriteResult(inserted=0, unchanged=100, replaced=0)
    assert_same(everything(acme), rows)


def test_a_conflict_names_its_times_and_writes_nothing(acme: BarStore) -> None:
    rows = sample_rows(START, 100)
    acme.write_bars("ACME", M1, selected(rows, np.arange(100) < 60))
    revision = acme.revision()
    (before,) = acme.instruments()
    changed = with_closes(rows, [3, 30, 59], 1)

    with pytest.raises(ConflictError) as conflict:
        acme.write_bars("ACME", M1, changed)

    assert conflict.value.times == [START + 3 * 60, START + 30 * 60, START + 59 * 60]
    assert (conflict.value.symbol, conflict.value.resolution) == ("ACME", M1)
    # Not even the 40 new rows: all or nothing.
    assert_same(everything(acme), selected(rows, np.arange(100) < 60))
    assert acme.instruments() == [before]
    assert acme.revision() == revision


def test_replace_overwrites_conflicting_rows(acme: BarStore) -> None:
    rows = sample_rows(START, 100)
    acme.write_bars("ACME", M1, selected(rows, np.arange(100) < 60))
    changed = with_closes(rows, [3, 30, 59], 7)
    assert acme.write_bars("ACME", M1, changed, replace=True) == WriteResult(inserted=40, unchanged=57, replaced=3)
    assert_same(everything(acme), changed)


def test_a_large_write_of_new_and_replaced_rows_round_trips_exactly(acme: BarStore) -> None:
    # More rows than one chunk holds, a count that fills no whole number of statements, and more replaced rows than one
    # statement holds, interleaved with the new ones.
    rows = sample_rows(START, CHUNK + 1_234)
    index = np.arange(len(rows))
    acme.write_bars("ACME", M1, selected(rows, index % 3 != 0))
    changed = with_closes(rows, index[(index % 3 == 1) & (index < 1_000)].tolist(), 5)
    written = acme.write_bars("ACME", M1, changed, replace=True)
    assert written == WriteResult(inserted=22_257, unchanged=44_180, replaced=333)
    assert_same(everything(acme), changed)
    (stored,) = acme.instruments()
    assert stored.spans == {M1: (START, START + 60 * (CHUNK + 1_233))}


def test_a_volume_that_differs_in_the_last_bit_is_a_conflict(acme: BarStore) -> None:
    rows = sample_rows(START, 3)
    acme.write_bars("ACME", M1, rows)
    volumes = rows.volumes.copy()
    volumes[1] = np.nextafter(volumes[1], np.inf)
    with pytest.raises(ConflictError) as conflict:
        acme.write_bars("ACME", M1, BarRows(rows.times, rows.opens, rows.highs, rows.lows, rows.closes, volumes))
    assert conflict.value.times == [START + 60]


def test_read_last(acme: BarStore) -> None:
    rows = sample_rows(START, 50)
    acme.write_bars("ACME", M1, rows)
    assert_same(
        acme.read_last("ACME", M1, START + 60 * 30, 10), selected(rows, (np.arange(50) >= 20) & (np.arange(50) < 30))
    )
    assert_same(acme.read_last("ACME", M1, 2**62, 500), rows)
    assert len(acme.read_last("ACME", M1, 2**62, 0)) == 0
    assert len(acme.read_last("ACME", M1, START, 10)) == 0


def test_revision_moves_with_every_change_only(acme: BarStore) -> None:
    seen = [acme.revision()]
    rows = sample_rows(START, 10)
    acme.write_bars("ACME", M1, rows)
    seen.append(acme.revision())
    acme.write_bars("ACME", M1, rows)
    assert acme.revision() == seen[-1], "a write that changed nothing leaves the revision"
    acme.write_bars("ACME", M1, with_closes(rows, [0], 1), replace=True)
    seen.append(acme.revision())
    acme.put_instrument(stock_spec("ACME", description="renamed"))
    seen.append(acme.revision())
    assert len(set(seen)) == len(seen)


def test_an_unknown_symbol_is_refused(acme: BarStore) -> None:
    with pytest.raises(StoreError, match="unknown instrument 'NOPE'") as refused:
        acme.write_bars("NOPE", M1, sample_rows(START, 3))
    assert not isinstance(refused.value, ConflictError)
    assert [stored.spec.symbol for stored in acme.instruments()] == ["ACME"]


def test_an_empty_write_does_nothing(acme: BarStore) -> None:
    revision = acme.revision()
    assert acme.write_bars("ACME", M1, BarRows.empty()) == WriteResult(0, 0, 0)
    assert acme.revision() == revision


def bad(rows: BarRows, **columns: Any) -> BarRows:
    return dataclasses.replace(rows, **columns)


ROWS = sample_rows(START, 5)


@pytest.mark.parametrize(
    ("rows", "reason"),
    [
        (
            bad(ROWS, times=ROWS.times[[0, 2, 1, 3, 4]]),
            r"bar 3 of 5 \(time 1767225660 = 2026-01-01 00:01:00 UTC\).*not after",
        ),
        (bad(ROWS, times=ROWS.times[[0, 1, 1, 3, 4]]), "bar 3 of 5.*not after"),
        (bad(ROWS, times=ROWS.times[:4]), "equal length"),
        (bad(ROWS, closes=ROWS.closes.astype(np.float64)), "must be integers"),
        (bad(ROWS, lows=ROWS.lows.copy() + np.array([0, 0, 0, 0, 10_000])), "bar 5 of 5.*low is above"),
        (bad(ROWS, highs=ROWS.highs - 10_000), "bar 1 of 5.*high is below"),
        (bad(ROWS, volumes=np.array([1.0, -1.0, 1.0, 1.0, 1.0])), "bar 2 of 5.*volume"),
        (bad(ROWS, volumes=np.array([1.0, 1.0, np.nan, 1.0, 1.0])), "bar 3 of 5.*volume"),
    ],
)
def test_bad_rows_are_refused_whole(acme: BarStore, rows: BarRows, reason: str) -> None:
    revision = acme.revision()
    with pytest.raises(StoreError, match=reason):
        acme.write_bars("ACME", M1, rows)
    assert len(everything(acme)) == 0
    assert acme.revision() == revision


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"symbol": ""}, "empty"),
        ({"symbol": " ACME"}, "spaces"),
        ({"pricescale": 0}, "pricescale"),
        ({"minmov": 0}, "minmov"),
        ({"asset_class": "bond"}, "unknown type 'bond'"),
    ],
)
def test_bad_instruments_are_refused(store: BarStore, changes: dict[str, Any], reason: str) -> None:
    with pytest.raises(StoreError, match=reason):
        store.put_instrument(stock_spec(**changes))
    assert store.instruments() == []


def test_a_closed_store_refuses_calls(store_url: str) -> None:
    closed = open_store(store_url)
    closed.migrate()
    closed.close()
    with pytest.raises(StoreError, match="closed"):
        closed.instruments()

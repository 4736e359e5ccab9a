"""Both engines record, per series, the writes that changed it other than by appending bars after its last one (a
replaced bar, a bar added before the last): how many, and from which bar time, so that a reader holding bars in
memory knows what to read again. Appends, which ingest writes every minute, record nothing."""

from __future__ import annotations

from app.market.resolutions import Resolution
from app.store.base import BarStore, Rewrites
from app.store.replay_rows import concat
from app.store.rows import selected
from tests.store.test_bars import with_closes
from tests.store_fixtures import sample_rows, stock_spec

START = 1_767_225_600  # 2026-01-01 00:00 UTC
M1 = Resolution.M1


def rewrites(store: BarStore, resolution: Resolution = M1) -> Rewrites | None:
    (instrument,) = store.instruments()
    return instrument.rewrites.get(resolution)


def test_appends_record_no_rewrite(store: BarStore) -> None:
    store.put_instrument(stock_spec())
    rows = sample_rows(START, 20)
    store.write_bars("ACME", M1, selected(rows, rows.times < START + 600))
    store.write_bars("ACME", M1, selected(rows, rows.times >= START + 600))
    # Writing bars already stored with the same values changes nothing.
    store.write_bars("ACME", M1, rows)
    assert rewrites(store) is None


def test_each_replace_or_insert_before_the_last_bar_is_recorded_with_its_earliest_time(store: BarStore) -> None:
    store.put_instrument(stock_spec())
    rows = sample_rows(START, 20)
    gap = (rows.times >= START + 300) & (rows.times < START + 480)
    store.write_bars("ACME", M1, selected(rows, ~gap))
    assert rewrites(store) is None
    # Bars 7 and 12 replaced, with a bar appended at the end in the same write.
    later = sample_rows(START + 20 * 60, 1, seed=9)
    changed = with_closes(selected(rows, ~gap), [7, 12], 3)
    store.write_bars("ACME", M1, concat([changed, later]), replace=True)
    assert rewrites(store) == Rewrites(count=1, latest=int(changed.times[7]), earliest=int(changed.times[7]))
    # The gap filled (minutes 5 to 7), after the latest rewrite from a later time.
    store.write_bars("ACME", M1, selected(rows, gap))
    assert rewrites(store) == Rewrites(count=2, latest=START + 300, earliest=START + 300)
    store.write_bars("ACME", M1, with_closes(selected(rows, rows.times >= START + 900), [0], 5), replace=True)
    assert rewrites(store) == Rewrites(count=3, latest=START + 900, earliest=START + 300)
    # Other series are not touched.
    store.write_bars("ACME", Resolution.DAY, sample_rows(START, 2, step=86_400))
    assert rewrites(store, Resolution.DAY) is None


def test_a_reader_reads_again_from_the_latest_rewrite_or_from_the_earliest_after_several() -> None:
    rewrites = Rewrites(count=3, latest=900, earliest=300)
    assert rewrites.since(3) is None
    assert rewrites.since(2) == 900
    assert rewrites.since(1) == 300
    assert rewrites.since(0) == 300

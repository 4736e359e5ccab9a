"""The newest bars a stored feed keeps per topic: what a window covers, how a fresher read replaces its tail, and
the bounds on what is kept."""

from __future__ import annotations

import numpy as np

from app.market.aggregate import TickColumns
from app.market.resolutions import Resolution
from app.store.live import NewestBars, Window


def bars(*times: int, close: int = 0) -> TickColumns:
    stamps = np.array(times, dtype=np.int64)
    ticks = np.full(len(times), close, dtype=np.int64)
    return TickColumns(stamps, ticks, ticks, ticks, ticks, np.ones(len(times)))


def test_a_window_covers_requests_from_its_start_on() -> None:
    window = Window(100, bars(100, 160, 220, 280))
    assert window.covers(160, 300, 0)
    assert window.between(160, 300, 0).times.tolist() == [160, 220, 280]
    # count_back reaches back into the window...
    assert window.covers(400, 400, 3)
    assert window.between(400, 400, 3).times.tolist() == [160, 220, 280]
    # ...but not before its start, where the store may hold more.
    assert not window.covers(400, 400, 5)
    assert not window.covers(40, 300, 0)


def test_a_fresher_read_replaces_the_bars_from_its_start() -> None:
    window = Window(100, bars(100, 160, 220, close=1))
    merged = window.merged(Window(160, bars(160, 220, 280, close=2)))
    assert (merged.start, merged.bars.times.tolist(), merged.bars.closes.tolist()) == (
        100,
        [100, 160, 220, 280],
        [1, 2, 2, 2],
    )
    assert window.merged(Window(40, bars(60))).bars.times.tolist() == [60]
    # A reload begins a period before the newest bar (a week whose first day moved earlier is read again).
    assert window.tail_start(60) == 160
    assert Window(100, bars()).tail_start(60) == 100


def test_newest_bars_keep_a_bounded_depth_and_number_of_topics() -> None:
    newest = NewestBars(depth=2, topics=2)
    newest.offer(("A", Resolution.M1), Window(0, bars(0, 60, 120)))
    held = newest.get(("A", Resolution.M1))
    assert held is not None
    assert (held.start, held.bars.times.tolist()) == (60, [60, 120])
    newest.offer(("B", Resolution.M1), Window(0, bars(0)))
    newest.get(("A", Resolution.M1))
    newest.offer(("C", Resolution.M1), Window(0, bars(0)))
    # B was used least recently.
    assert newest.get(("B", Resolution.M1)) is None
    newest.refresh({("C", Resolution.M1): Window(0, bars(0, 60))}, set())
    assert newest.get(("A", Resolution.M1)) is None
    assert set(newest.tails()) == {("C", Resolution.M1)}
    # A symbol whose session changed keeps only its reloaded tail.
    newest.refresh({("C", Resolution.M1): Window(60, bars(60, close=5))}, {"C"})
    held = newest.get(("C", Resolution.M1))
    assert held is not None
    assert (held.start, held.bars.times.tolist(), held.bars.closes.tolist()) == (60, [60], [5])

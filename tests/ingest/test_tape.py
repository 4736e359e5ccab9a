"""The bars a tape builds from trades, against the rules: minute bars straight from the trades (open and close by
time, equal times in arrival order), every coarser bar exactly as history aggregates the stored bars it is made of
(float volumes included), no bar for a period without trades, a bar closed by the clock alone, and a tape made again
mid-period (a restart) finishing the same bars."""

from __future__ import annotations

from collections import defaultdict
from itertools import pairwise

import numpy as np
import pytest

from app.market.aggregate import ORDER, TickColumns, aggregate, source_for
from app.market.grid import grid_for
from app.market.levels import MINUTE
from app.market.resolutions import DAY, Resolution
from app.market.sessions import trading_hours
from app.market.tape import Tape
from app.market.trades import Trades, period_end
from app.market.trading_hours import TradingHours

CRYPTO = trading_hours("24x7", "Etc/UTC")
STOCK = trading_hours("0930-1600", "America/New_York", exchange_holidays=True)
# Thursday 2026-02-26 14:00 UTC (09:00 in New York: before the stock session's open).
START = 1_772_114_400
SCALE = 10_000


def nothing_stored(resolution: Resolution, start: int, end: int) -> TickColumns:
    return TickColumns.empty()


def random_trades(seed: int, days: int) -> tuple[Trades, list[slice]]:
    """Trades in bursts over `days` days from START with quiet hours between them, ascending by time (one in ten
    sharing the time of the one before), cut into batches; each batch in its own arrival order (shuffled)."""
    rng = np.random.default_rng(seed)
    bursts = rng.uniform(START, START + days * DAY, 30)
    moments = np.concatenate([burst + np.cumsum(rng.exponential(15.0, rng.integers(5, 150))) for burst in bursts])
    times = np.sort((moments * 1000).astype(np.int64))
    repeat = rng.random(len(times)) < 0.1
    repeat[0] = False
    times = np.maximum.accumulate(np.where(repeat, np.roll(times, 1), times))
    cuts = np.unique(np.concatenate(([0], rng.integers(0, len(times), len(times) // 25), [len(times)])))
    batches = [slice(int(a), int(b)) for a, b in pairwise(cuts)]
    arrival = np.concatenate([part.start + rng.permutation(part.stop - part.start) for part in batches])
    ticks = 10_000 + np.cumsum(rng.integers(-5, 6, len(times)))
    units = rng.integers(1, 50_000, len(times))
    return Trades(times[arrival], ticks[arrival].astype(np.int64), units[arrival].astype(np.int64)), batches


def minute_bars(hours: TradingHours, posted: Trades) -> TickColumns:
    """1-minute bars made straight from trades in arrival order: open and close by time, ties by arrival."""
    grid = grid_for(hours, MINUTE)
    groups: defaultdict[int, list[tuple[int, int, int, int]]] = defaultdict(list)
    rows = zip(posted.times.tolist(), posted.ticks.tolist(), posted.units.tolist(), strict=True)
    for arrival, (time, tick, unit) in enumerate(rows):
        groups[grid.bounds(grid.index(time / 1000))[0]].append((time, arrival, tick, unit))
    bars = []
    for stamp in sorted(groups):
        ticks = [tick for _, _, tick, _ in sorted(groups[stamp])]
        volume = sum(unit for *_, unit in groups[stamp]) / SCALE
        bars.append((stamp, ticks[0], max(ticks), min(ticks), ticks[-1], volume))
    times, opens, highs, lows, closes, volumes = (np.array(column) for column in zip(*bars, strict=True))
    return TickColumns(times, opens, highs, lows, closes, volumes.astype(np.float64))


def trades(times: list[int], ticks: list[int], units: list[int]) -> Trades:
    """Trades in arrival order (times in ms)."""
    return Trades.in_order(*(np.array(values, dtype=np.int64) for values in (times, ticks, units)))


def play(tape: Tape, posted: Trades, batches: list[slice]) -> None:
    """Post each batch as the server applies it: the clock at the batch's oldest trade, the batch in time order."""
    for part in batches:
        tape.advance(int(posted.times[part].min()) / 1000)
        tape.add(Trades.in_order(posted.times[part], posted.ticks[part], posted.units[part]))


def same(made: TickColumns, expected: TickColumns) -> None:
    """Equal bars, exactly (volumes as floats too)."""
    for name in ("times", "opens", "highs", "lows", "closes", "volumes"):
        assert getattr(made, name).tolist() == getattr(expected, name).tolist(), name


def history(hours: TradingHours, stored: dict[Resolution, TickColumns], resolution: Resolution) -> TickColumns:
    """The bars history serves at `resolution` from the `stored` ones (as the store's reads make them)."""
    source = source_for(stored, resolution)
    assert source is not None
    return aggregate(hours, source, resolution, stored[source])


@pytest.mark.parametrize("hours", [CRYPTO, STOCK], ids=["24x7", "stock"])
@pytest.mark.parametrize("seed", [1, 2])
def test_minute_bars_come_from_the_trades_and_coarser_ones_as_history_makes_them(
    hours: TradingHours, seed: int
) -> None:
    posted, batches = random_trades(seed, days=40)
    tape = Tape(hours, SCALE, (), START, nothing_stored)
    play(tape, posted, batches)
    # Long after the last trade every bar has closed, by the clock alone.
    tape.advance(START + 120 * DAY)
    minutes = minute_bars(hours, posted)
    same(tape.bars(MINUTE), minutes)
    closed = tape.take_closed()
    assert closed is not None
    assert set(closed.bars) == {MINUTE}
    same(closed.bars[MINUTE], minutes)
    for resolution in ORDER[1:]:
        same(tape.bars(resolution), history(hours, {MINUTE: minutes}, resolution))


def test_written_coarser_resolutions_are_made_of_finer_written_ones() -> None:
    """An instrument with daily bars stored gets its days written too, and weeks and months made of them."""
    posted, batches = random_trades(3, days=70)
    tape = Tape(CRYPTO, SCALE, (Resolution.DAY,), START, nothing_stored)
    play(tape, posted, batches)
    tape.advance(START + 150 * DAY)
    closed = tape.take_closed()
    assert closed is not None
    assert set(closed.bars) == {MINUTE, Resolution.DAY}
    minutes = minute_bars(CRYPTO, posted)
    days = aggregate(CRYPTO, MINUTE, Resolution.DAY, minutes)
    same(closed.bars[Resolution.DAY], days)
    stored = {MINUTE: minutes, Resolution.DAY: closed.bars[Resolution.DAY]}
    for resolution in ORDER[1:]:
        same(tape.bars(resolution), history(CRYPTO, stored, resolution))


def test_forming_bars_hold_the_trades_so_far_and_close_when_their_period_ends() -> None:
    tape = Tape(CRYPTO, SCALE, (), START, nothing_stored)
    ms = START * 1000
    # Equal times: the first to arrive opens, the last to arrive closes.
    tape.add(trades([ms + 5, ms + 5, ms + 9], [101, 99, 103], [1, 2, 3]))
    tape.add(trades([ms + 1, ms + 9], [100, 98], [4, 5]))
    for resolution in ORDER:
        bars = tape.bars(resolution)
        # A week or month is stamped at its first trading day by the calendar (a 24x7 one's: Monday, the 1st).
        grid = grid_for(CRYPTO, resolution)
        stamp = grid.stamp(grid.index(START))
        got = (bars.times, bars.opens, bars.highs, bars.lows, bars.closes, bars.volumes)
        assert [column.tolist() for column in got] == [[stamp], [100], [103], [98], [98], [0.0015]]
    assert tape.floor() == ms
    # The minute ends: its bar is final and goes to the store; the next minute has no trade, so no bar.
    tape.advance(START + 60)
    assert tape.floor() == ms + 60_000
    closed = tape.take_closed()
    assert closed is not None
    assert closed.bars[MINUTE].times.tolist() == [START]
    assert tape.bars(MINUTE).times.tolist() == [START]
    tape.advance(START + 600)
    assert tape.take_closed() is None
    assert tape.bars(MINUTE).times.tolist() == [START]
    # Once the store shows them, the tape forgets the closed bars.
    tape.seen(START + 600)
    assert not len(tape.bars(MINUTE))
    assert not len(tape.bars(Resolution.M5))
    assert tape.bars(Resolution.H1).times.tolist() == [START]
    with pytest.raises(ValueError, match="older than the forming minute"):
        tape.add(trades([ms + 30_000], [100], [1]))


def test_a_tape_made_again_mid_period_finishes_the_same_bars() -> None:
    """A restart: the bars already written are read back, and the tape goes on where the first one stopped."""
    posted, batches = random_trades(4, days=40)
    whole = Tape(CRYPTO, SCALE, (), START, nothing_stored)
    play(whole, posted, batches)
    whole.advance(START + 120 * DAY)
    half = len(batches) // 2
    first = Tape(CRYPTO, SCALE, (), START, nothing_stored)
    play(first, posted, batches[:half])
    cut = int(posted.times[batches[half].start]) / 1000
    first.advance(cut)
    written = first.take_closed()
    assert written is not None
    stored = written.bars[MINUTE]

    def read(resolution: Resolution, start: int, end: int) -> TickColumns:
        assert resolution is MINUTE
        return stored.between(start, end)

    previous = aggregate(CRYPTO, MINUTE, Resolution.DAY, stored.between(0, int(cut) // DAY * DAY))
    at = max(cut, period_end(CRYPTO, MINUTE, int(stored.times[-1])))
    again = Tape(CRYPTO, SCALE, (), at, read, int(previous.closes[-1]))
    # Trades of the minute that was forming when the first tape stopped are lost with it (the server writes that
    # minute on leaving): the second tape gets the rest.
    rest = [part for part in batches[half:] if posted.times[part].min() >= again.floor()]
    play(again, posted, rest)
    again.advance(START + 120 * DAY)
    for resolution in ORDER[1:]:
        full = whole.bars(resolution)
        last = int(again.bars(resolution).times[0])
        same(again.bars(resolution), full.between(last, 1 << 40))


def test_a_tape_made_again_within_the_minute_it_wrote_on_leaving_finishes_the_same_bars() -> None:
    """A restart within a minute: the first tape writes its forming minute as it stands; the second resumes that
    minute from the store and takes every later trade, so the bars end as if no restart had happened."""
    posted, batches = random_trades(5, days=40)
    whole = Tape(CRYPTO, SCALE, (), START, nothing_stored)
    play(whole, posted, batches)
    whole.advance(START + 120 * DAY)
    half = len(batches) // 2
    first = Tape(CRYPTO, SCALE, (), START, nothing_stored)
    play(first, posted, batches[:half])
    cut = int(posted.times[batches[half - 1]].max()) / 1000
    first.advance(cut)
    written = first.flush()
    assert written is not None
    stored = written.bars[MINUTE]
    minute = int(stored.times[-1])
    assert minute <= cut < period_end(CRYPTO, MINUTE, minute)

    def read(resolution: Resolution, start: int, end: int) -> TickColumns:
        assert resolution is MINUTE
        return stored.between(start, end)

    previous = aggregate(CRYPTO, MINUTE, Resolution.DAY, stored.between(0, int(cut) // DAY * DAY))
    again = Tape(CRYPTO, SCALE, (), cut, read, int(previous.closes[-1]), resumed=stored[len(stored) - 1 :])
    assert again.floor() == minute * 1000
    play(again, posted, batches[half:])
    again.advance(START + 120 * DAY)
    closed = again.take_closed()
    assert closed is not None
    assert closed.replaces
    assert int(closed.bars[MINUTE].times[0]) == minute
    for resolution in ORDER:
        full = whole.bars(resolution)
        last = int(again.bars(resolution).times[0])
        same(again.bars(resolution), full.between(last, 1 << 40))
    # Its first minute is the one it resumed, written over the stored one; the rest are new.
    same(closed.bars[MINUTE], whole.bars(MINUTE).between(minute, 1 << 40))

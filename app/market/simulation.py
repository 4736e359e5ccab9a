"""The simulated market: a `MarketFeed` over one `PricePath` per instrument."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from app.market.bars import Bar, BarColumns, History, Quote, TickBar
from app.market.fair_queue import FairQueue
from app.market.grid import Grid, grid_for
from app.market.instruments import INSTRUMENTS, Instrument
from app.market.pricepath import PricePath
from app.market.resolutions import DAY, Resolution
from app.market.subdivide import Ohlcv
from app.market.trading_hours import day_number

# First day of daily history: a Monday and the 1st of a month, so the first week and month are whole.
HISTORY_EPOCH = 1_409_529_600  # 2014-09-01T00:00:00Z
# Closed bars are cached in blocks of consecutive periods: intraday at most this many period numbers but at least
# a trading day (a 1-minute block is a day, a 60-minute one 18 days), so that a window of a few hundred bars spans
# a few blocks however many of a day's numbers are outside its session, and a cold block is quick to make (in
# process, 1,500 random cold windows: the slowest 32 ms with 512, 97 ms with 1,536, the same CPU in all); D/W/M
# this many periods.
BLOCK_SLOTS = 512
DAILY_BLOCK_SLOTS = 256
# Days of intraday history beyond the minute bars' `intraday_days`: enough for a chart's first 300 bars at
# 5 and 15 minutes, two years at 30 minutes to 4 hours (a few thousand tree nodes a day at most).
DEEPER_DAYS = {
    Resolution.M5: 180,
    Resolution.M15: 180,
    Resolution.M30: 730,
    Resolution.H1: 730,
    Resolution.H4: 730,
}
# Periods a request may turn from cached tree nodes into cached bars on the event loop while the generator thread
# is idle (about 1 us each: a few milliseconds; a week or month counts its days). Handing every miss to the thread
# costs the loop more than that: each time it gives up the interpreter for a system call, it waits up to a switch
# interval (5 ms) to get it back from the busy thread. Splitting a day's tree (about a millisecond a level) always
# goes to the thread. While the thread is busy, requests queue behind it instead, so that many cold requests
# arriving together do not each take their share of the loop in turn.
INLINE_PERIODS = 4096
# What making a closed bar costs, in periods of the allowance: a week or month merges its days.
_DAYS_PER_PERIOD = {Resolution.WEEK: 7, Resolution.MONTH: 31}
# Memory for the tree nodes of each instrument's trading days (a day's minutes take about 70 KB).
NODE_CACHE_BYTES = 8 << 20
# Longer generations run here, off the event loop. One thread: under the GIL more would not add throughput, and
# the loop then competes with a single thread for the interpreter, waiting a switch interval for its turn instead
# of a whole generation.
GENERATOR = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bar-generator")
# Requests take turns there by requester (a client address), so one client's flood waits behind itself.
TURNS = FairQueue(GENERATOR)


class _NotCachedError(Exception):
    """A request on the event loop would generate more bars than its allowance."""


class _Allowance:
    """How many more periods a request may make bars of where it runs."""

    __slots__ = ("periods",)

    def __init__(self, periods: int) -> None:
        self.periods = periods


class _Block:
    """The bars of the closed periods of a block that traded, filled up to period `filled` as time passes;
    `periods` holds each bar's period number."""

    __slots__ = ("bars", "filled", "nbytes", "periods")

    def __init__(self, periods: npt.NDArray[np.int64], bars: BarColumns, filled: int) -> None:
        self.periods = periods
        self.bars = bars
        self.filled = filled
        # What it holds, for the cache's bound (the few objects around it are left out).
        self.nbytes = periods.nbytes + bars.nbytes


class _Forming(NamedTuple):
    """A forming bar of one second, and the same as columns (what a history answer ends with)."""

    bar: Bar
    columns: BarColumns


class SimulatedFeed:
    """Deterministic simulated market data; implements `MarketFeed`."""

    simulated = True

    def __init__(
        self,
        instruments: Sequence[Instrument] = INSTRUMENTS,
        *,
        clock: Callable[[], float] = time.time,
        intraday_days: int = 60,
        cache_bytes: int = 128 << 20,
    ) -> None:
        self._instruments = tuple(instruments)
        self._by_symbol = {i.symbol: i for i in self._instruments}
        self._paths = {i.symbol: PricePath(i, HISTORY_EPOCH // DAY, NODE_CACHE_BYTES) for i in self._instruments}
        self._clock = clock
        self._intraday_days = intraday_days
        self._blocks: OrderedDict[tuple[str, Resolution, int], _Block] = OrderedDict()
        self._blocks_bytes = 0
        self._cache_bytes = cache_bytes
        # Guards the block cache: the generator thread fills it while the loop reads it.
        self._blocks_lock = threading.Lock()
        # Forming bars of one second, (second, bars): a burst of requests computes each one once. Replaced as a
        # whole when the second changes, so a thread never sees another second's entries.
        self._forming_cache: tuple[int, dict[tuple[str, Resolution], _Forming | None]] = (-1, {})
        # The walks of trading days are sequential (about 10 us a day, some 4,500 days an instrument) and shared by
        # the process's feeds: the generator thread takes them up to today at once, and `prepare` waits for it.
        self._walked = GENERATOR.submit(self._walk_to_today)

    async def prepare(self) -> None:
        """Wait for the walks to today: until then the live stream and most requests would take part of a walk
        on the event loop (tens of milliseconds an instrument)."""
        await asyncio.wrap_future(self._walked)

    def _walk_to_today(self) -> None:
        # Today by the wall clock, not the feed's: asking the feed's clock is a cost of serving, which an idle
        # feed does not have. A replay clock starts in the past (a replay start in the future is refused), so its
        # days are walked too; once it runs past today, the days after are walked as they come, as at midnight.
        now = time.time()
        for path in self._paths.values():
            path.day(day_number(path.instrument.hours.trading_day(now)))

    @property
    def instruments(self) -> Sequence[Instrument]:
        return self._instruments

    def instrument(self, symbol: str) -> Instrument | None:
        exchange, _, ticker = symbol.upper().rpartition(":")
        found = self._by_symbol.get(ticker)
        return found if found is not None and exchange in ("", found.exchange.value) else None

    def now(self) -> float:
        return self._clock()

    def history_start(self, resolution: Resolution) -> int:
        """Earliest period start served: the epoch for D/W/M; for intraday, `intraday_days` ago for minutes
        and `DEEPER_DAYS` ago (at least as deep) for coarser resolutions."""
        if not resolution.is_intraday:
            return HISTORY_EPOCH
        today = int(self.now()) // DAY * DAY
        days = max(self._intraday_days, DEEPER_DAYS.get(resolution, 0))
        return max(HISTORY_EPOCH, today - days * DAY)

    def history(self, symbol: str, resolution: Resolution, start: int, end: int, count_back: int) -> History:
        return self._history(symbol, resolution, start, end, count_back, None)

    async def load_history(
        self,
        symbol: str,
        resolution: Resolution,
        start: int,
        end: int,
        count_back: int,
        requester: Hashable = None,
    ) -> History:
        """`history` without blocking the event loop: served at once from cached bars (and bars of up to
        INLINE_PERIODS more periods while the generator thread is idle), else generated in that thread while the
        loop goes on, `requester` taking turns there with the others."""
        try:
            allowance = _Allowance(0 if TURNS.pending() else INLINE_PERIODS)
            return self._history(symbol, resolution, start, end, count_back, allowance)
        except _NotCachedError:
            return await TURNS.run(requester, partial(self.history, symbol, resolution, start, end, count_back))

    def _history(
        self, symbol: str, resolution: Resolution, start: int, end: int, count_back: int, inline: _Allowance | None
    ) -> History:
        """`history`; raises _NotCachedError when it would do more than `inline` allows (None: anything)."""
        path = self._path(symbol)
        now = self.now()
        grid = grid_for(path.instrument.hours, resolution)
        current = grid.index(now)
        today = grid.hours.trading_day(now)
        if inline is None:
            # Today's day too, even before it trades (a stock before the open): later requests then find every
            # day ready and are served on the event loop.
            path.day(day_number(today))
        elif not path.walk.ready(day_number(today)):
            raise _NotCachedError
        first = grid.first_at_or_after(self.history_start(resolution))
        stop = min(grid.first_at_or_after(end), current + 1)
        lo = max(first, grid.first_at_or_after(start))
        runs = self._between(path, grid, lo, stop, current, now, inline) if lo < stop else []
        found = sum(len(run) for run in runs)
        if found < count_back:
            runs = self._before(path, grid, min(lo, stop), count_back - found, first, current, now, inline) + runs
        if any(len(run) for run in runs):
            return History(tuple(run for run in runs if len(run)), no_data=False)
        earlier = self._before(path, grid, stop, 1, first, current, now, inline)
        return History((), no_data=not any(len(run) for run in earlier))

    def is_trading(self, symbol: str) -> bool:
        hours = self._path(symbol).instrument.hours
        now = self.now()
        session = hours.session_bounds(hours.trading_day(now))
        return session is not None and session[0] <= now < session[1]

    def live_bar(self, symbol: str, resolution: Resolution) -> Bar | None:
        path = self._path(symbol)
        grid = grid_for(path.instrument.hours, resolution)
        now = self.now()
        forming = self._forming(path, grid, grid.index(now), now)
        return None if forming is None else forming.bar

    def quote(self, symbol: str) -> Quote:
        path = self._path(symbol)
        inst = path.instrument
        now = self.now()
        number = day_number(inst.hours.trading_day(now))
        today = path.day_at(number, now)
        while today is None:  # closed today so far: quote the last session
            number -= 1
            today = path.day_at(number, now)
        previous = None
        while previous is None:
            number -= 1
            previous = path.day(number) if number >= path.epoch else today
        scale = inst.pricescale
        bid = today.close - inst.spread_ticks // 2
        change = today.close - previous.close
        return Quote(
            last=today.close / scale,
            bid=bid / scale,
            ask=(bid + inst.spread_ticks) / scale,
            spread=inst.spread_ticks / scale,
            open=today.open / scale,
            high=today.high / scale,
            low=today.low / scale,
            prev_close=previous.close / scale,
            volume=inst.volume(today.volume),
            change=change / scale,
            change_percent=round(100 * change / previous.close, 2),
        )

    def _path(self, symbol: str) -> PricePath:
        return self._paths[symbol.upper()]

    def _between(
        self, path: PricePath, grid: Grid, lo: int, hi: int, current: int, now: float, inline: _Allowance | None
    ) -> list[BarColumns]:
        """Bars of periods [lo, hi), one run per cache block; period `current` (containing now) is forming."""
        closed_hi = min(hi, current)
        slots = block_slots(grid)
        runs: list[BarColumns] = []
        index = lo
        while index < closed_hi:
            block_no = index // slots
            upto = min(closed_hi, (block_no + 1) * slots)
            runs.append(self._block_bars(path, grid, block_no, current, index, upto, inline))
            index = upto
        if lo <= current < hi:
            forming = self._forming(path, grid, current, now)
            if forming is not None:
                runs.append(forming.columns)
        return runs

    def _before(
        self,
        path: PricePath,
        grid: Grid,
        hi: int,
        count: int,
        first: int,
        current: int,
        now: float,
        inline: _Allowance | None,
    ) -> list[BarColumns]:
        """The last `count` bars of periods in [first, hi), walking back a block at a time."""
        runs: list[BarColumns] = []
        found = 0
        slots = block_slots(grid)
        while found < count and hi > first:
            lo = max(first, (hi - 1) // slots * slots)
            chunk = self._between(path, grid, lo, hi, current, now, inline)
            runs[:0] = chunk
            found += sum(len(run) for run in chunk)
            hi = lo
        excess = found - count
        while excess > 0:
            if len(runs[0]) <= excess:
                excess -= len(runs.pop(0))
            else:
                runs[0] = runs[0][excess:]
                excess = 0
        return runs

    def _block_bars(
        self, path: PricePath, grid: Grid, block_no: int, current: int, lo: int, hi: int, inline: _Allowance | None
    ) -> BarColumns:
        """The closed bars of periods [lo, hi) inside block `block_no`, from the cache or made into it.

        Bars are made outside the lock, so the loop can read the cache meanwhile; they are a pure function of their
        period, so when two threads fill the same block, whichever comes second finds it done.
        """
        key = (path.instrument.symbol, grid.resolution, block_no)
        slots = block_slots(grid)
        end = min(current, (block_no + 1) * slots)
        with self._blocks_lock:
            block = self._blocks.get(key)
            if block is not None:
                self._blocks.move_to_end(key)
                if block.filled >= hi:
                    return _periods(block, lo, hi)
            known = block
            filled = block.filled if block is not None else block_no * slots
        cost = (end - filled) * _DAYS_PER_PERIOD.get(grid.resolution, 1)
        if inline is not None and (cost > inline.periods or not _nodes_ready(path, grid, filled, end)):
            raise _NotCachedError
        periods, made = _closed_bars(path, grid, filled, end)
        if inline is not None:
            inline.periods -= cost
        if known is not None:
            periods, made = np.concatenate((known.periods, periods)), BarColumns.concat(known.bars, made)
        grown = _Block(periods, made, end)
        with self._blocks_lock:
            block = self._blocks.get(key)
            if block is None or block.filled == filled:
                self._blocks_bytes += grown.nbytes - (block.nbytes if block is not None else 0)
                self._blocks[key] = grown
                self._blocks.move_to_end(key)
                while self._blocks_bytes > self._cache_bytes and len(self._blocks) > 1:
                    self._blocks_bytes -= self._blocks.popitem(last=False)[1].nbytes
        return _periods(grown, lo, hi)

    def _forming(self, path: PricePath, grid: Grid, index: int, now: float) -> _Forming | None:
        # A forming bar includes every second that has begun, so it changes only when the second does.
        second = int(now // 1)
        cached_second, cache = self._forming_cache
        if second != cached_second:
            cache = {}
            self._forming_cache = (second, cache)
        key = (path.instrument.symbol, grid.resolution)
        if key not in cache:
            tick_bar = _bar_at(path, grid, index, now)
            bar = None if tick_bar is None else _to_bar(path.instrument, grid.stamp(index), tick_bar)
            cache[key] = None if bar is None else _Forming(bar, BarColumns.of_bar(bar))
        return cache[key]


def _bar_at(path: PricePath, grid: Grid, index: int, now: float) -> TickBar | None:
    """Period `index` as it stands at `now`."""
    if grid.resolution.is_intraday:
        number, period = grid.day_and_period(index)
        nodes = path.nodes(number, grid.resolution)
        if nodes is None or period >= len(nodes.trading):
            return None
        return path.node_at(number, grid.resolution, period, now)
    first, after = grid.day_numbers(index)
    return path.days_at(first, after, now)


def _closed_bars(path: PricePath, grid: Grid, lo: int, hi: int) -> tuple[npt.NDArray[np.int64], BarColumns]:
    """The closed periods of [lo, hi) that traded, and their bars."""
    periods: list[npt.NDArray[np.int64]] = [np.zeros(0, dtype=np.int64)]
    rows: list[Ohlcv] = [np.zeros((0, 5), dtype=np.int64)]
    times: list[npt.NDArray[np.int64]] = [np.zeros(0, dtype=np.int64)]
    if grid.resolution.is_intraday and lo < hi:
        numbers = range(grid.day_and_period(lo)[0], grid.day_and_period(hi - 1)[0] + 1)
        for number, nodes in zip(numbers, path.nodes_of_days(numbers, grid.resolution), strict=True):
            if nodes is None:
                continue
            day_first = grid.period_index(number, 0)
            picked = np.flatnonzero(nodes.trading[max(lo - day_first, 0) : hi - day_first]) + max(lo - day_first, 0)
            periods.append(picked + day_first)
            times.append(nodes.bounds[picked] * 1000)
            rows.append(nodes.ohlcv[picked])
    elif lo < hi:
        if grid.resolution is Resolution.DAY:
            # A daily period's number is its trading day's, stamped at that day's 00:00 UTC.
            traded = [(number, bar) for number in range(lo, hi) if (bar := path.day(number)) is not None]
            stamps = [number * DAY for number, _ in traded]
        else:
            merged = ((index, path.walk.span(*grid.day_numbers(index))) for index in range(lo, hi))
            traded = [(index, bar) for index, bar in merged if bar is not None]
            stamps = [grid.stamp(index) for index, _ in traded]
        periods.append(np.array([index for index, _ in traded], dtype=np.int64))
        times.append(np.array(stamps, dtype=np.int64) * 1000)
        rows.append(np.array([bar for _, bar in traded], dtype=np.int64).reshape(-1, 5))
    return np.concatenate(periods), _columns(path.instrument, np.concatenate(times), np.concatenate(rows))


def _nodes_ready(path: PricePath, grid: Grid, lo: int, hi: int) -> bool:
    """Whether the tree nodes behind the closed periods [lo, hi) are cached (daily ones always are, once the days
    are generated)."""
    if not grid.resolution.is_intraday or lo >= hi:
        return True
    first, last = grid.day_and_period(lo)[0], grid.day_and_period(hi - 1)[0]
    return all(path.has_nodes(number, grid.resolution) for number in range(first, last + 1))


def block_slots(grid: Grid) -> int:
    """How many consecutive period numbers of `grid` one cache block holds."""
    per_day = grid.periods_per_day
    return per_day * max(1, BLOCK_SLOTS // per_day) if grid.resolution.is_intraday else DAILY_BLOCK_SLOTS


def _periods(block: _Block, lo: int, hi: int) -> BarColumns:
    """The bars of periods [lo, hi) in a block."""
    periods = block.periods
    if not len(periods) or (periods[0] >= lo and periods[-1] < hi):
        return block.bars
    return block.bars[periods.searchsorted(lo) : periods.searchsorted(hi)]


def _columns(instrument: Instrument, times: npt.NDArray[np.int64], rows: Ohlcv) -> BarColumns:
    """Bars as clients see them from rows of ticks and volume units."""
    volumes = rows[:, 4] / instrument.volume_scale if instrument.volume_precision else rows[:, 4]
    return BarColumns.of(times, rows[:, :4] / instrument.pricescale, volumes)


def _to_bar(instrument: Instrument, stamp: int, bar: TickBar) -> Bar:
    """A bar stamped at `stamp` (UTC seconds) as clients see it."""
    scale = instrument.pricescale
    return Bar(
        stamp * 1000,
        bar.open / scale,
        bar.high / scale,
        bar.low / scale,
        bar.close / scale,
        instrument.volume(bar.volume),
    )

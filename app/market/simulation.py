"""The simulated market: a `MarketFeed` over one `PricePath` per instrument."""

from __future__ import annotations

import asyncio
import threading
import time
from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from app.market.bars import Bar, History, Quote, TickBar, merge
from app.market.grid import Grid, grid_for
from app.market.instruments import INSTRUMENTS, Instrument
from app.market.pricepath import LEVELS, PricePath
from app.market.resolutions import DAY, Resolution
from app.market.trading_hours import TradingHours

# First day of daily history: a Monday and the 1st of a month, so the first week and month are whole.
HISTORY_EPOCH = 1_409_529_600  # 2014-09-01T00:00:00Z
# Closed bars are cached in blocks of this many consecutive periods.
BLOCK_SLOTS = 256
# Days of intraday history beyond the minute bars' `intraday_days`: enough for a chart's first 300 bars at
# 5 and 15 minutes, two years at 30 minutes to 4 hours (a few thousand tree nodes a day at most).
DEEPER_DAYS = {
    Resolution.M5: 180,
    Resolution.M15: 180,
    Resolution.M30: 730,
    Resolution.H1: 730,
    Resolution.H4: 730,
}
# Bars a request may generate on the event loop while the generator thread is idle (about 30 us each: under
# 10 ms, plus at most one block more). Handing every miss to the thread costs the loop more than that: each time
# it gives up the interpreter for a system call, it waits up to a switch interval (5 ms) to get it back from the
# busy thread. While the thread is busy, requests queue behind it instead, so that many cold requests arriving
# together do not each take their share of the loop in turn.
INLINE_BARS = 256
# Longer generations run here, off the event loop. One thread: under the GIL more would not add throughput, and
# the loop then competes with a single thread for the interpreter, waiting a switch interval for its turn instead
# of a whole generation.
_GENERATOR = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bar-generator")


class _NotCachedError(Exception):
    """A request on the event loop would generate more bars than its allowance."""


class _Allowance:
    """How many more bars a request may generate where it runs."""

    __slots__ = ("bars",)

    def __init__(self, bars: int) -> None:
        self.bars = bars


class _Block:
    """Closed bars of consecutive periods, filled up to `filled` as time passes."""

    __slots__ = ("bars", "filled", "slots")

    def __init__(self, first_slot: int) -> None:
        self.slots: list[int] = []
        self.bars: list[Bar] = []
        self.filled = first_slot


class SimulatedFeed:
    """Deterministic simulated market data; implements `MarketFeed`."""

    simulated = True

    def __init__(
        self,
        instruments: Sequence[Instrument] = INSTRUMENTS,
        *,
        clock: Callable[[], float] = time.time,
        intraday_days: int = 60,
        cache_blocks: int = 1024,
    ) -> None:
        self._instruments = tuple(instruments)
        self._by_symbol = {i.symbol: i for i in self._instruments}
        self._paths = {i.symbol: PricePath(i, HISTORY_EPOCH) for i in self._instruments}
        self._clock = clock
        self._intraday_days = intraday_days
        self._blocks: OrderedDict[tuple[str, Resolution, int], _Block] = OrderedDict()
        self._cache_blocks = cache_blocks
        # Guards the block cache: the generator thread fills it while the loop reads it.
        self._blocks_lock = threading.Lock()
        # Requests of this feed waiting for the generator thread (read and written on the event loop only).
        self._handed_over = 0
        # Forming bars of one second, (second, bars): a burst of requests computes each one once. Replaced as a
        # whole when the second changes, so a thread never sees another second's entries.
        self._forming_cache: tuple[int, dict[tuple[str, Resolution], Bar | None]] = (-1, {})

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

    async def load_history(self, symbol: str, resolution: Resolution, start: int, end: int, count_back: int) -> History:
        """`history` without blocking the event loop: served at once from cached bars (and up to INLINE_BARS
        new ones while the generator thread is idle), else generated in that thread while the loop goes on."""
        try:
            allowance = _Allowance(0 if self._handed_over else INLINE_BARS)
            return self._history(symbol, resolution, start, end, count_back, allowance)
        except _NotCachedError:
            self._handed_over += 1
            try:
                loop = asyncio.get_running_loop()
                return await loop.run_in_executor(_GENERATOR, self.history, symbol, resolution, start, end, count_back)
            finally:
                self._handed_over -= 1

    def _history(
        self, symbol: str, resolution: Resolution, start: int, end: int, count_back: int, inline: _Allowance | None
    ) -> History:
        """`history`; raises _NotCachedError when it would generate more bars than `inline` allows (None: any)."""
        path = self._path(symbol)
        if inline is None:
            # Today's day too, even before it trades (a stock before the open): later requests then find every
            # day ready and are served on the event loop.
            path.prepare_days(self.now())
        elif not path.days_ready(self.now()):
            raise _NotCachedError
        grid = grid_for(path.instrument.hours, resolution)
        now = self.now()
        first = grid.first_at_or_after(self.history_start(resolution))
        stop = min(grid.first_at_or_after(end), grid.index(now) + 1)
        lo = max(first, grid.first_at_or_after(start))
        bars = self._between(path, grid, lo, stop, now, inline) if lo < stop else []
        if len(bars) < count_back:
            bars = self._before(path, grid, min(lo, stop), count_back - len(bars), first, now, inline) + bars
        if bars:
            return History(bars, no_data=False)
        return History([], no_data=not self._before(path, grid, stop, 1, first, now, inline))

    def live_bar(self, symbol: str, resolution: Resolution) -> Bar | None:
        path = self._path(symbol)
        grid = grid_for(path.instrument.hours, resolution)
        now = self.now()
        return self._forming(path, grid, grid.index(now), now)

    def quote(self, symbol: str) -> Quote:
        path = self._path(symbol)
        inst = path.instrument
        now = self.now()
        days = grid_for(inst.hours, Resolution.DAY)
        index = days.index(now)
        today = _aggregate(path, *days.bounds(index), now)
        while today is None:  # closed today so far: quote the last session
            index -= 1
            today = _aggregate(path, *days.bounds(index), now)
        previous = None
        while previous is None:
            index -= 1
            previous = _aggregate(path, *days.bounds(index), now) if index * DAY >= HISTORY_EPOCH else today
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
        self, path: PricePath, grid: Grid, lo: int, hi: int, now: float, inline: _Allowance | None
    ) -> list[Bar]:
        """Bars of periods [lo, hi); the period containing `now` is its forming bar."""
        current = grid.index(now)
        closed_hi = min(hi, current)
        bars: list[Bar] = []
        index = lo
        while index < closed_hi:
            block_no = index // BLOCK_SLOTS
            upto = min(closed_hi, (block_no + 1) * BLOCK_SLOTS)
            bars.extend(self._block_bars(path, grid, block_no, current, index, upto, inline))
            index = upto
        if lo <= current < hi:
            forming = self._forming(path, grid, current, now)
            if forming is not None:
                bars.append(forming)
        return bars

    def _before(
        self, path: PricePath, grid: Grid, hi: int, count: int, first: int, now: float, inline: _Allowance | None
    ) -> list[Bar]:
        """The last `count` bars of periods in [first, hi), walking back a block at a time."""
        chunks: list[list[Bar]] = []
        found = 0
        while found < count and hi > first:
            lo = max(first, (hi - 1) // BLOCK_SLOTS * BLOCK_SLOTS)
            chunk = self._between(path, grid, lo, hi, now, inline)
            chunks.append(chunk)
            found += len(chunk)
            hi = lo
        bars = [bar for chunk in reversed(chunks) for bar in chunk]
        return bars[len(bars) - count :] if found > count else bars

    def _block_bars(
        self, path: PricePath, grid: Grid, block_no: int, current: int, lo: int, hi: int, inline: _Allowance | None
    ) -> list[Bar]:
        """The closed bars of periods [lo, hi) inside block `block_no`, from the cache or generated into it.

        Generation runs outside the lock, so the loop can read the cache meanwhile; bars are a pure function of
        their period, so when two threads fill the same block, whichever comes second finds it done.
        """
        key = (path.instrument.symbol, grid.resolution, block_no)
        end = min(current, (block_no + 1) * BLOCK_SLOTS)
        with self._blocks_lock:
            block = self._blocks.get(key)
            if block is not None:
                self._blocks.move_to_end(key)
                if block.filled >= hi:
                    return block.bars[bisect_left(block.slots, lo) : bisect_left(block.slots, hi)]
            filled = block.filled if block is not None else block_no * BLOCK_SLOTS
            # Lists of a block only ever grow: these copies stay this call's answer whatever happens to the block.
            known_slots = block.slots[:] if block is not None else []
            known_bars = block.bars[:] if block is not None else []
        if inline is not None and inline.bars <= 0:
            raise _NotCachedError
        slots: list[int] = []
        bars: list[Bar] = []
        for index in range(filled, end):
            bar = self._bar(path, grid, index, None)
            if bar is not None:
                slots.append(index)
                bars.append(bar)
        if inline is not None:
            inline.bars -= len(bars)
        with self._blocks_lock:
            block = self._blocks.get(key)
            if block is None:
                block = self._blocks[key] = _Block(block_no * BLOCK_SLOTS)
                if len(self._blocks) > self._cache_blocks:
                    self._blocks.popitem(last=False)
            if block.filled == filled:
                block.slots.extend(slots)
                block.bars.extend(bars)
                block.filled = end
        known_slots += slots
        known_bars += bars
        return known_bars[bisect_left(known_slots, lo) : bisect_left(known_slots, hi)]

    def _forming(self, path: PricePath, grid: Grid, index: int, now: float) -> Bar | None:
        # A forming bar includes every second that has begun, so it changes only when the second does.
        second = int(now // 1)
        cached_second, cache = self._forming_cache
        if second != cached_second:
            cache = {}
            self._forming_cache = (second, cache)
        key = (path.instrument.symbol, grid.resolution)
        if key not in cache:
            cache[key] = self._bar(path, grid, index, now)
        return cache[key]

    @staticmethod
    def _bar(path: PricePath, grid: Grid, index: int, now: float | None) -> Bar | None:
        """The bar of period `index` (closed when `now` is None, else as it stands at `now`)."""
        start, end = grid.bounds(index)
        if not grid.hours.active_seconds(start, end):  # most minutes of a stock's day: skip the tree
            return None
        tick_bar = _aggregate(path, start, end, end if now is None else now)
        if tick_bar is None:
            return None
        inst = path.instrument
        scale = inst.pricescale
        return Bar(
            grid.stamp(index) * 1000,
            tick_bar.open / scale,
            tick_bar.high / scale,
            tick_bar.low / scale,
            tick_bar.close / scale,
            inst.volume(tick_bar.volume),
        )


def _aggregate(path: PricePath, start: int, end: int, at: float) -> TickBar | None:
    """The trading in [start, end) as it stands at `at`: the merge of the tree nodes that cover it."""
    return merge(
        bar
        for length, node_start in _cover(path.instrument.hours, start, end)
        if (bar := path.partial(length, node_start, at)) is not None
    )


def _cover(hours: TradingHours, start: int, end: int) -> list[tuple[int, int]]:
    """Tree nodes (length, start) holding all the trading of [start, end) and none outside it, largest first.

    A node may reach outside the interval where nothing trades (a stock's day node covers its night), so a
    session-anchored period takes a few nodes rather than one per minute.
    """
    nodes = []
    position = start
    while position < end:
        for length in LEVELS:
            node_start = position - position % length
            node_end = node_start + length
            if length > end - start and node_end > end:
                continue
            outside_before = node_start < position and hours.active_seconds(node_start, position) > 0
            outside_after = node_end > end and hours.active_seconds(end, node_end) > 0
            if not (outside_before or outside_after):
                break
        if hours.active_seconds(position, min(node_end, end)) > 0:
            nodes.append((length, node_start))
        position = node_end
    return nodes

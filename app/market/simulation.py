"""The simulated market: a `MarketFeed` over one `PricePath` per instrument."""

from __future__ import annotations

import time
from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Callable, Sequence

from app.market.bars import Bar, History, Quote, TickBar
from app.market.instruments import INSTRUMENTS, Instrument
from app.market.pricepath import PricePath
from app.market.resolutions import DAY, Resolution, first_slot_at_or_after, slot_index, slot_start

# First day of daily history: a Monday and the 1st of a month, so the first week and month are whole.
HISTORY_EPOCH = 1_409_529_600  # 2014-09-01T00:00:00Z
# Closed bars are cached in blocks of this many consecutive periods.
BLOCK_SLOTS = 256


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
        # Forming bars of the current second: a burst of requests computes each one once.
        self._forming_second = -1
        self._forming_cache: dict[tuple[str, Resolution], Bar | None] = {}

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
        """Earliest period start served: the epoch for D/W/M, `intraday_days` ago for intraday."""
        if not resolution.is_intraday:
            return HISTORY_EPOCH
        today = int(self.now()) // DAY * DAY
        return max(HISTORY_EPOCH, today - self._intraday_days * DAY)

    def history(self, symbol: str, resolution: Resolution, start: int, end: int, count_back: int) -> History:
        path = self._path(symbol)
        now = self.now()
        first = first_slot_at_or_after(resolution, self.history_start(resolution))
        stop = min(first_slot_at_or_after(resolution, end), slot_index(resolution, now) + 1)
        lo = max(first, first_slot_at_or_after(resolution, start))
        bars = self._between(path, resolution, lo, stop, now) if lo < stop else []
        if len(bars) < count_back:
            bars = self._before(path, resolution, min(lo, stop), count_back - len(bars), first, now) + bars
        if bars:
            return History(bars, no_data=False)
        return History([], no_data=not self._before(path, resolution, stop, 1, first, now))

    def live_bar(self, symbol: str, resolution: Resolution) -> Bar | None:
        path = self._path(symbol)
        now = self.now()
        return self._forming(path, resolution, slot_index(resolution, now), now)

    def quote(self, symbol: str) -> Quote:
        path = self._path(symbol)
        inst = path.instrument
        now = self.now()
        day = int(now) // DAY * DAY
        today = path.partial(DAY, day, now)
        while today is None:  # closed today so far: quote the last session
            day -= DAY
            today = path.node(DAY, day)
        previous = None
        while previous is None:
            day -= DAY
            previous = path.node(DAY, day) if day >= HISTORY_EPOCH else today
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

    def _between(self, path: PricePath, resolution: Resolution, lo: int, hi: int, now: float) -> list[Bar]:
        """Bars of periods [lo, hi); the period containing `now` is its forming bar."""
        current = slot_index(resolution, now)
        closed_hi = min(hi, current)
        bars: list[Bar] = []
        index = lo
        while index < closed_hi:
            block_no = index // BLOCK_SLOTS
            block = self._block(path, resolution, block_no, current)
            upto = min(closed_hi, (block_no + 1) * BLOCK_SLOTS)
            bars.extend(block.bars[bisect_left(block.slots, index) : bisect_left(block.slots, upto)])
            index = upto
        if lo <= current < hi:
            forming = self._forming(path, resolution, current, now)
            if forming is not None:
                bars.append(forming)
        return bars

    def _before(
        self, path: PricePath, resolution: Resolution, hi: int, count: int, first: int, now: float
    ) -> list[Bar]:
        """The last `count` bars of periods in [first, hi), walking back a block at a time."""
        chunks: list[list[Bar]] = []
        found = 0
        while found < count and hi > first:
            lo = max(first, (hi - 1) // BLOCK_SLOTS * BLOCK_SLOTS)
            chunk = self._between(path, resolution, lo, hi, now)
            chunks.append(chunk)
            found += len(chunk)
            hi = lo
        bars = [bar for chunk in reversed(chunks) for bar in chunk]
        return bars[len(bars) - count :] if found > count else bars

    def _block(self, path: PricePath, resolution: Resolution, block_no: int, current: int) -> _Block:
        key = (path.instrument.symbol, resolution, block_no)
        block = self._blocks.get(key)
        if block is None:
            block = self._blocks[key] = _Block(block_no * BLOCK_SLOTS)
            if len(self._blocks) > self._cache_blocks:
                self._blocks.popitem(last=False)
        else:
            self._blocks.move_to_end(key)
        end = min(current, (block_no + 1) * BLOCK_SLOTS)
        for index in range(block.filled, end):
            bar = self._closed(path, resolution, index)
            if bar is not None:
                block.slots.append(index)
                block.bars.append(bar)
        block.filled = max(block.filled, end)
        return block

    def _closed(self, path: PricePath, resolution: Resolution, index: int) -> Bar | None:
        start = slot_start(resolution, index)
        if resolution.is_intraday or resolution is Resolution.DAY:
            tick_bar = path.node(resolution.seconds, start)
        else:
            end = slot_start(resolution, index + 1)
            tick_bar = path.span(start, end, end)
        return self._bar(path, start, tick_bar)

    def _forming(self, path: PricePath, resolution: Resolution, index: int, now: float) -> Bar | None:
        # A forming bar includes every second that has begun, so it changes only when the second does.
        second = int(now // 1)
        if second != self._forming_second:
            self._forming_second = second
            self._forming_cache.clear()
        key = (path.instrument.symbol, resolution)
        if key not in self._forming_cache:
            self._forming_cache[key] = self._compute_forming(path, resolution, index, now)
        return self._forming_cache[key]

    def _compute_forming(self, path: PricePath, resolution: Resolution, index: int, now: float) -> Bar | None:
        start = slot_start(resolution, index)
        if resolution.is_intraday or resolution is Resolution.DAY:
            tick_bar = path.partial(resolution.seconds, start, now)
        else:
            tick_bar = path.span(start, slot_start(resolution, index + 1), now)
        return self._bar(path, start, tick_bar)

    @staticmethod
    def _bar(path: PricePath, start: int, tick_bar: TickBar | None) -> Bar | None:
        if tick_bar is None:
            return None
        inst = path.instrument
        scale = inst.pricescale
        return Bar(
            start * 1000,
            tick_bar.open / scale,
            tick_bar.high / scale,
            tick_bar.low / scale,
            tick_bar.close / scale,
            inst.volume(tick_bar.volume),
        )

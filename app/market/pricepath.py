"""One instrument's price path: a daily random walk refined top-down to one-second bars.

Trading days come from a mean-reverting walk, generated in order from the epoch, whose volatility
follows an EGARCH-like recursion (see `_Volatility`): heavy-tailed daily shocks, moderate clustering
and, for stocks, the leverage effect, so the returns show the stylized facts of real ones (Cont 2001).
Each trading day is then split into its 4-hour periods, those into hours, and so on down to minutes
(see `subdivide`), a whole level of the day at a time; a minute is split into seconds when a forming
bar needs them. The periods of every level are those of the instrument's session grid (`grid`), which
nest: a bar at any resolution is a node of that tree, by construction the aggregate of the minute bars
it covers. Every node is a pure function of (symbol, node start), so any process computes the same
bars without shared state.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from itertools import pairwise

import numpy as np
import numpy.typing as npt

from app.market.bars import TickBar, merge
from app.market.daywalk import day_walk
from app.market.grid import day_periods
from app.market.instruments import Instrument
from app.market.resolutions import Resolution
from app.market.rng import seed_for
from app.market.subdivide import Ohlcv, Segments, subdivide
from app.market.trading_hours import day_of_number

# The intraday levels of the tree, coarsest first: each resolution's periods split into the next one's.
LEVELS = (Resolution.H4, Resolution.H1, Resolution.M30, Resolution.M15, Resolution.M5, Resolution.M1)
_PARENT = {child: parent for parent, child in pairwise(LEVELS)}
# Each node's random draws are named by its start and its level (seconds are the eighth level).
_LEVEL_CODE = {resolution: code for code, resolution in enumerate(LEVELS)}
_SECOND_CODE = len(LEVELS)
_CODES = 8
# A minute's forming bar needs its seconds; minutes whose seconds are kept, least recently used first out.
_SECOND_CACHE = 256


@dataclass(frozen=True, slots=True)
class Nodes:
    """One trading day's nodes of one level: node i covers [bounds[i], bounds[i + 1]) (UTC seconds).

    `ohlcv` rows are integer ticks and volume units (`subdivide`); a node with no trading is False in `trading`
    (its row is zeros).
    """

    bounds: npt.NDArray[np.int64]
    ohlcv: Ohlcv
    trading: npt.NDArray[np.bool_]

    @property
    def nbytes(self) -> int:
        return self.bounds.nbytes + self.ohlcv.nbytes + self.trading.nbytes


def merge_rows(rows: Ohlcv) -> TickBar | None:
    """The bar covering consecutive rows of trading nodes (first open, max high, min low, last close, sum)."""
    if not len(rows):
        return None
    return TickBar(
        int(rows[0, 0]), int(rows[:, 1].max()), int(rows[:, 2].min()), int(rows[-1, 3]), int(rows[:, 4].sum())
    )


class PricePath:
    """The deterministic bars of one instrument from the trading day `epoch` (a day number, days since
    1970-01-01) on; `cache_bytes` bounds the memory of the intraday nodes it keeps."""

    def __init__(self, instrument: Instrument, epoch: int, cache_bytes: int = 8 << 20) -> None:
        self.instrument = instrument
        self.epoch = epoch
        self.walk = day_walk(instrument, epoch)
        self._key = seed_for(instrument.symbol, "tree")
        self._nodes: OrderedDict[tuple[int, Resolution], Nodes | None] = OrderedDict()
        self._nodes_bytes = 0
        self._cache_bytes = cache_bytes
        # Guards the node cache: the generator thread fills it while the event loop reads it.
        self._nodes_lock = threading.Lock()
        self._seconds = lru_cache(maxsize=_SECOND_CACHE)(self._split_minute)

    def day(self, number: int) -> TickBar | None:
        """The whole trading day `number` (days since 1970-01-01): None before the epoch or on a day off."""
        return self.walk.day(number)

    def has_nodes(self, number: int, level: Resolution) -> bool:
        """Whether trading day `number`'s nodes of `level` are cached (asking for them costs nothing then)."""
        with self._nodes_lock:
            return (number, level) in self._nodes

    def nodes(self, number: int, level: Resolution) -> Nodes | None:
        """Trading day `number`'s nodes of an intraday `level` (None: the day does not trade)."""
        return self.nodes_of_days([number], level)[0]

    def nodes_of_days(self, numbers: Sequence[int], level: Resolution) -> list[Nodes | None]:
        """The nodes of an intraday `level` of trading days `numbers` (ascending; None for a day that does not
        trade). Days not cached are split together, a level at a time: one pass over arrays for all of them."""
        found: dict[int, Nodes | None] = {}
        with self._nodes_lock:
            for number in numbers:
                if (number, level) in self._nodes:
                    self._nodes.move_to_end((number, level))
                    found[number] = self._nodes[number, level]
        missing = [number for number in numbers if number not in found]
        if missing:
            parents = self.nodes_of_days(missing, _PARENT[level]) if level in _PARENT else None
            made = self._split_days(missing, level, parents)
            found.update(made)
            with self._nodes_lock:
                for number, nodes in made.items():
                    if (number, level) not in self._nodes:
                        self._nodes[number, level] = nodes
                        self._nodes_bytes += _size(nodes)
                while self._nodes_bytes > self._cache_bytes and len(self._nodes) > 1:
                    _, evicted = self._nodes.popitem(last=False)
                    self._nodes_bytes -= _size(evicted)
        return [found[number] for number in numbers]

    def _split_days(
        self, numbers: Sequence[int], level: Resolution, parents: Sequence[Nodes | None] | None
    ) -> dict[int, Nodes | None]:
        """The nodes of `level` of trading days `numbers` (ascending), split from their coarser level's nodes
        (`parents`, one per day) or, for the coarsest level, from the days themselves."""
        made: dict[int, Nodes | None] = {}
        days: list[tuple[int, npt.NDArray[np.int64], tuple[int, int]]] = []
        parent_starts, parent_rows, parent_trading = [], [], []
        for i, number in enumerate(numbers):
            root = self.day(number)
            session = self.instrument.hours.session_bounds(day_of_number(number))
            if root is None or session is None:
                made[number] = None
                continue
            bounds = day_periods(self.instrument.hours, level, number)
            days.append((number, bounds, session))
            parent = parents[i] if parents is not None else None
            if parent is None:
                parent_starts.append(bounds[:1])
                parent_rows.append(np.array([root], dtype=np.int64))
                parent_trading.append(np.array([True]))
            else:
                parent_starts.append(parent.bounds[:-1])
                parent_rows.append(parent.ohlcv)
                parent_trading.append(parent.trading)
        if not days:
            return made
        weights = _period_weights(self.instrument, [(bounds, session) for _, bounds, session in days])
        starts = np.concatenate([bounds[:-1] for _, bounds, _ in days])
        trading = weights > 0
        child_starts = starts[trading]
        all_trading = np.concatenate(parent_trading)
        # Days are ascending, so their parents' starts are too: one search finds every child's parent, and the
        # parents that trade, numbered in order, are the groups of their trading children.
        owner = np.searchsorted(np.concatenate(parent_starts), child_starts, side="right") - 1
        group = (np.cumsum(all_trading) - 1)[owner]
        children = subdivide(
            np.concatenate(parent_rows)[all_trading],
            Segments.of(group),
            weights[trading],
            self.instrument.minmov,
            self._key,
            child_starts.astype(np.uint64) * np.uint64(_CODES) + np.uint64(_LEVEL_CODE[level]),
        )
        ohlcv = np.zeros((len(weights), 5), dtype=np.int64)
        ohlcv[trading] = children
        offset = 0
        for number, bounds, _ in days:
            count = len(bounds) - 1
            made[number] = Nodes(bounds, ohlcv[offset : offset + count], trading[offset : offset + count])
            offset += count
        return made

    def _split_minute(self, start: int, minute: tuple[int, int, int, int, int]) -> Ohlcv:
        """The 60 one-second bars of the trading minute starting at `start` (UTC seconds)."""
        seconds = np.arange(start, start + 60, dtype=np.uint64)
        return subdivide(
            np.array([minute], dtype=np.int64),
            Segments.of(np.zeros(60, dtype=np.int64)),
            np.ones(60),
            self.instrument.minmov,
            self._key,
            seconds * np.uint64(_CODES) + np.uint64(_SECOND_CODE),
        )

    def node_at(self, number: int, level: Resolution, index: int, at: float) -> TickBar | None:
        """Node `index` of `level` in trading day `number` as it stands at `at` (UTC seconds): only the seconds
        that have begun count. None when nothing of it has traded by then."""
        nodes = self.nodes(number, level)
        if nodes is None:
            return None
        start, end = int(nodes.bounds[index]), int(nodes.bounds[index + 1])
        if end <= at:
            return _row_bar(nodes, index)
        return self._so_far(number, start, end, at)

    def day_at(self, number: int, at: float) -> TickBar | None:
        """Trading day `number` as it stands at `at` (UTC seconds)."""
        hours, day = self.instrument.hours, day_of_number(number)
        start, end = hours.day_start(day), hours.day_start(day + timedelta(days=1))
        if end <= at:
            return self.day(number)
        return self._so_far(number, start, end, at) if self.day(number) is not None else None

    def days_at(self, first: int, after: int, at: float) -> TickBar | None:
        """The trading days [first, after) merged, as they stand at `at` (weeks and months)."""
        return merge(bar for number in range(first, after) if (bar := self.day_at(number, at)) is not None)

    def _so_far(self, number: int, start: int, end: int, at: float) -> TickBar | None:
        """What trading day `number` traded in [start, end) (whole minutes) up to `at`, its current second included."""
        if start > at:
            return None
        minutes = self.nodes(number, Resolution.M1)
        assert minutes is not None  # the day trades: a node of it was asked for
        day_start = int(minutes.bounds[0])
        first, current = (start - day_start) // 60, min((int(at) - day_start) // 60, (end - day_start) // 60)
        closed = minutes.ohlcv[first:current][minutes.trading[first:current]]
        parts = [bar for bar in (merge_rows(closed),) if bar is not None]
        if current < len(minutes.trading) and minutes.trading[current] and int(minutes.bounds[current]) < end:
            minute_start = int(minutes.bounds[current])
            seconds = self._seconds(minute_start, tuple(int(x) for x in minutes.ohlcv[current]))
            parts.extend(bar for bar in (merge_rows(seconds[: int(at) - minute_start + 1]),) if bar is not None)
        return merge(parts)


def _size(nodes: Nodes | None) -> int:
    """Bytes a cache entry counts for (a day off still takes an entry)."""
    return 64 if nodes is None else nodes.nbytes


def _row_bar(nodes: Nodes, index: int) -> TickBar | None:
    if not nodes.trading[index]:
        return None
    return TickBar._make(int(x) for x in nodes.ohlcv[index])


def _period_weights(
    instrument: Instrument, days: Sequence[tuple[npt.NDArray[np.int64], tuple[int, int]]]
) -> npt.NDArray[np.float64]:
    """Each period's weight, for trading days given as (period bounds, session [open, close)) in UTC seconds: its
    trading seconds, each weighted by the trading intensity of its minute, so busy hours move more and trade
    more. The days' periods one after the other."""
    minute_starts = np.concatenate([np.arange(bounds[0], bounds[-1], 60, dtype=np.int64) for bounds, _ in days])
    per_day = [(int(bounds[-1]) - int(bounds[0])) // 60 for bounds, _ in days]
    opens = np.repeat([session[0] for _, session in days], per_day)
    closes = np.repeat([session[1] for _, session in days], per_day)
    active = (minute_starts >= opens) & (minute_starts < closes)
    per_minute = np.where(active, 60.0 * instrument.hours.activity(minute_starts + 30.0, opens, closes), 0.0)
    first_minutes = np.cumsum([0, *per_day[:-1]])
    period_starts = np.concatenate(
        [(bounds[:-1] - bounds[0]) // 60 + first for (bounds, _), first in zip(days, first_minutes, strict=True)]
    )
    return np.add.reduceat(per_minute, period_starts)

"""The stored rows a replay reads, kept in memory by block of time while the store does not change.

A replay's view of the store changes each time a stored bar's period ends, and each change makes the stored feed
read again the tail of every topic it holds: a monthly bar made of minutes reads a month or two of them. Read from
the store, that was most of the cost of following the replay clock (300 ms a change with 14 topics of two
instruments held, SQLite); the store itself changes seldom during a replay (an import), so its rows are read once
per block and kept until it does.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

from app.market.resolutions import DAY, Resolution
from app.store.base import BarRows, BarStore

# Rows of one block: a day of intraday bars (1,440 minutes), 256 days of D/W/M bars.
_INTRADAY_BLOCK = DAY
_DAILY_BLOCK = 256 * DAY
Block = tuple[str, Resolution, int]


def between(rows: BarRows, start: int, end: int) -> BarRows:
    """The rows with time in [start, end) (UTC seconds)."""
    lo, hi = int(rows.times.searchsorted(start)), int(rows.times.searchsorted(end))
    if lo == 0 and hi == len(rows):
        return rows
    part = slice(lo, hi)
    return BarRows(
        rows.times[part], rows.opens[part], rows.highs[part], rows.lows[part], rows.closes[part], rows.volumes[part]
    )


def concat(parts: list[BarRows]) -> BarRows:
    """The rows of `parts`, one after another."""
    chosen = [part for part in parts if len(part)]
    if len(chosen) <= 1:
        return chosen[0] if chosen else BarRows.empty()
    return BarRows(
        np.concatenate([part.times for part in chosen]),
        np.concatenate([part.opens for part in chosen]),
        np.concatenate([part.highs for part in chosen]),
        np.concatenate([part.lows for part in chosen]),
        np.concatenate([part.closes for part in chosen]),
        np.concatenate([part.volumes for part in chosen]),
    )


def _nbytes(rows: BarRows) -> int:
    return sum(column.nbytes for column in (rows.times, rows.opens, rows.highs, rows.lows, rows.closes, rows.volumes))


class RowBlocks:
    """Rows of `store` by block, at most `max_bytes` of them (the least recently used go first), all forgotten when
    `revision` says the store has changed."""

    def __init__(self, store: BarStore, max_bytes: int = 64 << 20) -> None:
        self._store = store
        self._max_bytes = max_bytes
        self._blocks: OrderedDict[Block, BarRows] = OrderedDict()
        self._bytes = 0
        self._revision: int | None = None
        # The reader and poll threads read at once.
        self._lock = threading.Lock()

    def read(self, revision: int | None, symbol: str, resolution: Resolution, start: int, end: int) -> BarRows:
        """The stored rows with time in [start, end), as the store holds them at `revision` (None: not known yet, so
        nothing is kept). Raises StoreUnavailableError when the store does not answer."""
        span = _INTRADAY_BLOCK if resolution.is_intraday else _DAILY_BLOCK
        first, last = start // span, (end - 1) // span
        if revision is None or end <= start:
            return self._store.read_bars(symbol, resolution, start, end)
        with self._lock:
            if revision != self._revision:
                self._blocks.clear()
                self._bytes, self._revision = 0, revision
        parts = [self._block((symbol, resolution, number), span, revision) for number in range(first, last + 1)]
        return between(concat(parts), start, end)

    def _block(self, block: Block, span: int, revision: int) -> BarRows:
        with self._lock:
            rows = self._blocks.get(block)
            if rows is not None:
                self._blocks.move_to_end(block)
                return rows
        symbol, resolution, number = block
        # Read outside the lock, so that the other thread's reads go on meanwhile.
        rows = self._store.read_bars(symbol, resolution, number * span, (number + 1) * span)
        with self._lock:
            if self._revision == revision and block not in self._blocks:
                self._blocks[block] = rows
                self._bytes += _nbytes(rows)
                while self._bytes > self._max_bytes and len(self._blocks) > 1:
                    self._bytes -= _nbytes(self._blocks.popitem(last=False)[1])
        return rows

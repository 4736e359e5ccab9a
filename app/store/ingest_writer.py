"""Ingest's worker thread: closed bars written to the store, and tapes made from it, one job at a time, in order.

Closed bars are queued (`add`) and written a batch at a time (`write_due`); when the store does not answer they wait
and are tried again RETRY_INTERVAL seconds later, laid over the stored bars meanwhile. Bars stored with other values
in the meantime (an import of the same minutes) are left as stored, with an error in the log; the one exception is
the minute a tape resumed after a restart (`Closed.replaces`), written over the bar a stopped server left. A tape is
made in the same thread after the writes queued before it (`after_writes`), so that it reads what they wrote.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TypeVar

from app.market.aggregate import TickColumns
from app.market.instruments import Instrument
from app.market.resolutions import Resolution
from app.market.tape import Closed, Tape
from app.store.base import BarRows, BarStore, ConflictError, StoreError, StoreUnavailableError

log = logging.getLogger(__name__)
# Seconds before a write the store refused is tried again.
RETRY_INTERVAL = 1.0
# What a tape depends on: when its instrument's hours, units or stored resolutions change, a new one is made.
Key = tuple[object, ...]
T = TypeVar("T")


@dataclass(slots=True, eq=False)
class Book:
    """One instrument's tape, and its writes the stored feed may not show yet: (store revision, until) each, every
    bar whose period ended by `until` (UTC seconds) being in the store at that revision."""

    instrument: Instrument
    # The symbol as the store spells it.
    stored_symbol: str
    key: Key
    tape: Tape
    written: deque[tuple[int, int]] = field(default_factory=deque)


@dataclass(frozen=True, slots=True)
class Write:
    """Closed bars of a book, for the store."""

    book: Book
    closed: Closed


class Writer:
    """The queue of closed bars and the one thread that writes them to the store `store` gives (None while it is
    not open). Counts the bars written, for the metrics."""

    def __init__(self, store: Callable[[], BarStore | None]) -> None:
        self._store = store
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest")
        self._pending: list[Write] = []
        self._writing: asyncio.Task[None] | None = None
        self._retry_at = 0.0
        self.bars_written = 0

    @property
    def busy(self) -> bool:
        """Whether a write is under way."""
        return self._writing is not None

    def add(self, write: Write) -> None:
        self._pending.append(write)

    def withdraw(self, book: Book) -> list[Write]:
        """The queued writes of `book`, no longer queued."""
        mine = [write for write in self._pending if write.book is book]
        self._pending = [write for write in self._pending if write.book is not book]
        return mine

    def write_due(self) -> None:
        """Start writing what is queued, unless a write is under way or the store refused the last one lately."""
        if self._pending and self._writing is None and time.monotonic() >= self._retry_at:
            jobs, self._pending = self._pending, []
            self._writing = asyncio.create_task(self._write(jobs))

    async def idle(self) -> None:
        """Return once no write is under way."""
        while self._writing is not None:
            await asyncio.shield(self._writing)

    async def after_writes(self, writes: list[Write], job: Callable[[BarStore], T]) -> T:
        """`writes` written, then `job(store)` run, in the thread, after the write under way. Raises StoreError (the
        writes are queued again) when the store does not answer."""
        await self.idle()

        def run() -> T:
            store = self.store()
            self.bars_written += self._write_all(store, writes)[1]
            return job(store)

        try:
            return await asyncio.get_running_loop().run_in_executor(self._thread, run)
        except StoreError:
            self._pending[:0] = writes
            raise

    async def close(self) -> None:
        """Write what is queued, at once and whatever the retry delay; then stop the thread."""
        await self.idle()
        jobs, self._pending = self._pending, []
        if jobs:
            try:
                await asyncio.get_running_loop().run_in_executor(self._thread, self._write_to_store, jobs)
            except StoreError as error:
                symbols = ", ".join(sorted({job.book.instrument.symbol for job in jobs}))
                log.error("Bars of %s traded lately are lost: the store does not answer (%s)", symbols, error)
        self._thread.shutdown()

    def store(self) -> BarStore:
        """The store (in the thread); StoreUnavailableError while it is not open."""
        store = self._store()
        if store is None:
            raise StoreUnavailableError("the store is not open yet", "it is not open yet")
        return store

    async def _write(self, jobs: list[Write]) -> None:
        try:
            revision, count = await asyncio.get_running_loop().run_in_executor(self._thread, self._write_to_store, jobs)
        except Exception as error:
            self._pending[:0] = jobs
            self._retry_at = time.monotonic() + RETRY_INTERVAL
            if isinstance(error, StoreError):
                log.warning("Ingested bars wait to be written: the store does not answer (%s)", error)
            else:
                log.exception("Writing ingested bars failed; trying again")
        else:
            self.bars_written += count
            for job in jobs:
                job.book.written.append((revision, job.closed.until))
        finally:
            self._writing = None

    def _write_to_store(self, jobs: list[Write]) -> tuple[int, int]:
        return self._write_all(self.store(), jobs)

    @staticmethod
    def _write_all(store: BarStore, jobs: list[Write]) -> tuple[int, int]:
        """In the thread: write the bars of `jobs`; the store's revision after them and how many bars were written."""
        count = 0
        for job in jobs:
            stored_symbol = job.book.stored_symbol
            for resolution, bars in job.closed.bars.items():
                count += len(bars)
                if job.closed.replaces and resolution is Resolution.M1:
                    # The minute the tape resumed: the store holds it as a stopped server left it.
                    store.write_bars(stored_symbol, resolution, _rows(bars[:1]), replace=True)
                    bars = bars[1:]
                    if not len(bars):
                        continue
                try:
                    store.write_bars(stored_symbol, resolution, _rows(bars))
                except ConflictError as conflict:
                    symbol = job.book.instrument.symbol
                    log.error("%s: ingested bars at %s not written: %s", symbol, conflict.times, conflict)
        return store.revision(), count


def _rows(bars: TickColumns) -> BarRows:
    return BarRows(bars.times, bars.opens, bars.highs, bars.lows, bars.closes, bars.volumes)

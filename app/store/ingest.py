"""Live trades into the stored feed (`POST /api/v1/ingest/trades`): a batch checked and applied as a whole, the bars
it builds served at once, and written to the store as their periods end.

A batch is refused whole (nothing of it applied) when any trade breaks a rule (`check`):
- symbol: a stored instrument (`python -m app import`, or `instruments add` for one with no history), any case, with
  or without its exchange; an instrument the server only simulates is unknown;
- price: positive and on the instrument's tick grid (price * pricescale a whole number of ticks, a multiple of minmov);
- size: positive, in the instrument's volume units, with at most its volume_precision decimals;
- time (UTC ms): not older than the instrument's forming 1-minute bar, and at most FUTURE_TOLERANCE seconds ahead of
  the server's clock. The forming minute (on the instrument's session grid) is the one that holds the latest of the
  server's clock, the instrument's newest accepted trade and the end of its newest stored bar: every bar before it
  is closed, went out with its final values and is (being) written, so a trade for it would change what `/bars`
  already serves.

Bars (market/trades.py) form in a `Tape` per instrument, made on its first trade since the server started, from what
the store holds. They are laid over the stored feed's newest bars (`over`), so the live stream, history and quotes
show them at once. A background step (`run`, every STEP seconds) closes the bars whose period ended, by the clock
alone, and a worker thread writes them: 1-minute bars, and bars of every resolution the instrument had stored before,
so that each resolution is served from the same stored bars as ever and `/bars` serves exactly what went out. A closed
bar stays laid over until the stored feed's view shows it. On leaving (`close`) the forming minutes are written as they
stand: no accepted trade is lost, and the rest of such a minute is then refused as older than a stored bar.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from app.market.feed import BarQuote, FeedUnavailableError
from app.market.instruments import Instrument
from app.market.resolutions import DAY, Resolution
from app.market.tape import Closed, Tape, written_resolutions
from app.market.trades import Ints, Posted, RefusedTradesError, check, period_end
from app.market.trading_hours import day_number
from app.store.base import BarRows, BarStore, ConflictError, StoreError, StoreUnavailableError
from app.store.feed import StoredFeed
from app.store.live import Topic, Window
from app.store.reading import columns, read_history
from app.store.view import Listing, listings

log = logging.getLogger(__name__)
# Seconds between two background steps: how late after its period's end a bar nobody asks about is closed and written.
STEP = 0.25
# Seconds before a write the store refused is tried again.
RETRY_INTERVAL = 1.0
# What a tape depends on: when its instrument's hours, units or stored resolutions change, a new one is made.
Key = tuple[object, ...]


def _key(listing: Listing) -> Key:
    instrument = listing.instrument
    return (
        instrument.hours,
        instrument.pricescale,
        instrument.minmov,
        instrument.volume_precision,
        # The first minute an instrument without bars gets written changes nothing here.
        written_resolutions(listing.series.stored),
    )


@dataclass(slots=True, eq=False)
class _Book:
    """One instrument's tape, and its writes the stored feed may not show yet: (store revision, until) each, every
    bar whose period ended by `until` (UTC seconds) being in the store at that revision."""

    instrument: Instrument
    # The symbol as the store spells it.
    stored_symbol: str
    key: Key
    tape: Tape
    written: deque[tuple[int, int]] = field(default_factory=deque)


@dataclass(frozen=True, slots=True)
class _Write:
    book: _Book
    closed: Closed


class Ingest:
    """Trades into `feed`'s stored instruments (see the module). Counts, for the metrics: trades accepted and refused
    (every trade of a refused batch), bars written."""

    def __init__(self, feed: StoredFeed, *, step: float = STEP) -> None:
        self._feed = feed
        self._step = step
        self._books: dict[str, _Book] = {}
        self._opening: dict[str, asyncio.Task[_Book | None]] = {}
        # Loads and writes take turns in one thread: a tape made after a write reads what it wrote.
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest")
        self._pending: list[_Write] = []
        self._writing: asyncio.Task[None] | None = None
        self._retry_at = 0.0
        self.trades_accepted = 0
        self.trades_refused = 0
        self.bars_written = 0

    async def apply(self, posted: Posted) -> int:
        """Apply every trade of `posted`, or none: RefusedTradesError names each trade that breaks a rule,
        FeedUnavailableError says the store does not answer (an instrument's first trades need it). Returns how many
        were applied."""
        groups, problems = self._groups(posted), {}
        books = {symbol: await self._book(symbol, listing) for symbol, (listing, _) in groups.items()}
        now = self._feed.now()
        batches = {}
        for symbol, (_, indexes) in groups.items():
            book = books[symbol]
            if book is None:
                problems.update({int(i): {"symbol": _unknown(posted.symbols[i])} for i in indexes})
                continue
            book.tape.advance(now)
            trades, found = check(book.instrument, book.tape.floor(), now, posted, indexes)
            problems.update(found)
            batches[symbol] = trades
        if problems:
            self.trades_refused += len(posted)
            raise RefusedTradesError(problems, len(posted))
        for symbol, trades in batches.items():
            book = books[symbol]
            assert book is not None
            book.tape.add(trades)
        self.trades_accepted += len(posted)
        return len(posted)

    def over(self, topic: Topic, window: Window | None) -> Window | None:
        """`window` (a topic's newest stored bars, or None) with the bars of the topic that ingest holds laid over."""
        book = self._books.get(topic[0])
        if book is None:
            return window
        book.tape.advance(self._feed.now())
        bars = book.tape.bars(topic[1])
        if not len(bars):
            return window
        fresher = Window(int(bars.times[0]), bars)
        return fresher if window is None else window.merged(fresher)

    def quote(self, symbol: str, stored: BarQuote) -> BarQuote:
        """The quote of `symbol` with its trades: the newest day's bar and the close before it, as far as ingest holds
        them (`stored` otherwise)."""
        book = self._books.get(symbol)
        if book is None:
            return stored
        book.tape.advance(self._feed.now())
        day, previous = book.tape.day()
        if day is None:
            return stored
        scale, close = book.instrument.pricescale, int(day.closes[0])
        volume = float(day.volumes[0])
        today = {
            "last": close / scale,
            "open": int(day.opens[0]) / scale,
            "high": int(day.highs[0]) / scale,
            "low": int(day.lows[0]) / scale,
            "volume": int(volume) if book.instrument.volume_precision == 0 and volume.is_integer() else volume,
        }
        if previous is None:
            return BarQuote(**today, prev_close=None, change=None, change_percent=None)
        return BarQuote(
            **today,
            prev_close=previous / scale,
            change=(close - previous) / scale,
            change_percent=round(100 * (close - previous) / previous, 2) if previous else None,
        )

    async def run(self) -> None:
        """Close and write bars every STEP seconds until cancelled."""
        while True:
            await asyncio.sleep(self._step)
            try:
                self.step()
            except Exception:
                log.exception("Closing ingested bars failed")

    def step(self) -> None:
        """Close the bars whose period ended, start writing them (unless a write is under way or the store refused
        the last one a moment ago), and forget those the stored feed shows."""
        now, shown = self._feed.now(), self._feed.revision
        for book in self._books.values():
            book.tape.advance(now)
            closed = book.tape.take_closed()
            if closed is not None:
                self._pending.append(_Write(book, closed))
            while book.written and shown is not None and book.written[0][0] <= shown:
                book.tape.seen(book.written.popleft()[1])
        if self._pending and self._writing is None and time.monotonic() >= self._retry_at:
            jobs, self._pending = self._pending, []
            self._writing = asyncio.create_task(self._write(jobs))

    async def settled(self) -> None:
        """Return once every bar closed by now is written to the store (or the store refused them: they wait)."""
        self.step()
        while self._writing is not None:
            await asyncio.shield(self._writing)
            self.step()

    async def close(self) -> None:
        """On leaving: write what is left, the forming minutes as they stand; then stop the thread."""
        if self._writing is not None:
            await asyncio.shield(self._writing)
        now = self._feed.now()
        for book in self._books.values():
            book.tape.advance(now)
            closed = book.tape.flush()
            if closed is not None:
                self._pending.append(_Write(book, closed))
        jobs, self._pending = self._pending, []
        if jobs:
            try:
                await asyncio.get_running_loop().run_in_executor(self._thread, self._write_all, jobs)
            except StoreError as error:
                symbols = sorted({job.book.instrument.symbol for job in jobs})
                log.error(
                    "Bars of %s traded lately are lost: the store does not answer (%s)", ", ".join(symbols), error
                )
        self._thread.shutdown()

    def _groups(self, posted: Posted) -> dict[str, tuple[Listing | None, Ints]]:
        """The trades' indexes by instrument (arrival order kept), keyed by its symbol (or as given, when unknown)."""
        spelled: dict[str, list[int]] = {}
        if len(set(posted.symbols)) == 1:
            spelled[posted.symbols[0]] = list(range(len(posted)))
        else:
            for index, symbol in enumerate(posted.symbols):
                spelled.setdefault(symbol, []).append(index)
        groups: dict[str, tuple[Listing | None, list[int]]] = {}
        for given, indexes in spelled.items():
            listing = self._feed.listing(given)
            symbol = given if listing is None else listing.instrument.symbol
            groups.setdefault(symbol, (listing, []))[1].extend(indexes)
        return {s: (listing, np.sort(np.array(i, dtype=np.int64))) for s, (listing, i) in groups.items()}

    async def _book(self, symbol: str, listing: Listing | None) -> _Book | None:
        """The book of a stored instrument (None for an unknown one): made, the first time, from the store; made
        again when the instrument's description changed. Raises FeedUnavailableError when the store does not
        answer."""
        if listing is None:
            return None
        book = self._books.get(symbol)
        if book is not None and book.key == _key(listing):
            return book
        opening = self._opening.get(symbol)
        if opening is None:
            opening = self._opening[symbol] = asyncio.create_task(self._open(listing, book))
            opening.add_done_callback(lambda _: self._opening.pop(symbol, None))
        # Shielded: a client that leaves does not cancel the making that other requests wait for too.
        return await asyncio.shield(opening)

    async def _open(self, listing: Listing, old: _Book | None) -> _Book | None:
        """A new book for `listing`'s instrument: what is left of its old one written first (its session, units
        or stored resolutions changed), then its stored bars read."""
        writes = [job for job in self._pending if job.book is old]
        if old is not None:
            self._pending = [job for job in self._pending if job.book is not old]
            flushed = old.tape.flush()
            if flushed is not None:
                writes.append(_Write(old, flushed))
        if self._writing is not None:
            await asyncio.shield(self._writing)
        loop, now = asyncio.get_running_loop(), self._feed.now()
        try:
            book = await loop.run_in_executor(self._thread, self._load, listing, now, writes)
        except StoreError as error:
            # Tried again with the next trades of the instrument.
            self._pending[:0] = writes
            raise FeedUnavailableError("store", str(error)) from None
        self._books[listing.instrument.symbol] = book
        return book

    def _load(self, listing: Listing, now: float, writes: list[_Write]) -> _Book:
        """In the thread: `writes` written, then the instrument's book made from the store (its newest bars decide
        where the tape begins; its forming periods' stored bars and the day before's close are read)."""
        store = self._store()
        self._write_all(writes)
        instrument, symbol = listing.instrument, listing.series.symbol
        fresh = listings(store.instruments()).get(instrument.symbol, listing)
        hours = instrument.hours
        ends = [period_end(hours, r, last) for r, last in fresh.series.last_times.items()]
        at = max([now, *ends])
        day = day_number(hours.trading_day(at)) * DAY
        before = read_history(store, fresh.series, Resolution.DAY, day, day, 1).bars
        tape = Tape(
            hours,
            instrument.volume_scale,
            listing.series.stored,
            at,
            lambda resolution, start, end: columns(store.read_bars(symbol, resolution, start, end)),
            int(before.closes[-1]) if len(before) else None,
        )
        return _Book(instrument, symbol, _key(listing), tape)

    async def _write(self, jobs: list[_Write]) -> None:
        try:
            revision, count = await asyncio.get_running_loop().run_in_executor(self._thread, self._write_all, jobs)
        except StoreError as error:
            self._pending[:0] = jobs
            self._retry_at = time.monotonic() + RETRY_INTERVAL
            log.warning("Ingested bars wait to be written: the store does not answer (%s)", error)
        except Exception:
            self._pending[:0] = jobs
            self._retry_at = time.monotonic() + RETRY_INTERVAL
            log.exception("Writing ingested bars failed; trying again")
        else:
            self.bars_written += count
            for job in jobs:
                job.book.written.append((revision, job.closed.until))
        finally:
            self._writing = None

    def _write_all(self, jobs: list[_Write]) -> tuple[int, int]:
        """In the thread: write the bars of `jobs`; the store's revision after them and how many bars were written.
        Bars stored meanwhile with other values (an import) are left as stored, with an error in the log."""
        store = self._store()
        count = 0
        for job in jobs:
            for resolution, bars in job.closed.bars.items():
                rows = BarRows(bars.times, bars.opens, bars.highs, bars.lows, bars.closes, bars.volumes)
                try:
                    store.write_bars(job.book.stored_symbol, resolution, rows)
                except ConflictError as conflict:
                    log.error(
                        "%s: ingested bars at %s not written: %s", job.book.instrument.symbol, conflict.times, conflict
                    )
                count += len(rows)
        return store.revision(), count

    def _store(self) -> BarStore:
        store = self._feed.store
        if store is None:
            raise StoreUnavailableError("the store is not open yet")
        return store


def _unknown(symbol: str) -> str:
    return (
        f"Unknown symbol {symbol}: ingest takes the store's instruments "
        f"(`python -m app instruments add {symbol.upper()} --type …` creates one)"
    )

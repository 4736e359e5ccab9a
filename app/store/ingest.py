"""Live trades into the stored feed (`POST /api/v1/ingest/trades`): a batch checked and applied as a whole, the bars
it builds served at once, and written to the store as their periods end.

A batch is refused whole (nothing of it applied) when any trade breaks a rule (`check`):
- symbol: a stored instrument (`python -m app import`, or `instruments add` for one with no history), any case, with
  or without its exchange; an instrument the server only simulates is unknown;
- price: positive and on the instrument's tick grid (price * pricescale a whole number of ticks, a multiple of minmov),
  at most EXACT_LIMIT (2**53) ticks;
- size: positive, in the instrument's volume units, with at most its volume_precision decimals, at most EXACT_LIMIT
  volume units (units of 10**-volume_precision); nor may it bring a forming bar of any resolution (its period's
  stored bars and the trades before it counted) past EXACT_LIMIT volume units: every bar's volume stays exact as a
  double and as an int64;
- time (UTC ms): not older than the instrument's forming 1-minute bar, and at most FUTURE_TOLERANCE seconds ahead of
  the server's clock. The forming minute (on the instrument's session grid) is the one that holds the latest of the
  server's clock less CLOSE_GRACE seconds, the instrument's newest accepted trade and the end of its newest stored
  bar: every bar before it is closed, went out with its final values and is (being) written, so a trade for it would
  change what `/bars` already serves. So a bar closes CLOSE_GRACE seconds after its period ends (a trade stamped
  just before the end may still be on its way), or as soon as a trade of a later period arrives. One stored bar is
  not closed: the newest 1-minute bar while its period has not ended by that clock (the minute a server stopped in,
  which it wrote as it stood). That minute forms again, continuing the stored bar: its open stays, later trades
  update its high, low, close and volume, and the bar is written over the stored one.

Bars (market/tape.py) form in a `Tape` per instrument, made on its first trade since the server started, from what
the store holds. They are laid over the stored feed's newest bars (`over`), so the live stream, history and quotes
show them at once. A background step (`run`, every STEP seconds) closes the bars whose period ended, by the clock
alone, and a worker thread (`ingest_writer`) writes them: 1-minute bars, and bars of every resolution the instrument
had stored before, so that each resolution is served from the same stored bars as ever and `/bars` serves exactly
what went out. A closed bar stays laid over until the stored feed's view shows it. On leaving (`close`) the forming
minutes are written as they stand: no accepted trade is lost, and a server started on the same store within such a
minute continues it (`_load`), so a publisher that replays the trades it could not post meanwhile loses none (its
trades already accepted it must not post again: they would count twice). With a shared broker only the process
running the bar broadcaster applies trades; one that stops running it writes the bars closed by then and drops the
forming ones unwritten (`forget`): the new broadcaster's process resumes from the store, and a request caught waiting
meanwhile applies nothing (503).
"""

from __future__ import annotations

import asyncio
import logging

import numpy as np

from app.market.feed import BarQuote, FeedUnavailableError
from app.market.resolutions import DAY, Resolution
from app.market.tape import Tape, written_resolutions
from app.market.trades import CLOSE_GRACE, Ints, Posted, RefusedTradesError, check, period_end
from app.market.trading_hours import day_number
from app.store.base import BarStore, StoreError, public_reason
from app.store.feed import StoredFeed
from app.store.ingest_writer import Book, Key, Write, Writer
from app.store.live import Topic, Window
from app.store.reading import columns, read_history
from app.store.view import Listing, listings

log = logging.getLogger(__name__)
# Seconds between two background steps: how late after its period's end a bar nobody asks about is closed and written.
STEP = 0.25


class Ingest:
    """Trades into `feed`'s stored instruments (see the module). Counts, for the metrics: trades accepted and refused
    (every trade of a refused batch), bars written."""

    def __init__(self, feed: StoredFeed, *, step: float = STEP) -> None:
        self._feed = feed
        self._step = step
        self._books: dict[str, Book] = {}
        self._opening: dict[str, asyncio.Task[Book]] = {}
        # Counts `forget` calls: a request that waited for a book while it ran applies nothing.
        self._forgotten = 0
        self._writer = Writer(lambda: feed.store)
        self.trades_accepted = 0
        self.trades_refused = 0

    @property
    def bars_written(self) -> int:
        return self._writer.bars_written

    async def apply(self, posted: Posted) -> int:
        """Apply every trade of `posted`, or none: RefusedTradesError names each trade that breaks a rule,
        FeedUnavailableError says the store does not answer (an instrument's first trades need it). Returns how many
        were applied."""
        groups, problems, forgotten = self._groups(posted), {}, self._forgotten
        books = {symbol: await self._book(symbol, listing) for symbol, (listing, _) in groups.items()}
        if self._forgotten != forgotten:
            raise FeedUnavailableError("bar broadcaster", "this process stopped running it; post the trades again")
        now = self._feed.now()
        batches = {}
        for symbol, (_, indexes) in groups.items():
            book = books[symbol]
            if book is None:
                problems.update({int(i): {"symbol": _unknown(posted.symbols[i])} for i in indexes})
                continue
            book.tape.advance(now - CLOSE_GRACE)
            trades, found = check(book.instrument, book.tape.floor(), now, posted, indexes, book.tape.overfills)
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
        book.tape.advance(self._closing())
        bars = book.tape.bars(topic[1])
        if not len(bars):
            return window
        fresher = Window(int(bars.times[0]), bars)
        return fresher if window is None else window.merged(fresher)

    def trading(self, symbol: str) -> bool:
        """Whether trades of `symbol` form its bars now: its forming minute (by the closing clock) has a trade."""
        book = self._books.get(symbol)
        if book is None:
            return False
        book.tape.advance(self._closing())
        return book.tape.trading()

    def quote(self, symbol: str, stored: BarQuote) -> BarQuote:
        """The quote of `symbol` with its trades: the newest day's bar and the close before it, as far as ingest holds
        them (`stored` otherwise)."""
        book = self._books.get(symbol)
        if book is None:
            return stored
        book.tape.advance(self._closing())
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
        now, shown = self._closing(), self._feed.revision
        for book in self._books.values():
            book.tape.advance(now)
            closed = book.tape.take_closed()
            if closed is not None:
                self._writer.add(Write(book, closed))
            while book.written and shown is not None and book.written[0][0] <= shown:
                book.tape.seen(book.written.popleft()[1])
        self._writer.write_due()

    async def settled(self) -> None:
        """Return once every bar closed by now is written to the store (or the store refused them: they wait)."""
        self.step()
        while self._writer.busy:
            await self._writer.idle()
            self.step()

    def forget(self) -> None:
        """When this process stops running the bar broadcaster: queue the bars closed by now for writing (they are
        final), then drop the forming ones and the books being made, unwritten. The new broadcaster's process resumes
        from the store; the forming minute's trades it never got are lost."""
        self.step()
        self._books.clear()
        self._opening.clear()
        self._forgotten += 1

    async def close(self) -> None:
        """On leaving: write what is left, the forming minutes as they stand; then stop the thread."""
        await self._writer.idle()
        now = self._closing()
        for book in self._books.values():
            book.tape.advance(now)
            closed = book.tape.flush()
            if closed is not None:
                self._writer.add(Write(book, closed))
        await self._writer.close()

    def _closing(self) -> float:
        """The clock as bars close by it (UTC seconds): CLOSE_GRACE seconds late."""
        return self._feed.now() - CLOSE_GRACE

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

    async def _book(self, symbol: str, listing: Listing | None) -> Book | None:
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
            opening.add_done_callback(lambda done: self._forget_opening(symbol, done))
        # Shielded: a client that leaves does not cancel the making that other requests wait for too.
        return await asyncio.shield(opening)

    def _forget_opening(self, symbol: str, task: asyncio.Task[Book]) -> None:
        # After `forget` another task may be making the symbol's book.
        if self._opening.get(symbol) is task:
            del self._opening[symbol]

    async def _open(self, listing: Listing, old: Book | None) -> Book:
        """A new book for `listing`'s instrument: what is left of its old one written first (its session, units
        or stored resolutions changed), then its stored bars read."""
        writes = []
        if old is not None:
            writes = self._writer.withdraw(old)
            flushed = old.tape.flush()
            if flushed is not None:
                writes.append(Write(old, flushed))
        now, forgotten = self._closing(), self._forgotten
        try:
            book = await self._writer.after_writes(writes, lambda store: _load(store, listing, now))
        except StoreError as error:
            # Tried again with the next trades of the instrument.
            raise FeedUnavailableError("store", public_reason(error)) from None
        if self._forgotten == forgotten:
            self._books[listing.instrument.symbol] = book
        return book


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


def _load(store: BarStore, listing: Listing, now: float) -> Book:
    """In the thread: the book of `listing`'s instrument made from the store: its newest bars decide where the tape
    begins (`now`, the closing clock, at the earliest; in the newest stored minute while that has not ended, which
    the tape resumes); its forming periods' stored bars and the day before's close are read."""
    instrument, symbol = listing.instrument, listing.series.symbol
    fresh = listings(store.instruments()).get(instrument.symbol, listing)
    hours = instrument.hours
    lasts = dict(fresh.series.last_times)
    minute = lasts.pop(Resolution.M1, None)
    at = max([now, *(period_end(hours, r, last) for r, last in lasts.items())])
    resumed = None
    if minute is not None:
        minute_end = period_end(hours, Resolution.M1, minute)
        if at < minute_end:
            # The newest stored minute has not ended: a server stopped within it and wrote it as it stood. Its trades
            # go on (replayed ones a publisher could not post meanwhile included).
            stored = columns(store.read_bars(symbol, Resolution.M1, minute, minute + 1))
            if len(stored) and float(stored.volumes[0]) > 0:
                resumed = stored
        at = max(at, minute_end) if resumed is None else max(at, minute)
    day = day_number(hours.trading_day(at)) * DAY
    before = read_history(store, fresh.series, Resolution.DAY, day, day, 1).bars
    tape = Tape(
        hours,
        instrument.volume_scale,
        listing.series.stored,
        at,
        lambda resolution, start, end: columns(store.read_bars(symbol, resolution, start, end)),
        int(before.closes[-1]) if len(before) else None,
        resumed,
    )
    return Book(instrument, symbol, _key(listing), tape)


def _unknown(symbol: str) -> str:
    return (
        f"Unknown symbol {symbol}: ingest takes the store's instruments "
        f"(`python -m app instruments add {symbol.upper()} --type …` creates one)"
    )

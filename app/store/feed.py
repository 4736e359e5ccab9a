"""StoredFeed: the `MarketFeed` of a store's instruments, and the store's health.

Everything served at once comes from memory: the instruments, their quotes and each topic's newest bars (`live`).
`refresh` brings that view up to the store, in a worker thread: it opens the store once there is one (an SQLite
file appears with the first import), polls its revision and, when it changed, reads the instruments again, their
quotes and the topics' newest bars. The server calls it every REFRESH_INTERVAL seconds, so an import is served
within a couple of seconds without a restart. History requests read the store in another worker thread, taking
turns by client. While the store does not answer, those requests raise FeedUnavailableError (a 503), the health
check names the store, and the last view keeps serving what needs no store.

Bars that live trades form (`ingest.Ingest`, an `Overlay`) are laid over the stored ones wherever the feed answers
from memory or from the store: history, the live bar, quotes.

On a replay (`replay.Replay`) the store is seen as it stood at the replay clock's time, and the view is refreshed
whenever that changes (a stored bar's period ends), not just every REFRESH_INTERVAL.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Hashable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Protocol

from app.market.aggregate import source_for
from app.market.bars import Bar, History
from app.market.fair_queue import FairQueue
from app.market.feed import BarQuote, FeedUnavailableError
from app.market.instruments import Instrument
from app.market.resolutions import Resolution
from app.store.base import BarStore, StoreError, StoreUnavailableError, public_reason
from app.store.live import NewestBars, Topic, Window
from app.store.reading import END_OF_TIME, read_history
from app.store.reload import reload_starts
from app.store.replay import Replay
from app.store.view import NO_QUOTE, Listing, bar_columns, history, last_bar, listings, quote

log = logging.getLogger(__name__)
# Seconds between two polls of the store's revision.
REFRESH_INTERVAL = 1.0
# Topics whose newest bars are kept in memory (a few hundred bars each).
NEWEST_TOPICS = 1024


class Overlay(Protocol):
    """Bars formed elsewhere in the server (by live trades: `ingest`) that the store does not hold yet."""

    def over(self, topic: Topic, window: Window | None) -> Window | None:
        """`window` (a topic's newest stored bars, or None) with the topic's bars formed elsewhere laid over it."""

    def quote(self, symbol: str, stored: BarQuote) -> BarQuote:
        """`stored` (the quote made of stored bars) brought up to the bars formed elsewhere."""

    def trading(self, symbol: str) -> bool:
        """Whether bars of `symbol` (as the store spells it, upper case) are being formed now."""


@dataclass(frozen=True, slots=True)
class _Update:
    """A new view of the store, read at `revision`."""

    revision: int
    listings: dict[str, Listing]
    quotes: dict[str, BarQuote]
    windows: dict[Topic, Window]


class StoredFeed:
    """The instruments of the store that `connect` opens (None while there is none yet); implements `MarketFeed`
    and `Component`. `depth`: how many of a topic's newest bars are kept in memory (the live stream's resume
    reaches that far back). With a `replay`, the instruments it replays as they stood at its clock's time (which is
    then the feed's clock)."""

    name = "store"

    def __init__(
        self,
        connect: Callable[[], BarStore | None],
        *,
        clock: Callable[[], float] = time.time,
        depth: int = 1001,
        replay: Replay | None = None,
    ) -> None:
        self._connect = connect if replay is None else replay.connecting(connect)
        self._clock = clock if replay is None else replay.clock
        self._replay = replay
        self._store: BarStore | None = None
        self._revision: int | None = None
        self._listings: dict[str, Listing] = {}
        self._instruments: tuple[Instrument, ...] = ()
        self._quotes: dict[str, BarQuote] = {}
        self._starts: dict[Resolution, int] = {}
        self.newest = NewestBars(depth, NEWEST_TOPICS)
        self._overlay: Overlay | None = None
        self._problem: str | None = None
        self._updated = asyncio.Event()
        # Polls have a thread of their own, so that a long history read never delays a new import.
        self._poller = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store-poll")
        self._reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store-read")
        self._turns = FairQueue(self._reader)

    # Component

    def problem(self) -> str | None:
        return self._problem

    # MarketFeed

    @property
    def instruments(self) -> Sequence[Instrument]:
        return self._instruments

    def instrument(self, symbol: str) -> Instrument | None:
        listing = self._listing(symbol)
        return None if listing is None else listing.instrument

    def has_symbol(self, ticker: str) -> bool:
        """Whether the store holds `ticker` (any case, without an exchange), on whatever exchange."""
        return ticker.upper() in self._listings

    async def prepare(self) -> None:
        """The first view of the store, before the server serves anyone."""
        await self.refresh()

    def now(self) -> float:
        return self._clock()

    def history_start(self, resolution: Resolution) -> int:
        """The first stored time among the instruments served at `resolution` (now when there is none)."""
        return self._starts.get(resolution, int(self.now()))

    def history(self, symbol: str, resolution: Resolution, start: int, end: int, count_back: int) -> History:
        """From memory: the topic's newest bars, as the last history request or change of the store left them."""
        listing = self._listing(symbol)
        window = None if listing is None else self._held((listing.instrument.symbol, resolution))
        if listing is None or window is None:
            return History((), no_data=False)
        bars = window.between(start, end, count_back)
        if len(bars):
            return History((bar_columns(listing.instrument, bars),), no_data=False)
        # No bar before `end` in memory; none at all when the window reaches back to the first stored one.
        source = source_for(listing.series.stored, resolution)
        first = END_OF_TIME if source is None else listing.first_times[source]
        return History((), no_data=window.start <= first and not len(window.bars.between(-END_OF_TIME, end)))

    async def load_history(
        self,
        symbol: str,
        resolution: Resolution,
        start: int,
        end: int,
        count_back: int,
        requester: Hashable = None,
    ) -> History:
        """Bars read from the store in a worker thread, `requester` taking turns with the others, unless the
        topic's newest bars in memory hold them all; those that reach the newest bar stay in memory. Raises
        FeedUnavailableError while the store does not answer."""
        listing, store = self._listing(symbol), self._store
        if listing is None or store is None:
            return History((), no_data=True)
        held = self._held((listing.instrument.symbol, resolution))
        if held is not None and held.covers(start, end, count_back):
            bars = held.between(start, end, count_back)
            if len(bars):
                return history(listing.instrument, bars, no_data=False)
        if self._problem is not None:
            raise FeedUnavailableError(self.name, self._problem)
        revision = self._revision
        read = partial(read_history, store, listing.series, resolution, start, end, count_back)
        try:
            found = await self._turns.run(requester, read)
        except StoreUnavailableError as error:
            self._failed(error)
            raise FeedUnavailableError(self.name, error.reason) from None
        topic = (listing.instrument.symbol, resolution)
        if found.newest and (
            revision == self._revision or self._unheld_on_replay(listing.instrument.symbol, resolution)
        ):
            start = found.start if self._replay is None else self._replay.window_start(topic[0], resolution, found)
            self.newest.offer(topic, Window(start, found.bars))
        if self._overlay is None:
            return history(listing.instrument, found.bars, found.no_data)
        laid = self._overlay.over(topic, Window(found.start, found.bars))
        bars = found.bars if laid is None else laid.between(start, end, count_back)
        return history(listing.instrument, bars, found.no_data and not len(bars))

    def is_trading(self, symbol: str) -> bool:
        """Whether something makes the stored instrument live now: live trades forming its bars (the overlay), or a
        replay inside its session that has not passed the end of its data. Recorded bars alone never change, so
        otherwise it is a closed market, whatever its session: the live stream sends only what changes."""
        listing = self._listing(symbol)
        if listing is None:
            return False
        stored = listing.instrument.symbol
        if self._overlay is not None and self._overlay.trading(stored):
            return True
        if self._replay is None or self._replay.ended(stored):
            return False
        hours, now = listing.instrument.hours, self.now()
        session = hours.session_bounds(hours.trading_day(now))
        return session is not None and session[0] <= now < session[1]

    def live_bar(self, symbol: str, resolution: Resolution) -> Bar | None:
        """The topic's newest bar in memory: the forming one of live trades, else the newest recorded one."""
        listing = self._listing(symbol)
        window = None if listing is None else self._held((listing.instrument.symbol, resolution))
        return None if listing is None or window is None else last_bar(listing.instrument, window.bars)

    def quote(self, symbol: str) -> BarQuote:
        """From memory: the quote made of the newest days when the store last changed."""
        listing = self._listing(symbol)
        if listing is None:
            return NO_QUOTE
        stored = self._quotes.get(listing.instrument.symbol, NO_QUOTE)
        return stored if self._overlay is None else self._overlay.quote(listing.instrument.symbol, stored)

    # Bars formed elsewhere (ingest)

    def lay_over(self, overlay: Overlay) -> None:
        """Serve `overlay`'s bars over the stored ones from now on: history, the live bar and quotes."""
        self._overlay = overlay

    def listing(self, symbol: str) -> Listing | None:
        """The stored instrument `symbol` names (any case, with or without its exchange), as served, or None."""
        return self._listing(symbol)

    @property
    def store(self) -> BarStore | None:
        """The store, once the poll thread has opened it (None before)."""
        return self._store

    @property
    def revision(self) -> int | None:
        """The store's revision that the view shows (None before the first view)."""
        return self._revision

    def _held(self, topic: Topic) -> Window | None:
        """The topic's newest bars in memory, with the overlay's laid over them."""
        window = self.newest.get(topic)
        return window if self._overlay is None else self._overlay.over(topic, window)

    # Keeping up with the store

    async def refresh(self) -> None:
        """Bring the view up to the store (reading it in a worker thread); note whether the store answers."""
        loop = asyncio.get_running_loop()
        try:
            held = self.newest.windows()
            update = await loop.run_in_executor(self._poller, self._poll, self._revision, held, self._listings)
        except StoreError as error:
            self._failed(error)
            return
        if self._problem is not None:
            log.info("The store answers again")
            self._problem = None
        if update is not None:
            self._apply(update)

    async def run(self, interval: float = REFRESH_INTERVAL) -> None:
        """Refresh every `interval` seconds (on a replay, also as soon as a stored bar's period ends) until
        cancelled."""
        while True:
            try:
                await self.refresh()
            except Exception:
                log.exception("Refreshing the stored instruments failed")
            await asyncio.sleep(interval if self._replay is None else self._replay.wait(interval))

    async def refreshed(self, revision: int) -> None:
        """Return once the view is that of the store's `revision`."""
        while self._revision != revision:
            await self._updated.wait()

    def close(self) -> None:
        """Stop the worker threads and release the store's connections (blocks: call it from a thread)."""
        self._poller.shutdown(cancel_futures=True)
        self._reader.shutdown(cancel_futures=True)
        if self._store is not None:
            self._store.close()

    def _poll(self, known: int | None, held: dict[Topic, Window], before: dict[str, Listing]) -> _Update | None:
        """In the poll thread: a new view when the store changed since revision `known` (whose instruments were
        `before`), with the `held` topics' bars read again from where the change may have reached
        (`reload_starts`), else None."""
        if self._store is None:
            self._store = self._connect()
            if self._store is None:
                return None
        store = self._store
        revision = store.revision()
        if revision == known:
            return None
        found = listings(store.instruments())
        quotes = {symbol: quote(store, listing) for symbol, listing in found.items()}
        windows = {}
        for (symbol, resolution), start in reload_starts(held, before, found).items():
            bars = read_history(store, found[symbol].series, resolution, start, END_OF_TIME, 0).bars
            windows[symbol, resolution] = Window(start, bars)
        return _Update(revision, found, quotes, windows)

    def _apply(self, update: _Update) -> None:
        regridded = {
            symbol
            for symbol, listing in update.listings.items()
            if symbol in self._listings and self._listings[symbol].instrument.hours is not listing.instrument.hours
        }
        self.newest.refresh(self._kept(update, regridded), regridded)
        self._listings = update.listings
        self._instruments = tuple(listing.instrument for listing in update.listings.values())
        self._quotes = update.quotes
        self._starts = _first_times(update.listings.values())
        self._revision = update.revision
        updated, self._updated = self._updated, asyncio.Event()
        updated.set()

    def _kept(self, update: _Update, regridded: set[str]) -> dict[Topic, Window]:
        """The topics whose bars stay in memory with `update`: those it reloaded and, on a replay, those first read
        while its poll ran (on the same grid), which the next change of the view reloads. A replay's view changes
        with every stored bar that ends, so polls run nearly all the time, and a topic dropped there would stream
        nothing (nothing reads it again)."""
        if self._replay is None:
            return update.windows
        held = {
            topic: window
            for topic in self.newest.tails()
            if topic not in update.windows
            and topic[0] not in regridded
            and (window := self.newest.get(topic)) is not None
        }
        return held | update.windows

    def _unheld_on_replay(self, symbol: str, resolution: Resolution) -> bool:
        """On a replay, whether the topic has no bars in memory: a read that saw an earlier view still gives it its
        first ones, which the next change of the view reloads. The view changes with every stored bar that ends, so
        a topic whose reads all overlapped a change would otherwise never have any (and stream nothing)."""
        return self._replay is not None and self.newest.get((symbol, resolution)) is None

    def _failed(self, error: StoreError) -> None:
        """Note that the store does not answer: the whole reason to the log (each time: the server's repeat filter
        lets one a minute through, with the count), a line without the store's whereabouts for clients."""
        log.warning("The store does not answer: %s (its instruments get 503 until it does)", error)
        self._problem = public_reason(error)

    def _listing(self, symbol: str) -> Listing | None:
        """The listing of `symbol`, any case, with or without its exchange (`NASDAQ:AAPL`)."""
        exchange, _, ticker = symbol.upper().rpartition(":")
        found = self._listings.get(ticker)
        return found if found is not None and exchange in ("", found.instrument.exchange.value) else None


def _first_times(served: Iterable[Listing]) -> dict[Resolution, int]:
    """Per resolution, the earliest first bar among the instruments served at it (of the stored resolution that
    serves it)."""
    starts: dict[Resolution, int] = {}
    for listing in served:
        for resolution in listing.instrument.resolutions:
            source = source_for(listing.series.stored, resolution)
            if source is not None:
                first = listing.first_times[source]
                starts[resolution] = min(starts.get(resolution, first), first)
    return starts

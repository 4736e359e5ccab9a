"""A replay of stored history: the store as it stood at the replay clock's time T, for the stored feed to serve.

The rule is the one of recorded data arriving live. A stored bar is known once its period has ended: a minute bar
stamped 14:30 appears at 14:31, with its final values (a store holds no trades inside a bar, and showing the close
before it happened would be looking ahead). So at time T a stored series shows every bar whose period ended by T,
and nothing later; each coarser resolution is made of those bars exactly as from the whole store, so that its bar
of the period holding T is the aggregate of the stored bars that have ended within it (the forming bar), and a bar
whose period has ended is the one history serves from then on. Every read of the stored feed (history, its quotes,
the newest bars the live stream sends) goes through the view, so all of them stop at T; the view changes only
when a stored bar's period ends, and `Replay.wait` says when that is, so that the feed reads it at once. Between two
of the feed's polls of its revision, T stays where the last poll saw it: like a store that changes only with its
revision, every read at one revision gets the same bars (a read that saw a later T than the feed's view could put a
bar in memory that the poll's reload then takes away, and the live stream would go back in time).

Only the instruments of REPLAY_SYMBOLS (all stored ones when empty) are replayed; the view leaves the others out,
so a stored symbol that does not replay is not served (a simulated instrument of that symbol comes back, on the
same clock). Past the end of its data an instrument stops updating: `ended` says so, and the feed then treats it
as a closed market.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Collection
from dataclasses import dataclass

from app.market.aggregate import source_for
from app.market.clock import Clock
from app.market.grid import grid_for
from app.market.resolutions import DAY, Resolution
from app.market.sessions import SessionError
from app.market.trading_hours import TradingHours, day_of_number
from app.store.base import BarRows, BarStore, InstrumentSpec, StoredInstrument, WriteResult
from app.store.reading import Found
from app.store.replay_rows import RowBlocks

# A wake-up after a bar's period has ended, not just before (real seconds).
_WAKE_MARGIN = 0.001


def visible_before(hours: TradingHours, resolution: Resolution, t: float) -> int:
    """The bars of `resolution` stamped before this time (UTC seconds) are those whose period has ended by `t`: the
    start of the period that holds `t` (D/W/M bars are stamped at 00:00 UTC of a day, so its first day's)."""
    grid = grid_for(hours, resolution)
    index = grid.index(t)
    return grid.bounds(index)[0] if resolution.is_intraday else grid.day_numbers(index)[0] * DAY


def period_end(hours: TradingHours, resolution: Resolution, stamp: int) -> int:
    """When the period of the `resolution` bar stamped `stamp` (UTC seconds) ends: the bar is known from then on."""
    # A D/W/M stamp is 00:00 UTC of its trading day, which may lie in the day before by the exchange's clock.
    moment = stamp if resolution.is_intraday else hours.day_start(day_of_number(stamp // DAY))
    return next_cut(hours, resolution, moment)


def next_cut(hours: TradingHours, resolution: Resolution, t: float) -> int:
    """When `visible_before(hours, resolution, t)` next changes: the end of the period that holds `t`."""
    grid = grid_for(hours, resolution)
    return grid.bounds(grid.index(t))[1]


@dataclass(frozen=True, slots=True)
class _Snapshot:
    """The replayed instruments as of the store's `revision` by symbol (upper case), each with its trading hours
    (None: a session that cannot be read; the feed leaves such an instrument out) and each series' first and last
    stored bar (UTC seconds, in `StoredInstrument.spans`)."""

    revision: int | None
    instruments: dict[str, StoredInstrument]
    hours: dict[str, TradingHours | None]

    def series(self) -> list[tuple[TradingHours, Resolution, int, int]]:
        """Every stored series that can replay: its hours, resolution, first and last bar time."""
        return [
            (hours, resolution, first, last)
            for symbol, item in self.instruments.items()
            if (hours := self.hours[symbol]) is not None
            for resolution, (first, last) in item.spans.items()
        ]


class Replay:
    """The replay of the stored instruments named in `symbols` (any case; empty: every stored one) on `clock`, which
    runs `speed` times faster than real time. Made once for the server; `connecting` gives the stored feed its view
    of the store, `ended` and `wait` what the feed needs to serve it live."""

    def __init__(self, clock: Clock, speed: float, symbols: Collection[str] = ()) -> None:
        self.clock = clock
        self.speed = speed
        self.symbols = frozenset(symbol.upper() for symbol in symbols)
        # Replaced whole when the store changes: the poll thread makes it while the reader thread and the loop read it.
        self._snapshot = _Snapshot(None, {}, {})
        self._lock = threading.Lock()
        self._shown: tuple[int | None, tuple[int, ...]] | None = None
        self._revision = 0
        self._view_time: float | None = None

    def connecting(self, connect: Callable[[], BarStore | None]) -> Callable[[], BarStore | None]:
        """`connect` (the stored feed's way to open the store) giving the store as it stands at the replay's time."""

        def replayed() -> BarStore | None:
            store = connect()
            return None if store is None else _ReplayedStore(store, self)

        return replayed

    def replays(self, spec: InstrumentSpec) -> bool:
        """Whether the instrument is one of those replayed."""
        return not self.symbols or spec.symbol.upper() in self.symbols

    def ended(self, symbol: str) -> bool:
        """Whether the replay has passed the end of every stored series of `symbol` (True for one it does not know,
        or one without bars): nothing of it changes any more."""
        snapshot, now = self._snapshot, self.clock()
        item, hours = snapshot.instruments.get(symbol.upper()), snapshot.hours.get(symbol.upper())
        return (
            item is None
            or hours is None
            or all(visible_before(hours, resolution, now) > last for resolution, (_, last) in item.spans.items())
        )

    def wait(self, longest: float) -> float:
        """Real seconds until the view next changes (the period of a stored bar ends), at most `longest`."""
        now = self.clock()
        # Before a series' first bar, nothing changes until that bar's period ends; past its last, nothing at all.
        changes = [
            period_end(hours, resolution, first) if cut <= first else next_cut(hours, resolution, now)
            for hours, resolution, first, last in self._snapshot.series()
            if (cut := visible_before(hours, resolution, now)) <= last
        ]
        if not changes:
            return longest
        return min(longest, max(0.0, (min(changes) - now) / self.speed) + _WAKE_MARGIN)

    def window_start(self, symbol: str, resolution: Resolution, found: Found) -> int:
        """Where the bars that a read of a replayed topic found begin in memory (UTC seconds): `found.start`; for a
        topic that shows no bar at all yet (none found, none before), at the latest a period before its first
        stored bar. Its first bars are stamped when their period begins but shown once it has ended, before the
        read's start when that is the view's time (a subscription reads from then on): a window beginning there
        would never hold them, nor reload them as the view changes."""
        item = self._snapshot.instruments.get(symbol.upper())
        source = None if item is None else source_for(item.spans, resolution)
        if item is None or source is None or len(found.bars) or not found.no_data:
            return found.start
        # The bar holding the first stored one is stamped less than a nominal period before it (a month counts 31
        # days); no rows are stored before it, so reading from there costs nothing more.
        return min(found.start, item.spans[source][0] - resolution.seconds)

    @property
    def view_time(self) -> float:
        """The replay time the view shows (UTC seconds): the clock's when the view's revision was last asked."""
        seen = self._view_time
        return self.clock() if seen is None else seen

    @property
    def store_revision(self) -> int | None:
        """The store's revision when the replayed instruments were last read (None: not read yet)."""
        return self._snapshot.revision

    def hours(self, symbol: str) -> TradingHours | None:
        """The trading hours of a replayed instrument (None: not replayed, or not known yet)."""
        return self._snapshot.hours.get(symbol.upper())

    def known(self, store: BarStore) -> _Snapshot:
        """The replayed instruments as `store` (the store itself) holds them now: read again when it changed."""
        revision = store.revision()
        with self._lock:
            if self._snapshot.revision != revision:
                replayed = {item.spec.symbol.upper(): item for item in store.instruments() if self.replays(item.spec)}
                hours = {symbol: hours_of(item.spec) for symbol, item in replayed.items()}
                self._snapshot = _Snapshot(revision, replayed, hours)
            return self._snapshot

    def revision(self, store: BarStore) -> int:
        """The view's revision: a number that changes whenever `store` changed or a stored bar's period ended."""
        snapshot = self.known(store)
        now = self.clock()
        # Per series, where its bars shown end, held within its data: nothing changes before or after it.
        shown = (
            snapshot.revision,
            tuple(
                min(max(visible_before(hours, resolution, now), first), last + 1)
                for hours, resolution, first, last in snapshot.series()
            ),
        )
        with self._lock:
            self._view_time = now
            if shown != self._shown:
                self._shown = shown
                self._revision += 1
            return self._revision


def hours_of(spec: InstrumentSpec) -> TradingHours | None:
    """The trading hours of a stored instrument's session and timezone; None when they cannot be read (the stored
    feed leaves such an instrument out, with a warning)."""
    try:
        return spec.trading_hours()
    except SessionError:
        return None


class _ReplayedStore:
    """The store as it stood at the replay's time: the replayed instruments, each series cut where its bars have
    not ended yet; its rows are kept in memory while the store does not change. Writes go to the store itself (what
    they add is shown once the replay reaches it)."""

    def __init__(self, store: BarStore, replay: Replay) -> None:
        self._store = store
        self._replay = replay
        self._rows = RowBlocks(store)

    def migrate(self) -> None:
        self._store.migrate()

    def instruments(self) -> list[StoredInstrument]:
        """The replayed instruments, each series' span ending at its last bar shown. When none is shown yet, it ends
        a second before the period holding the view's time: before its first bar (the feed says there is no data
        before now), and so that a read reaching the view's time counts as running up to the newest bar, which
        keeps the topic's bars in memory, reloaded as the view changes (ending before the first bar, a subscription
        made an hour before it never streamed)."""
        snapshot = self._replay.known(self._store)
        now = self._replay.view_time
        shown = []
        for symbol, item in snapshot.instruments.items():
            hours = snapshot.hours[symbol]
            spans = {}
            for resolution, (first, last) in item.spans.items():
                cut = visible_before(hours, resolution, now) if hours is not None else first
                if cut <= first:
                    last = cut - 1
                elif cut <= last:
                    last = int(self._store.read_last(item.spec.symbol, resolution, cut, 1).times[-1])
                spans[resolution] = (first, last)
            shown.append(dataclasses.replace(item, spans=spans))
        return shown

    def put_instrument(self, spec: InstrumentSpec) -> None:
        self._store.put_instrument(spec)

    def write_bars(self, symbol: str, resolution: Resolution, rows: BarRows, *, replace: bool = False) -> WriteResult:
        return self._store.write_bars(symbol, resolution, rows, replace=replace)

    def read_bars(self, symbol: str, resolution: Resolution, start: int, end: int) -> BarRows:
        end = min(end, self._cut(symbol, resolution))
        return self._rows.read(self._replay.store_revision, symbol, resolution, start, end)

    def read_last(self, symbol: str, resolution: Resolution, end: int, count: int) -> BarRows:
        return self._store.read_last(symbol, resolution, min(end, self._cut(symbol, resolution)), count)

    def revision(self) -> int:
        return self._replay.revision(self._store)

    def close(self) -> None:
        self._store.close()

    def _cut(self, symbol: str, resolution: Resolution) -> int:
        """Bars of the series stamped before this are shown; none of an instrument that does not replay."""
        hours = self._replay.hours(symbol)
        return visible_before(hours, resolution, self._replay.view_time) if hours is not None else -(1 << 62)

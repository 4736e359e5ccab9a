"""What the importer, the stored feed and ingest need of a store, whichever engine holds it.

The interface is synchronous: the command line calls it directly, the server from worker threads (an engine's
driver call blocks, and a thread keeps the event loop free). Prices are stored as integer ticks (a multiple of
`minmov / pricescale`), so that a price is exact and its place on the tick grid is checked once, on the way in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt

from app.market.instruments import AssetClass
from app.market.resolutions import Resolution
from app.market.sessions import trading_hours
from app.market.trading_hours import NEW_YORK, TradingHours

Times = npt.NDArray[np.int64]
Ticks = npt.NDArray[np.int64]
Volumes = npt.NDArray[np.float64]


class StoreError(Exception):
    """The store cannot do what was asked (the message says why, for a person)."""


class StoreUnavailableError(StoreError):
    """The store does not answer (a server down, a file that cannot be opened): a request gets 503.

    The message, for the log, says where the store is and what its driver said; `reason` is what a client may be
    told: one line naming no host, port, user, database or file (`PostgreSQL connection refused`)."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


def public_reason(error: StoreError) -> str:
    """What a client may be told of `error`: the reason the store does not answer, or, for any other StoreError
    (whose message may name the store's location), only where to look."""
    return error.reason if isinstance(error, StoreUnavailableError) else "it cannot be used (the server's log says why)"


class ConflictError(StoreError):
    """Bars already stored at these times (UTC seconds) hold other values; nothing was written."""

    def __init__(self, symbol: str, resolution: Resolution, times: list[int]) -> None:
        self.symbol = symbol
        self.resolution = resolution
        self.times = times
        super().__init__(f"{symbol} {resolution}: {len(times)} bar(s) already stored with other values")


@dataclass(frozen=True, slots=True)
class InstrumentSpec:
    """A stored instrument as TradingView's SymbolInfo describes it (`session` and `timezone` spelled as
    TradingView spells them, e.g. `0930-1600` in `America/New_York`)."""

    symbol: str
    asset_class: AssetClass
    exchange: str
    timezone: str
    session: str
    description: str
    pricescale: int
    minmov: int = 1
    volume_precision: int = 0
    currency: str = "USD"

    def trading_hours(self) -> TradingHours:
        """The hours it is served with: its session in its timezone, on the NYSE holiday calendar for stocks in New
        York (the one exchange calendar there is). Raises SessionError for a session or timezone it cannot read."""
        holidays = self.asset_class is AssetClass.STOCK and self.timezone == NEW_YORK
        return trading_hours(self.session, self.timezone, exchange_holidays=holidays)


@dataclass(frozen=True, slots=True, eq=False)
class BarRows:
    """Bars of one instrument and resolution as columns, times ascending and unique: `times` the bar's start
    (UTC seconds; D/W/M at 00:00 UTC of their first trading day), prices in ticks, volume in units."""

    times: Times
    opens: Ticks
    highs: Ticks
    lows: Ticks
    closes: Ticks
    volumes: Volumes

    def __len__(self) -> int:
        return len(self.times)

    @classmethod
    def empty(cls) -> BarRows:
        """No bars."""
        ticks = np.empty(0, dtype=np.int64)
        return cls(ticks, ticks, ticks, ticks, ticks, np.empty(0, dtype=np.float64))


@dataclass(frozen=True, slots=True)
class WriteResult:
    """What a write did: rows new to the store, rows already stored with the same values, rows replaced."""

    inserted: int
    unchanged: int
    replaced: int


@dataclass(frozen=True, slots=True)
class Rewrites:
    """The writes that changed a series other than by adding bars after its last one (a bar replaced, a bar added
    before the last): how many there were, the earliest bar time the latest of them wrote and the earliest any of
    them wrote (UTC seconds). Appends are not counted: a reader that holds a series' newest bars reloads their tail
    on any change, and more only when a rewrite happened."""

    count: int
    latest: int
    earliest: int

    def since(self, seen: int) -> int | None:
        """The earliest bar time (UTC seconds) that may have changed since the reader saw `seen` rewrites: None
        when none happened since, the latest one's when one did, the earliest of all when more did."""
        if self.count == seen:
            return None
        return self.latest if self.count == seen + 1 else self.earliest


@dataclass(frozen=True, slots=True)
class StoredInstrument:
    """An instrument of the store with the resolutions it holds bars at (finest first) and, for each of them,
    the times of its first and last stored bar (UTC seconds, both included) and its rewrites (only those series
    that had any)."""

    spec: InstrumentSpec
    resolutions: tuple[Resolution, ...]
    spans: dict[Resolution, tuple[int, int]] = field(default_factory=dict)
    rewrites: dict[Resolution, Rewrites] = field(default_factory=dict)


class BarStore(Protocol):
    """A store of instruments and their bars. Every method raises StoreUnavailableError when the engine does not
    answer; writes are all-or-nothing (one transaction)."""

    def migrate(self) -> None:
        """Bring the schema to the newest version; safe when several processes start at once (a lock)."""

    def instruments(self) -> list[StoredInstrument]:
        """Every stored instrument, by symbol."""

    def put_instrument(self, spec: InstrumentSpec) -> None:
        """Create the instrument or replace its description (its bars stay)."""

    def write_bars(self, symbol: str, resolution: Resolution, rows: BarRows, *, replace: bool = False) -> WriteResult:
        """Store `rows`. A row whose time is stored with other values raises ConflictError (all of them named,
        nothing written) unless `replace`. Raises StoreError for an unknown symbol."""

    def read_bars(self, symbol: str, resolution: Resolution, start: int, end: int) -> BarRows:
        """Stored bars with time in [start, end) (UTC seconds), ascending."""

    def read_last(self, symbol: str, resolution: Resolution, end: int, count: int) -> BarRows:
        """The last `count` stored bars with time before `end`, ascending."""

    def revision(self) -> int:
        """A number that changes whenever instruments or bars change (a cheap poll for new imports)."""

    def close(self) -> None:
        """Release connections."""

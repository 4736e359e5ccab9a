"""The store's instruments as the feed serves them: Instruments, quotes, and bars as clients see them.

A stored instrument is described by its spec (TradingView's session and timezone, pricescale, exchange) and served
at each stored resolution and every coarser one (`aggregate.served`); one with no bars yet (made for live ingest)
at every resolution. A spec whose session or timezone cannot be read is left out, with a warning in the log.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from app.market.aggregate import TickColumns, served
from app.market.bars import Bar, BarColumns, History, Volumes
from app.market.feed import BarQuote
from app.market.instruments import CRYPTO, FX, NASDAQ, AssetClass, Exchange, Instrument
from app.market.resolutions import Resolution
from app.market.sessions import SessionError
from app.store.base import BarStore, Rewrites, StoredInstrument
from app.store.reading import END_OF_TIME, Series, read_history

log = logging.getLogger(__name__)
_EXCHANGES = {exchange.value: exchange for exchange in (NASDAQ, CRYPTO, FX)}
NO_QUOTE = BarQuote(None, None, None, None, None, None, None, None)


@dataclass(frozen=True, slots=True)
class Listing:
    """A stored instrument as served: the Instrument, what reads need, each stored resolution's first bar time
    (UTC seconds) and its rewrites (those that had any: what tells the feed which bars it holds may be stale)."""

    instrument: Instrument
    series: Series
    first_times: dict[Resolution, int]
    rewrites: dict[Resolution, Rewrites]


def listings(stored: list[StoredInstrument]) -> dict[str, Listing]:
    """The servable stored instruments by symbol."""
    found = {}
    for item in stored:
        spec = item.spec
        try:
            hours = spec.trading_hours()
        except SessionError as error:
            log.warning("Stored instrument %s is not served: %s", spec.symbol, error)
            continue
        instrument = Instrument(
            spec.symbol.upper(),
            spec.description or spec.symbol,
            _EXCHANGES.get(spec.exchange.upper()) or Exchange(spec.exchange.upper(), spec.exchange, spec.exchange),
            AssetClass(spec.asset_class),
            hours,
            spec.pricescale,
            spec.minmov,
            spec.volume_precision,
            spec.currency,
            resolutions=served(item.resolutions) if item.resolutions else tuple(Resolution),
        )
        last_times = {resolution: last for resolution, (_, last) in item.spans.items()}
        first_times = {resolution: first for resolution, (first, _) in item.spans.items()}
        series = Series(spec.symbol, hours, last_times)
        found[instrument.symbol] = Listing(instrument, series, first_times, item.rewrites)
    return found


def quote(store: BarStore, listing: Listing) -> BarQuote:
    """The quote of the newest trading day (the newest bar of the finest resolution served that is at least a day,
    and the one before it). Raises StoreUnavailableError when the store does not answer."""
    resolutions = [r for r in listing.instrument.resolutions if not r.is_intraday]
    if not resolutions or not listing.series.stored:
        return NO_QUOTE
    days = read_history(store, listing.series, resolutions[0], END_OF_TIME, END_OF_TIME, 2).bars
    if not len(days):
        return NO_QUOTE
    scale = listing.instrument.pricescale
    close = int(days.closes[-1])
    today = {
        "last": close / scale,
        "open": int(days.opens[-1]) / scale,
        "high": int(days.highs[-1]) / scale,
        "low": int(days.lows[-1]) / scale,
        "volume": _volumes(listing.instrument, days[len(days) - 1 :]).tolist()[0],
    }
    if len(days) < 2:
        return BarQuote(**today, prev_close=None, change=None, change_percent=None)
    previous = int(days.closes[-2])
    return BarQuote(
        **today,
        prev_close=previous / scale,
        change=(close - previous) / scale,
        change_percent=round(100 * (close - previous) / previous, 2) if previous else None,
    )


def bar_columns(instrument: Instrument, bars: TickColumns) -> BarColumns:
    """Bars as clients see them: `time` in UTC ms, prices in the instrument's units, volumes as stored (whole
    numbers for an instrument whose volume has no decimals)."""
    prices = np.column_stack((bars.opens, bars.highs, bars.lows, bars.closes)) / instrument.pricescale
    return BarColumns.of(bars.times * 1000, prices, _volumes(instrument, bars))


def history(instrument: Instrument, bars: TickColumns, no_data: bool) -> History:
    """A history answer of `bars` (ascending)."""
    return History((bar_columns(instrument, bars),), no_data=False) if len(bars) else History((), no_data)


def last_bar(instrument: Instrument, bars: TickColumns) -> Bar | None:
    """The newest of `bars` as clients see it, or None when there is none."""
    return bar_columns(instrument, bars[len(bars) - 1 :]).bars()[0] if len(bars) else None


def _volumes(instrument: Instrument, bars: TickColumns) -> Volumes:
    volumes = bars.volumes
    if instrument.volume_precision == 0 and bool(np.all(volumes == np.floor(volumes))):
        return volumes.astype(np.int64)
    return volumes

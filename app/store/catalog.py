"""Instruments as table rows, shared by both engines: a spec checked and flattened, stored instruments rebuilt
with the span and rewrites of each series (symbol, resolution) of bars."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from app.market.instruments import AssetClass
from app.market.resolutions import Resolution
from app.store.base import InstrumentSpec, Rewrites, StoredInstrument, StoreError

# The instruments table's columns, in InstrumentSpec's field order.
COLUMNS = (
    "symbol",
    "asset_class",
    "exchange",
    "timezone",
    "session",
    "description",
    "pricescale",
    "minmov",
    "volume_precision",
    "currency",
)
InstrumentRow = tuple[str, str, str, str, str, str, int, int, int, str]
# The series table's columns that `stored_instruments` reads, in its order.
SERIES_COLUMNS = "symbol, resolution, first_time, last_time, rewrites, rewrite_latest_from, rewrite_earliest_from"
_ORDER = {resolution: rank for rank, resolution in enumerate(Resolution)}


def instrument_row(spec: InstrumentSpec) -> InstrumentRow:
    """`spec` as a row of the instruments table. Raises StoreError for an empty symbol or a pricescale, minmov
    below 1 or a negative volume precision."""
    if not spec.symbol or spec.symbol != spec.symbol.strip():
        raise StoreError(f"instrument symbol {spec.symbol!r} is empty or has surrounding spaces")
    if spec.pricescale < 1 or spec.minmov < 1 or spec.volume_precision < 0:
        raise StoreError(
            f"{spec.symbol}: pricescale and minmov must be at least 1, volume_precision at least 0 "
            f"(got {spec.pricescale}, {spec.minmov}, {spec.volume_precision})"
        )
    if spec.asset_class not in set(AssetClass):
        raise StoreError(f"{spec.symbol}: unknown type {spec.asset_class!r}; one of {', '.join(AssetClass)}")
    return (
        spec.symbol,
        AssetClass(spec.asset_class).value,
        spec.exchange,
        spec.timezone,
        spec.session,
        spec.description,
        spec.pricescale,
        spec.minmov,
        spec.volume_precision,
        spec.currency,
    )


def stored_instruments(
    instruments: Iterable[tuple[Any, ...]], series: Iterable[tuple[Any, ...]]
) -> list[StoredInstrument]:
    """Stored instruments by symbol from rows of COLUMNS and of SERIES_COLUMNS (symbol, resolution, first and last
    bar time in UTC seconds, rewrites and the times they wrote from), each with its resolutions finest first, their
    spans and rewrites."""
    spans: defaultdict[str, dict[Resolution, tuple[int, int]]] = defaultdict(dict)
    rewrites: defaultdict[str, dict[Resolution, Rewrites]] = defaultdict(dict)
    for symbol, resolution, first, last, count, latest, earliest in series:
        spans[symbol][Resolution(resolution)] = (first, last)
        if count:
            rewrites[symbol][Resolution(resolution)] = Rewrites(count, latest, earliest)
    stored = []
    for symbol, asset_class, exchange, zone, session, description, scale, minmov, precision, currency in sorted(
        instruments
    ):
        spec = InstrumentSpec(
            symbol, AssetClass(asset_class), exchange, zone, session, description, scale, minmov, precision, currency
        )
        own = dict(sorted(spans[symbol].items(), key=lambda item: _ORDER[item[0]]))
        stored.append(StoredInstrument(spec, tuple(own), own, rewrites[symbol]))
    return stored

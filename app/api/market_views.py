"""Market objects as the datafeeds present them: symbol info, search results, quotes, config."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app.market.bars import Quote
from app.market.feed import BarQuote, MarketFeed
from app.market.instruments import AssetClass, Instrument
from app.market.resolutions import Resolution

SUPPORTED_RESOLUTIONS = [r.value for r in Resolution]
SYMBOL_TYPES = [{"name": "All types", "value": ""}] + [
    {"name": kind.value.capitalize(), "value": kind.value} for kind in AssetClass
]
# What a simulated instrument's description ends with (the chart page reads it too).
SIMULATED = " (simulated)"
# The quotes operations' description, shared by both datafeeds.
QUOTES = (
    "The trading day so far for each symbol; a symbol the server does not have gets an entry with `s`: error saying "
    "why. While the store of imported instruments does not answer, a symbol the server does not simulate gets such "
    "an entry (`GOOG is not simulated, and the store does not answer: …`) and the other symbols are answered as "
    "ever (an imported instrument already listed keeps its quote of the store's last view): a batch is never a 503."
)


def describe(instrument: Instrument) -> str:
    """The instrument's description, saying so when its data is simulated."""
    return f"{instrument.description}{SIMULATED}" if instrument.simulated else instrument.description


def config(feed: MarketFeed) -> dict[str, Any]:
    """The datafeed configuration shared by the REST and UDF datafeeds."""
    exchanges = {i.exchange.value: i.exchange for i in feed.instruments}
    return {
        "supported_resolutions": SUPPORTED_RESOLUTIONS,
        "supports_marks": False,
        "supports_timescale_marks": False,
        "supports_time": True,
        "exchanges": [{"value": "", "name": "All exchanges", "desc": ""}]
        + [{"value": e.value, "name": e.name, "desc": e.desc} for e in exchanges.values()],
        "symbols_types": SYMBOL_TYPES,
    }


def symbol_info(instrument: Instrument) -> dict[str, Any]:
    """TradingView LibrarySymbolInfo for `instrument`: the resolutions it is served at (for stored data, the stored
    ones and every coarser one), intraday ones only when it has them."""
    served = instrument.resolutions
    return {
        "name": instrument.symbol,
        "full_name": f"{instrument.exchange.value}:{instrument.symbol}",
        "ticker": instrument.symbol,
        "description": describe(instrument),
        "type": instrument.asset_class.value,
        "session": instrument.hours.session,
        "timezone": instrument.hours.timezone,
        "exchange": instrument.exchange.value,
        "listed_exchange": instrument.exchange.value,
        "format": "price",
        "pricescale": instrument.pricescale,
        "minmov": instrument.minmov,
        "has_intraday": any(resolution.is_intraday for resolution in served),
        "has_daily": Resolution.DAY in served,
        "has_weekly_and_monthly": Resolution.WEEK in served or Resolution.MONTH in served,
        "supported_resolutions": [resolution.value for resolution in served],
        "intraday_multipliers": [resolution.value for resolution in served if resolution.is_intraday],
        "volume_precision": instrument.volume_precision,
        "data_status": "streaming",
        "visible_plots_set": "ohlcv",
        "currency_code": instrument.currency,
    }


def search(feed: MarketFeed, text: str, symbol_type: str, exchange: str, limit: int) -> list[dict[str, Any]]:
    """Instruments whose symbol or description contains `text`, best matches first."""
    needle = text.strip().upper()

    def rank(inst: Instrument) -> tuple[int, str]:
        if inst.symbol == needle:
            return 0, inst.symbol
        return (1 if inst.symbol.startswith(needle) else 2), inst.symbol

    matches = [
        inst
        for inst in feed.instruments
        if (needle in inst.symbol or needle in inst.description.upper())
        and (not symbol_type or inst.asset_class.value == symbol_type.lower())
        and (not exchange or inst.exchange.value == exchange.upper())
    ]
    return [
        {
            "symbol": inst.symbol,
            "full_name": f"{inst.exchange.value}:{inst.symbol}",
            "description": describe(inst),
            "exchange": inst.exchange.value,
            "ticker": inst.symbol,
            "type": inst.asset_class.value,
        }
        for inst in sorted(matches, key=rank)[:limit]
    ]


def quote(feed: MarketFeed, symbol: str, why_missing: Callable[[str], str]) -> dict[str, Any]:
    """One entry of a quotes answer: `s` ok with values, or error for a symbol the feed does not have, saying why
    (`why_missing(symbol)`: unknown, or held by a part of the server that does not answer). A value with nothing to
    make it of (a stored instrument has no bid or ask, nor a previous close before its second day) is left out.

    `n` is the symbol as requested (`NASDAQ:AAPL` stays `NASDAQ:AAPL`): TradingView matches quotes to its
    requests by that name (UDF specification, quotes).
    """
    instrument = feed.instrument(symbol)
    if instrument is None:
        return {"s": "error", "n": symbol, "v": {"error": why_missing(symbol)}}
    values = _quote_values(feed.quote(instrument.symbol)) | {
        "short_name": instrument.symbol,
        "exchange": instrument.exchange.value,
        "description": describe(instrument),
        "original_name": f"{instrument.exchange.value}:{instrument.symbol}",
    }
    return {"s": "ok", "n": symbol, "v": values}


def _quote_values(q: Quote | BarQuote) -> dict[str, float]:
    """The quote's prices and volume under their QuoteData names, those it has."""
    book = {"ask": q.ask, "bid": q.bid, "spread": q.spread} if isinstance(q, Quote) else {}
    values = {
        "lp": q.last,
        **book,
        "open_price": q.open,
        "high_price": q.high,
        "low_price": q.low,
        "prev_close_price": q.prev_close,
        "volume": q.volume,
        "ch": q.change,
        "chp": q.change_percent,
    }
    return {name: value for name, value in values.items() if value is not None}

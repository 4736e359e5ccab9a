"""Market objects as the datafeeds present them: symbol info, search results, quotes, config."""

from __future__ import annotations

from typing import Any

from app.market.feed import MarketFeed
from app.market.instruments import AssetClass, Instrument
from app.market.resolutions import Resolution

SUPPORTED_RESOLUTIONS = [r.value for r in Resolution]
INTRADAY_MULTIPLIERS = [r.value for r in Resolution if r.is_intraday]
SYMBOL_TYPES = [{"name": "All types", "value": ""}] + [
    {"name": kind.value.capitalize(), "value": kind.value} for kind in AssetClass
]


def describe(instrument: Instrument, simulated: bool) -> str:
    """The instrument's description, saying so when its data is simulated."""
    return f"{instrument.description} (simulated)" if simulated else instrument.description


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


def symbol_info(instrument: Instrument, simulated: bool) -> dict[str, Any]:
    """TradingView LibrarySymbolInfo for `instrument`."""
    return {
        "name": instrument.symbol,
        "full_name": f"{instrument.exchange.value}:{instrument.symbol}",
        "ticker": instrument.symbol,
        "description": describe(instrument, simulated),
        "type": instrument.asset_class.value,
        "session": instrument.hours.session,
        "timezone": instrument.hours.timezone,
        "exchange": instrument.exchange.value,
        "listed_exchange": instrument.exchange.value,
        "format": "price",
        "pricescale": instrument.pricescale,
        "minmov": instrument.minmov,
        "has_intraday": True,
        "has_daily": True,
        "has_weekly_and_monthly": True,
        "supported_resolutions": SUPPORTED_RESOLUTIONS,
        "intraday_multipliers": INTRADAY_MULTIPLIERS,
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
            "description": describe(inst, feed.simulated),
            "exchange": inst.exchange.value,
            "ticker": inst.symbol,
            "type": inst.asset_class.value,
        }
        for inst in sorted(matches, key=rank)[:limit]
    ]


def quote(feed: MarketFeed, symbol: str) -> dict[str, Any]:
    """One entry of a quotes answer: `s` ok with values, or error for an unknown symbol.

    `n` is the symbol as requested (`NASDAQ:AAPL` stays `NASDAQ:AAPL`): TradingView matches quotes to its
    requests by that name (UDF specification, quotes).
    """
    instrument = feed.instrument(symbol)
    if instrument is None:
        return {"s": "error", "n": symbol, "v": {"error": f"Unknown symbol: {symbol}"}}
    q = feed.quote(instrument.symbol)
    return {
        "s": "ok",
        "n": symbol,
        "v": {
            "lp": q.last,
            "ask": q.ask,
            "bid": q.bid,
            "spread": q.spread,
            "open_price": q.open,
            "high_price": q.high,
            "low_price": q.low,
            "prev_close_price": q.prev_close,
            "volume": q.volume,
            "ch": q.change,
            "chp": q.change_percent,
            "short_name": instrument.symbol,
            "exchange": instrument.exchange.value,
            "description": describe(instrument, feed.simulated),
            "original_name": f"{instrument.exchange.value}:{instrument.symbol}",
        },
    }

"""Schemas of the REST datafeed (`/api/v1/datafeed`), in the seed's shapes."""

from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate

from app.schemas.fields import ResolutionField, SymbolField, count_back_field, timestamp
from app.schemas.limits import MAX_QUERY_LENGTH, MAX_QUOTE_SYMBOLS, MAX_SEARCH_RESULTS


class QuerySchema(Schema):
    """Query strings ignore parameters they do not know, as chart libraries add their own."""

    class Meta:
        unknown = EXCLUDE


class ExchangeSchema(Schema):
    value = fields.String(required=True)
    name = fields.String(required=True)
    desc = fields.String(required=True)


class SymbolTypeSchema(Schema):
    name = fields.String(required=True)
    value = fields.String(required=True)


class DatafeedConfigSchema(Schema):
    supported_resolutions = fields.List(fields.String(), required=True)
    supports_marks = fields.Boolean(required=True)
    supports_timescale_marks = fields.Boolean(required=True)
    supports_time = fields.Boolean(required=True)
    exchanges = fields.List(fields.Nested(ExchangeSchema), required=True)
    symbols_types = fields.List(fields.Nested(SymbolTypeSchema), required=True)


class SearchQuerySchema(QuerySchema):
    user_input = fields.String(
        load_default="",
        validate=validate.Length(max=MAX_QUERY_LENGTH),
        metadata={"description": "Case-insensitive substring of the symbol or description"},
    )
    exchange = fields.String(load_default="", validate=validate.Length(max=MAX_QUERY_LENGTH))
    symbol_type = fields.String(load_default="", validate=validate.Length(max=MAX_QUERY_LENGTH))
    max_results = fields.Integer(
        load_default=50,
        validate=validate.Range(min=1, max=MAX_SEARCH_RESULTS),
        metadata={"description": f"At most {MAX_SEARCH_RESULTS}"},
    )


class SearchResultSchema(Schema):
    symbol = fields.String(required=True)
    full_name = fields.String(required=True)
    description = fields.String(required=True)
    exchange = fields.String(required=True)
    ticker = fields.String(required=True)
    type = fields.String(required=True)


class SymbolPathSchema(Schema):
    symbol = SymbolField(required=True)


class SymbolInfoSchema(Schema):
    """TradingView's LibrarySymbolInfo."""

    name = fields.String(required=True)
    full_name = fields.String(required=True)
    ticker = fields.String(required=True)
    description = fields.String(required=True)
    type = fields.String(required=True)
    session = fields.String(required=True)
    timezone = fields.String(required=True)
    exchange = fields.String(required=True)
    listed_exchange = fields.String(required=True)
    format = fields.String(required=True)
    pricescale = fields.Integer(required=True)
    minmov = fields.Integer(required=True)
    has_intraday = fields.Boolean(required=True)
    has_daily = fields.Boolean(required=True)
    has_weekly_and_monthly = fields.Boolean(required=True)
    supported_resolutions = fields.List(fields.String(), required=True)
    intraday_multipliers = fields.List(fields.String(), required=True)
    volume_precision = fields.Integer(required=True)
    data_status = fields.String(required=True)
    visible_plots_set = fields.String(required=True)
    currency_code = fields.String(
        required=True,
        metadata={
            "description": "ISO 4217 code of the currency prices are quoted in: USD for the NASDAQ stocks and "
            "the USD-quoted crypto, a forex pair's second currency (EURUSD: USD, USDJPY: JPY)",
            "example": "USD",
        },
    )


class BarsQuerySchema(QuerySchema):
    symbol = SymbolField(required=True)
    resolution = ResolutionField(required=True)
    from_time = timestamp("Range start, inclusive", required=True)
    to_time = timestamp("Range end, exclusive", required=True)
    count_back = count_back_field()


class BarSchema(Schema):
    time = fields.Integer(
        required=True,
        metadata={
            "description": "UTC milliseconds: the period start for intraday bars (on the grid from the session "
            "open), 00:00 UTC of the trading day for daily bars, of the first trading day for weekly and monthly"
        },
    )
    open = fields.Float(required=True)
    high = fields.Float(required=True)
    low = fields.Float(required=True)
    close = fields.Float(required=True)
    volume = fields.Float(required=True)


class BarsSchema(Schema):
    bars = fields.List(fields.Nested(BarSchema), required=True)
    no_data = fields.Boolean(required=True, metadata={"description": "True when no bar exists before to_time"})


class QuotesRequestSchema(Schema):
    symbols = fields.List(
        SymbolField(),
        required=True,
        validate=validate.Length(min=1, max=MAX_QUOTE_SYMBOLS),
        metadata={"description": f"1 to {MAX_QUOTE_SYMBOLS} symbols"},
    )


class QuoteValuesSchema(Schema):
    """Quote fields; an unknown symbol gets only `error`."""

    lp = fields.Float()
    ask = fields.Float()
    bid = fields.Float()
    spread = fields.Float()
    open_price = fields.Float()
    high_price = fields.Float()
    low_price = fields.Float()
    prev_close_price = fields.Float()
    volume = fields.Float()
    ch = fields.Float()
    chp = fields.Float()
    short_name = fields.String()
    exchange = fields.String()
    description = fields.String()
    original_name = fields.String()
    error = fields.String()


class QuoteSchema(Schema):
    s = fields.String(required=True, validate=validate.OneOf(("ok", "error")))
    n = fields.String(required=True)
    v = fields.Nested(QuoteValuesSchema, required=True)


class BroadcasterStateSchema(Schema):
    enabled = fields.Boolean(required=True)
    running = fields.Boolean(required=True)
    leading = fields.Boolean(
        required=True,
        metadata={
            "description": "Whether this process runs the broadcaster: always with BROKER_URL=memory://; with Redis, "
            "the one process of the deployment that holds the broadcaster's lease (the others relay its updates)"
        },
    )
    interval = fields.Float(required=True, metadata={"description": "Seconds between market ticks"})
    ticks = fields.Integer(required=True, metadata={"description": "Ticks this process has run as the broadcaster"})
    delivered = fields.Integer(required=True, metadata={"description": "Updates written to clients"})
    dropped = fields.Integer(required=True, metadata={"description": "Updates skipped for clients not reading"})


class DatafeedHealthSchema(Schema):
    status = fields.String(required=True)
    simulated = fields.Boolean(required=True)
    symbols_loaded = fields.Integer(required=True)
    subscribers = fields.Integer(required=True, metadata={"description": "WebSocket clients with a subscription"})
    connections = fields.Integer(required=True)
    topics = fields.Integer(required=True, metadata={"description": "Topics with subscribers"})
    broadcaster = fields.Nested(BroadcasterStateSchema, required=True)

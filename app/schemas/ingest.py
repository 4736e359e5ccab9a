"""The body of `POST /api/v1/ingest/trades` and its answer: the schemas that document them, and `read_trades`, which
checks a body against the same rules fast enough for tens of thousands of trades a second.

The schemas are the one description of the body: the OpenAPI document is generated from them, and a body that
`read_trades` refuses is refused with their messages (it loads such a body with them to say what is wrong).
Loading a valid body with marshmallow, though, costs about 16 ms per 1,000 trades; `read_trades` checks a valid
one as columns (orjson, numpy) in well under a millisecond.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import orjson
from marshmallow import Schema, ValidationError, fields, validate

from app.market.trades import Posted
from app.schemas.fields import SYMBOL_PATTERN, SymbolField
from app.schemas.limits import MAX_TIMESTAMP

# Trades one request may carry.
MAX_TRADES = 10_000
# Latest trade time accepted by the schema, UTC milliseconds (the server's clock bounds it much closer: see ingest).
MAX_TIME_MS = MAX_TIMESTAMP * 1000
TRADE_FIELDS = frozenset(("symbol", "price", "size", "time"))
_SYMBOL = re.compile(SYMBOL_PATTERN)
_NUMBERS = frozenset((int, float))


class NumberField(fields.Float):
    """A JSON number (an integer or a decimal), never a string that spells one."""

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> float:
        if type(value) not in _NUMBERS:
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class TradeSchema(Schema):
    """One trade: which instrument, at what price, how much, when."""

    symbol = SymbolField(
        required=True,
        metadata={
            "description": "A stored instrument's ticker, any case, with or without its exchange (NASDAQ:ACME); "
            "an instrument the server only simulates is unknown here"
        },
    )
    price = NumberField(
        required=True,
        validate=validate.Range(min=0, min_inclusive=False),
        metadata={
            "description": "Positive, on the instrument's tick grid: a multiple of minmov / pricescale (SymbolInfo), "
            "e.g. 187.25 for a stock priced in cents; at most 2**53 ticks of 1 / pricescale",
            "example": 187.25,
        },
    )
    size = NumberField(
        required=True,
        validate=validate.Range(min=0, min_inclusive=False),
        metadata={
            "description": "Volume traded, in the instrument's units (shares, coins, ...): positive, with at most "
            "the instrument's volume_precision decimals (SymbolInfo); at most 2**53 volume units of "
            "10**-volume_precision, and so is the volume of every bar it joins",
            "example": 100,
        },
    )
    time = fields.Integer(
        required=True,
        strict=True,
        validate=validate.Range(min=0, max=MAX_TIME_MS),
        metadata={"description": "When it traded, UTC milliseconds", "example": 1_772_116_200_000},
    )


class IngestRequestSchema(Schema):
    trades = fields.List(
        fields.Nested(TradeSchema),
        required=True,
        validate=validate.Length(min=1, max=MAX_TRADES),
        metadata={
            "description": f"1 to {MAX_TRADES} trades, of any instruments, in the order they happened (trades with "
            "equal time apply in this order); all are applied or none"
        },
    )


class IngestAnswerSchema(Schema):
    accepted = fields.Integer(required=True, metadata={"description": "Trades applied: all of the request's"})


def read_trades(body: bytes) -> Posted:
    """The trades of a request body, in arrival order. Raises marshmallow's ValidationError, with the schema's
    messages, for a body that is not JSON or does not match `IngestRequestSchema`."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise ValidationError(
            {"body": [f"Request body is not valid JSON: {error.msg} at line {error.lineno} column {error.colno}."]}
        ) from None
    try:
        return _columns(document)
    except (TypeError, KeyError, ValueError, OverflowError):
        # Something is wrong: the schema says what, in its own words.
        IngestRequestSchema().load(document)
        raise ValidationError({"body": ["Request body does not match the schema."]}) from None


def _columns(document: Any) -> Posted:
    """The trades as columns; TypeError, KeyError, ValueError or OverflowError when a rule of the schema fails."""
    if type(document) is not dict or document.keys() != {"trades"} or type(document["trades"]) is not list:
        raise TypeError("not {trades: [...]}")
    trades = document["trades"]
    if not 1 <= len(trades) <= MAX_TRADES:
        raise ValueError("trade count")
    symbols, prices, sizes, times = [], [], [], []
    for trade in trades:
        if type(trade) is not dict or trade.keys() != TRADE_FIELDS:
            raise TypeError("not a trade")
        symbols.append(trade["symbol"])
        prices.append(trade["price"])
        sizes.append(trade["size"])
        times.append(trade["time"])
    if {type(symbol) for symbol in symbols} != {str} or {type(time) for time in times} != {int}:
        raise TypeError("symbol or time")
    if not {type(price) for price in prices} | {type(size) for size in sizes} <= _NUMBERS:
        raise TypeError("price or size")
    if not all(_SYMBOL.fullmatch(symbol) for symbol in set(symbols)):
        raise ValueError("symbol")
    posted = Posted(symbols, np.array(prices, dtype=np.float64), np.array(sizes, dtype=np.float64), np.array(times))
    if posted.times.dtype != np.int64 or not (posted.prices > 0).all() or not (posted.sizes > 0).all():
        raise ValueError("range")
    if posted.times.min() < 0 or posted.times.max() > MAX_TIME_MS:
        raise ValueError("time")
    return posted

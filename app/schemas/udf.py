"""Schemas of the TradingView UDF-compatible datafeed (`/api/v1/udf`)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from app.schemas.datafeed import DatafeedConfigSchema, QuerySchema, QuoteSchema
from app.schemas.fields import ResolutionField, SymbolField, SymbolListField, count_back_field, timestamp
from app.schemas.limits import MAX_BARS, MAX_QUERY_LENGTH, MAX_QUOTE_SYMBOLS, MAX_SEARCH_RESULTS


class UdfErrorSchema(Schema):
    s = fields.String(required=True, metadata={"example": "error"})
    errmsg = fields.String(required=True)
    detail = fields.String(required=True)
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))


class UdfConfigSchema(DatafeedConfigSchema):
    supports_search = fields.Boolean(required=True)
    supports_group_request = fields.Boolean(required=True)


class UdfSymbolQuerySchema(QuerySchema):
    symbol = SymbolField(required=True)


class UdfSearchQuerySchema(QuerySchema):
    query = fields.String(load_default="", validate=validate.Length(max=MAX_QUERY_LENGTH))
    type = fields.String(load_default="", validate=validate.Length(max=MAX_QUERY_LENGTH))
    exchange = fields.String(load_default="", validate=validate.Length(max=MAX_QUERY_LENGTH))
    limit = fields.Integer(load_default=30, validate=validate.Range(min=1, max=MAX_SEARCH_RESULTS))


class UdfHistoryQuerySchema(QuerySchema):
    symbol = SymbolField(required=True)
    resolution = ResolutionField(required=True)
    from_ = timestamp("Range start, inclusive; ignored when `countback` is given", required=True, data_key="from")
    to = timestamp("Range end, inclusive", required=True)
    countback = count_back_field(
        metadata={
            "description": "Exactly this many bars ending at `to` (fewer only where history begins), taking "
            f"priority over `from`; 0 or absent: the range [from, to] (at most {MAX_BARS})"
        }
    )


class UdfHistorySchema(Schema):
    s = fields.String(required=True, validate=validate.OneOf(("ok", "no_data")))
    t = fields.List(fields.Integer(), metadata={"description": "Bar starts, UTC seconds"})
    o = fields.List(fields.Float())
    h = fields.List(fields.Float())
    l = fields.List(fields.Float())  # noqa: E741 - the UDF protocol's name
    c = fields.List(fields.Float())
    v = fields.List(fields.Float())
    nextTime = fields.Integer(  # noqa: N815 - the UDF protocol's name
        metadata={"description": "With no_data: start of the latest bar before the range, if any"}
    )


class UdfQuotesQuerySchema(QuerySchema):
    symbols = SymbolListField(MAX_QUOTE_SYMBOLS, required=True)


class UdfQuotesSchema(Schema):
    s = fields.String(required=True)
    d = fields.List(fields.Nested(QuoteSchema), required=True)

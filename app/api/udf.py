"""TradingView UDF-compatible datafeed (`/api/v1/udf`): bar times in seconds, columnar history."""

from __future__ import annotations

from functools import partial
from typing import Any

from aiohttp import web

from app.api import market_views
from app.api.errors import invalid, may_be_unavailable, resolve_or_404, why_missing
from app.api.history import HISTORY_DEPTH, fetch_history
from app.api.openapi import operation, query_input
from app.keys import FEED
from app.paths import UDF_PREFIX
from app.responses import json_response
from app.schemas.datafeed import SearchResultSchema, SymbolInfoSchema
from app.schemas.limits import MAX_BARS
from app.schemas.udf import (
    UdfConfigSchema,
    UdfHistoryQuerySchema,
    UdfHistorySchema,
    UdfQuotesQuerySchema,
    UdfQuotesSchema,
    UdfSearchQuerySchema,
    UdfSymbolQuerySchema,
)

PREFIX = UDF_PREFIX
routes = web.RouteTableDef()


@routes.get(f"{PREFIX}/config")
@operation(
    tag="udf", summary="UDF configuration", description="For the UDF adapter's `onReady`.", response=UdfConfigSchema
)
async def config(request: web.Request) -> web.Response:
    body = market_views.config(request.app[FEED]) | {"supports_search": True, "supports_group_request": False}
    return json_response(body)


@routes.get(f"{PREFIX}/symbols")
@operation(
    tag="udf",
    summary="Resolve a symbol",
    description="LibrarySymbolInfo for the symbol (any case).",
    response=SymbolInfoSchema,
    errors=(404, 422),
    udf_errors=True,
)
@may_be_unavailable(udf=True)
@query_input(UdfSymbolQuerySchema)
async def symbols(request: web.Request) -> web.Response:
    instrument = resolve_or_404(request, request["querystring"]["symbol"])
    return json_response(market_views.symbol_info(instrument))


@routes.get(f"{PREFIX}/search")
@operation(
    tag="udf",
    summary="Search symbols",
    description="Case-insensitive substring match on symbol and description.",
    response=SearchResultSchema(many=True),
    errors=(422,),
    udf_errors=True,
)
@query_input(UdfSearchQuerySchema)
async def search(request: web.Request) -> web.Response:
    q = request["querystring"]
    return json_response(market_views.search(request.app[FEED], q["query"], q["type"], q["exchange"], q["limit"]))


@routes.get(f"{PREFIX}/history")
@operation(
    tag="udf",
    summary="Historical bars (columnar)",
    description=(
        "The UDF specification's rule, not the JS API's `[from, to)`: bars whose start lies in [from, to], "
        "`to` inclusive (from = to = a bar's time gives that bar), `t` in UTC seconds. With `countback`, "
        "`from` is ignored: exactly `countback` bars ending at `to`, fewer only where history begins. "
        "`no_data` when no bar is found; `nextTime` then names the latest earlier bar, if any. "
        f"Limits: `countback` at most {MAX_BARS}; the range may span at most {MAX_BARS} periods. " + HISTORY_DEPTH
    ),
    response=UdfHistorySchema,
    errors=(404, 422),
    udf_errors=True,
)
@may_be_unavailable(udf=True)
@query_input(UdfHistoryQuerySchema)
async def history(request: web.Request) -> web.Response:
    q, feed = request["querystring"], request.app[FEED]
    instrument = resolve_or_404(request, q["symbol"])
    resolution, countback = q["resolution"], q["countback"]
    # `to` is inclusive: the feed's ranges end before their end, so they end just after it.
    end = q["to"] + 1
    start = end if countback else q["from_"]
    if start > end:
        raise invalid({"to": ["Must not be earlier than from."]})
    found = await fetch_history(
        feed, instrument, resolution, start, end, countback, names=("from", "to"), requester=request.remote
    )
    if not len(found):
        body: dict[str, Any] = {"s": "no_data"}
        if not found.no_data:
            earlier = (await feed.load_history(instrument.symbol, resolution, end, end, 1, request.remote)).columns()
            body["nextTime"] = earlier.time[-1]
        return json_response(body)
    bars = found.columns()
    return json_response(
        {"s": "ok", "t": bars.time, "o": bars.open, "h": bars.high, "l": bars.low, "c": bars.close, "v": bars.volume}
    )


@routes.get(f"{PREFIX}/quotes")
@operation(
    tag="udf",
    summary="Quotes",
    description=market_views.QUOTES,
    response=UdfQuotesSchema,
    errors=(422,),
    udf_errors=True,
)
@query_input(UdfQuotesQuerySchema)
async def quotes(request: web.Request) -> web.Response:
    feed = request.app[FEED]
    why = partial(why_missing, request)
    return json_response(
        {"s": "ok", "d": [market_views.quote(feed, s, why) for s in request["querystring"]["symbols"]]}
    )


@routes.get(f"{PREFIX}/time")
@operation(
    tag="udf",
    summary="Server time",
    description="UTC seconds as plain text.",
    response={"description": "UTC seconds as plain text, e.g. 1767225600"},
    produces="text/plain",
)
async def server_time(request: web.Request) -> web.Response:
    return web.Response(text=str(int(request.app[FEED].now())), content_type="text/plain")

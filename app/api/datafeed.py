"""The REST datafeed (`/api/v1/datafeed`): bar times in milliseconds, seconds in queries."""

from __future__ import annotations

from functools import partial

from aiohttp import web

from app.api import market_views
from app.api.errors import COMPONENTS, may_be_unavailable, resolve_or_404, why_missing
from app.api.history import HISTORY_DEPTH, fetch_history
from app.api.openapi import json_input, operation, path_input, query_input
from app.keys import BROADCASTER_STATS, FANOUT_STATS, FEED
from app.paths import DATAFEED_PREFIX
from app.responses import json_response
from app.schemas.datafeed import (
    BarsQuerySchema,
    BarsSchema,
    DatafeedConfigSchema,
    DatafeedHealthSchema,
    QuoteSchema,
    QuotesRequestSchema,
    SearchQuerySchema,
    SearchResultSchema,
    SymbolInfoSchema,
    SymbolPathSchema,
)
from app.schemas.limits import MAX_BARS

PREFIX = DATAFEED_PREFIX
routes = web.RouteTableDef()


@routes.get(f"{PREFIX}/config")
@operation(
    tag="datafeed", summary="Datafeed configuration", description="For `onReady`.", response=DatafeedConfigSchema
)
async def config(request: web.Request) -> web.Response:
    return json_response(market_views.config(request.app[FEED]))


@routes.get(f"{PREFIX}/search")
@operation(
    tag="datafeed",
    summary="Search symbols",
    description="Case-insensitive substring match on symbol and description; exact and prefix matches first.",
    response=SearchResultSchema(many=True),
    errors=(422,),
)
@query_input(SearchQuerySchema)
async def search(request: web.Request) -> web.Response:
    q = request["querystring"]
    found = market_views.search(request.app[FEED], q["user_input"], q["symbol_type"], q["exchange"], q["max_results"])
    return json_response(found)


@routes.get(f"{PREFIX}/resolve/{{symbol}}")
@operation(
    tag="datafeed",
    summary="Resolve a symbol",
    description="TradingView LibrarySymbolInfo for the symbol (any case).",
    response=SymbolInfoSchema,
    errors=(404, 422),
)
@may_be_unavailable()
@path_input(SymbolPathSchema)
async def resolve(request: web.Request) -> web.Response:
    instrument = resolve_or_404(request, request["match_info"]["symbol"])
    return json_response(market_views.symbol_info(instrument))


@routes.get(f"{PREFIX}/bars")
@operation(
    tag="datafeed",
    summary="Historical bars",
    description=(
        "Bars whose start lies in [from_time, to_time), ascending, `time` in UTC milliseconds. With fewer "
        "than `count_back`, earlier bars are added until there are `count_back`. The period containing "
        "now is included with its values so far. `no_data` is true exactly when no bar exists before "
        f"`to_time`. Limits: `count_back` at most {MAX_BARS}; the range may span at most {MAX_BARS} "
        "periods of the resolution (the part before the start of history or after now does not count). " + HISTORY_DEPTH
    ),
    response=BarsSchema,
    errors=(404, 422),
)
@may_be_unavailable()
@query_input(BarsQuerySchema)
async def bars(request: web.Request) -> web.Response:
    q, feed = request["querystring"], request.app[FEED]
    instrument = resolve_or_404(request, q["symbol"])
    history = await fetch_history(
        feed, instrument, q["resolution"], q["from_time"], q["to_time"], q["count_back"], requester=request.remote
    )
    body = b'{"bars":[' + history.json() + b'],"no_data":'
    body += b"true}" if history.no_data else b"false}"
    return web.Response(body=body, content_type="application/json")


@routes.post(f"{PREFIX}/quotes")
@operation(
    tag="datafeed",
    summary="Quotes",
    description=market_views.QUOTES,
    response=QuoteSchema(many=True),
    errors=(405, 413, 422),
)
@json_input(QuotesRequestSchema)
async def quotes(request: web.Request) -> web.Response:
    feed = request.app[FEED]
    why = partial(why_missing, request)
    return json_response([market_views.quote(feed, symbol, why) for symbol in request["json"]["symbols"]])


@routes.get(f"{PREFIX}/health")
@operation(
    tag="datafeed",
    summary="Datafeed health",
    description=(
        "Symbols loaded, WebSocket subscribers and the bar broadcaster's state; `status` is `degraded` while a "
        "part of the server (the store) does not answer, `simulated` true when any instrument is simulated."
    ),
    response=DatafeedHealthSchema,
)
async def health(request: web.Request) -> web.Response:
    feed = request.app[FEED]
    fanout, broadcaster = request.app[FANOUT_STATS].stats(), request.app[BROADCASTER_STATS].stats()
    failing = any(component.problem() is not None for component in request.app[COMPONENTS])
    body = {
        "status": "degraded" if failing else "ok",
        "simulated": any(instrument.simulated for instrument in feed.instruments),
        "symbols_loaded": len(feed.instruments),
        "subscribers": fanout.subscribers,
        "connections": fanout.connections,
        "topics": fanout.topics,
        "broadcaster": {
            "enabled": broadcaster.enabled,
            "running": broadcaster.running,
            "leading": broadcaster.leading,
            "interval": broadcaster.interval,
            "ticks": broadcaster.ticks,
            "delivered": fanout.delivered,
            "dropped": fanout.dropped,
        },
    }
    return json_response(body)

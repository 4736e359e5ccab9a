"""The browser's entry point: the chart page, or the API index for JSON clients."""

from __future__ import annotations

import aiohttp_jinja2
import jinja2
from aiohttp import web

from app.keys import FEED
from app.market.resolutions import Resolution, parse_resolution
from app.paths import API_INDEX
from app.resources import data_folder
from app.responses import json_response
from app.web.vendor import serve_folder, setup_vendor

routes = web.RouteTableDef()


# A market that trades around the clock, so a first visit always sees candles move.
DEFAULT_SYMBOL = "BTCUSD"
DEFAULT_RESOLUTION = Resolution.M1


@routes.get("/")
async def home(request: web.Request) -> web.StreamResponse:
    """The chart page for browsers (?symbol=&resolution=); the API index for a client that asks for JSON."""
    if "application/json" in request.headers.get("Accept", ""):
        return json_response(API_INDEX)
    feed = request.app[FEED]
    asked_symbol = (request.query.get("symbol") or DEFAULT_SYMBOL)[:64]
    asked_resolution = (request.query.get("resolution") or DEFAULT_RESOLUTION.value)[:8]
    instrument = feed.instrument(asked_symbol)
    resolution = parse_resolution(asked_resolution)
    # An unknown symbol or resolution goes to the page as asked, so that the page names it instead of
    # silently charting the default.
    context = {
        "index": API_INDEX,
        # The page says "simulated" only while it charts a simulated instrument (app.js follows the chart).
        "simulated": instrument is not None and instrument.simulated,
        "symbol": instrument.symbol if instrument else asked_symbol.upper(),
        "resolution": resolution.value if resolution else asked_resolution,
        "default_resolution": DEFAULT_RESOLUTION.value,
        "resolutions": [r.value for r in Resolution],
    }
    return aiohttp_jinja2.render_template("index.html", request, context)


def setup_web(app: web.Application) -> None:
    """Templates, the page route and the static files."""
    aiohttp_jinja2.setup(app, loader=jinja2.FileSystemLoader(data_folder("templates")), autoescape=True)
    app.router.add_routes(routes)
    serve_folder(app, "/static", data_folder("static"))
    setup_vendor(app)

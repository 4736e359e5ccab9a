"""The browser's entry point: the chart page, or the API index for JSON clients."""

from __future__ import annotations

from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web

from app.api.meta import API_INDEX
from app.api.responses import json_response
from app.keys import FEED
from app.web.vendor import setup_vendor

ROOT = Path(__file__).resolve().parent.parent.parent
TEMPLATES = ROOT / "templates"
STATIC = ROOT / "static"

routes = web.RouteTableDef()


@routes.get("/")
async def home(request: web.Request) -> web.StreamResponse:
    """HTML for browsers; the API index for a client that asks for JSON."""
    if "application/json" in request.headers.get("Accept", ""):
        return json_response(API_INDEX)
    context = {"index": API_INDEX, "simulated": request.app[FEED].simulated}
    return aiohttp_jinja2.render_template("index.html", request, context)


def setup_web(app: web.Application) -> None:
    """Templates, the page route and the static files."""
    aiohttp_jinja2.setup(app, loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True)
    app.router.add_routes(routes)
    app.router.add_static("/static", STATIC, name="static")
    setup_vendor(app)

"""The application factory."""

from __future__ import annotations

import logging

from aiohttp import web
from aiohttp_apispec import validation_middleware

from app.api import datafeed, meta, udf
from app.api.errors import error_middleware
from app.api.openapi import setup_openapi
from app.keys import FEED, SETTINGS
from app.market.feed import MarketFeed
from app.market.simulation import SimulatedFeed
from app.server import body_deadline
from app.settings import Settings
from app.web.headers import setup_headers
from app.web.page import setup_web
from app.ws.setup import setup_ws

log = logging.getLogger(__name__)


def create_app(settings: Settings, feed: MarketFeed | None = None) -> web.Application:
    """The whole server; `feed` defaults to the market simulation."""
    app = web.Application(
        # The body deadline reads the body before validation does, inside the error middleware, so that its
        # refusals (413, a body that does not decode) are JSON like every other error.
        middlewares=[error_middleware, body_deadline(settings.request_body_timeout), validation_middleware]
    )
    app[SETTINGS] = settings
    app[FEED] = feed or SimulatedFeed(
        intraday_days=settings.market_intraday_days, cache_blocks=settings.market_cache_blocks
    )
    app.on_response_prepare.append(meta.add_version_header)
    for module in (meta, datafeed, udf):
        app.router.add_routes(module.routes)
    setup_ws(app)
    setup_web(app)
    setup_headers(app)
    setup_openapi(app)
    return app

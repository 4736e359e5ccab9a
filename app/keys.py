"""Every typed key of the application's state."""

from __future__ import annotations

from aiohttp import web

from app.market.feed import MarketFeed
from app.settings import Settings

SETTINGS = web.AppKey("settings", Settings)
FEED = web.AppKey("feed", MarketFeed)

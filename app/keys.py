"""Every typed key of the application's state."""

from __future__ import annotations

from aiohttp import web

from app.market.feed import MarketFeed
from app.settings import Settings
from app.ws.broadcaster import Broadcaster
from app.ws.hub import Hub

SETTINGS = web.AppKey("settings", Settings)
FEED = web.AppKey("feed", MarketFeed)
HUB = web.AppKey("hub", Hub)
BROADCASTER = web.AppKey("broadcaster", Broadcaster)

"""Every typed key of the application's state."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from app.market.clock import Clock
from app.market.feed import MarketFeed
from app.settings import Settings
from app.stats import BroadcasterStatsSource, FanoutStatsSource

if TYPE_CHECKING:
    # Neutral ground names the rooms' classes for the type checker only, so a room that reads a key never
    # loads ws/ or observability/ through it.
    from app.observability.exporter import Exporter
    from app.ws.broadcaster import Broadcaster
    from app.ws.hub import Hub

SETTINGS = web.AppKey("settings", Settings)
FEED = web.AppKey("feed", MarketFeed)
# The server's one clock (the wall clock, or REPLAY_START's replay clock): UTC seconds.
CLOCK: web.AppKey[Clock] = web.AppKey("clock")
HUB: web.AppKey[Hub] = web.AppKey("hub")
BROADCASTER: web.AppKey[Broadcaster] = web.AppKey("broadcaster")
# What other rooms may read of the hub and the broadcaster (the same objects, seen through neutral protocols).
FANOUT_STATS = web.AppKey("fanout_stats", FanoutStatsSource)
BROADCASTER_STATS = web.AppKey("broadcaster_stats", BroadcasterStatsSource)
# The metrics of the app and what fills them (absent when METRICS_ENABLED is false).
METRICS: web.AppKey[Exporter] = web.AppKey("metrics")

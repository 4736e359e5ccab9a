"""Every typed key of the application's state."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from app.market.clock import Clock
from app.market.feed import MarketFeed
from app.settings import Settings
from app.stats import BroadcasterStatsSource, BrokerStatsSource, FanoutStatsSource

if TYPE_CHECKING:
    # Neutral ground names the rooms' classes for the type checker only, so a room that reads a key never
    # loads ws/ or observability/ through it.
    from app.broker.base import Broker, LeadershipListener
    from app.observability.exporter import Exporter
    from app.ws.broadcaster import Broadcaster
    from app.ws.hub import Hub
    from app.ws.relay import Relay

SETTINGS = web.AppKey("settings", Settings)
FEED = web.AppKey("feed", MarketFeed)
# The server's one clock (the wall clock, or REPLAY_START's replay clock): UTC seconds.
CLOCK: web.AppKey[Clock] = web.AppKey("clock")
HUB: web.AppKey[Hub] = web.AppKey("hub")
BROADCASTER: web.AppKey[Broadcaster] = web.AppKey("broadcaster")
# How updates reach this process (BROKER_URL), which topics it asks for, and who hears when it starts or stops
# running the broadcaster (the broadcaster itself; ingest, which only the broadcaster's process applies).
BROKER: web.AppKey[Broker] = web.AppKey("broker")
RELAY: web.AppKey[Relay] = web.AppKey("relay")
LEADERSHIP_LISTENERS: web.AppKey[list[LeadershipListener]] = web.AppKey("leadership_listeners")
# What other rooms may read of the hub and the broadcaster (the same objects, seen through neutral protocols).
FANOUT_STATS = web.AppKey("fanout_stats", FanoutStatsSource)
BROADCASTER_STATS = web.AppKey("broadcaster_stats", BroadcasterStatsSource)
BROKER_STATS = web.AppKey("broker_stats", BrokerStatsSource)
# The metrics of the app and what fills them (absent when METRICS_ENABLED is false).
METRICS: web.AppKey[Exporter] = web.AppKey("metrics")

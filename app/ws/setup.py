"""Wiring of the WebSocket feed: its route, its hub, the broadcaster and their lifetimes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from aiohttp import web

from app.broker.base import LeadershipListener
from app.broker.open import open_broker
from app.keys import (
    BROADCASTER,
    BROADCASTER_STATS,
    BROKER,
    BROKER_STATS,
    FANOUT_STATS,
    FEED,
    HUB,
    LEADERSHIP_LISTENERS,
    RELAY,
    SETTINGS,
)
from app.paths import WS_PATH
from app.stats import CloseReason
from app.tasks import finish
from app.ws import docs
from app.ws.broadcaster import Broadcaster
from app.ws.handler import websocket
from app.ws.hub import Hub
from app.ws.keepalive import Keepalive
from app.ws.protocol import SHUTTING_DOWN
from app.ws.relay import Relay


async def _run_background(app: web.Application) -> AsyncIterator[None]:
    """The broker, the broadcaster (when enabled), the relay's sweep and the keepalive sweep run while the app
    does. The broker stops last (releasing the broadcaster's lease), after what the app's later parts (ingest,
    which writes its forming bars) did on their way out."""
    broadcaster, broker, settings = app[BROADCASTER], app[BROKER], app[SETTINGS]
    await broker.start()
    keepalive = Keepalive(app[HUB], settings.ws_ping_interval, settings.ws_slow_client_timeout)
    tasks = [asyncio.create_task(keepalive.run())]
    if broker.shared:
        tasks.append(asyncio.create_task(app[RELAY].run()))
    if broadcaster.enabled:
        tasks.append(asyncio.create_task(broadcaster.run()))
    yield
    # The broadcaster and the relay may be inside a call to Redis, which can swallow a first cancellation.
    await asyncio.gather(*(finish(task) for task in tasks))
    await broker.stop()


async def _close_sockets(app: web.Application) -> None:
    """On shutdown every client is told 1001 (going away) before the process exits."""
    hub = app[HUB]
    for connection in hub.connections:
        connection.close_reason = CloseReason.SHUTDOWN
    await hub.close(hub.connections, SHUTTING_DOWN)


def setup_ws(app: web.Application) -> None:
    """The WebSocket route, its hub and broadcaster; the broadcaster runs while the app does."""
    settings = app[SETTINGS]
    hub = app[HUB] = Hub(settings.ws_send_buffer_limit)
    listeners: list[LeadershipListener] = []

    def leadership_changed(leading: bool) -> None:
        for listener in listeners:
            listener(leading)

    broker = app[BROKER] = open_broker(settings, hub.receive, leadership_changed)
    app[RELAY] = Relay(hub, broker)
    app[BROADCASTER] = broadcaster = Broadcaster(
        app[FEED],
        hub,
        settings.bar_broadcaster_interval,
        enabled=settings.bar_broadcaster_enabled,
        symbols=settings.bar_broadcaster_symbols,
        resolutions=settings.bar_broadcaster_resolutions,
        broker=broker,
    )
    listeners.append(broadcaster.leadership_changed)
    app[LEADERSHIP_LISTENERS] = listeners
    app[FANOUT_STATS], app[BROADCASTER_STATS], app[BROKER_STATS] = hub, broadcaster, broker
    app.router.add_get(WS_PATH, websocket)
    app.router.add_routes(docs.routes)
    app.cleanup_ctx.append(_run_background)
    app.on_shutdown.append(_close_sockets)

"""A stored instrument is live only while something makes it so: live trades forming its bars (ingest) or a replay.
Its recorded bars alone never change, so while its session is open the WebSocket still sends its latest bar once and
then only what changes, as for a closed market (not the same old bar every tick)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from aiohttp import ClientWebSocketResponse

from app.main import create_app
from app.settings import Settings
from tests.conftest import Client, ClientFactory, receive, reply, send
from tests.store_feed.conftest import stored_feed
from tests.store_feed.goog import goog_csv, import_goog

# Wednesday 2026-11-18 15:00:30 UTC: NASDAQ is open (10:00:30 in New York).
NOW = 1_795_014_030
TOKEN = "test-ingest-token-0123456789"
GOOG_LAST_DAY = 1_362_096_000_000
TICKS_WATCHED = 10


class ManualClock:
    """The server's clock, UTC seconds, moved by the test."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def goog_server(aiohttp_client: ClientFactory, settings: Settings, url: str, clock: ManualClock) -> Client:
    """A server of the simulation and the stored GOOG, with ingest, its broadcaster ticking every 20 ms."""
    changes: dict[str, Any] = {"store_url": url, "ingest_token": TOKEN, "bar_broadcaster_interval": 0.02}
    return await aiohttp_client(create_app(dataclasses.replace(settings, **changes), clock=clock))


async def subscribed(ws: ClientWebSocketResponse, symbol: str, resolution: str) -> dict[str, Any]:
    """Subscribe; the first update that follows the `ok`."""
    await send(ws, "bars.subscribe", symbol=symbol, resolution=resolution)
    assert (await reply(ws, "bars.subscribe.response"))["payload"]["status"] == "ok"
    frame = await receive(ws)
    assert frame["topic"] == f"bars:{symbol}:{resolution}", frame
    return frame


async def next_topics(ws: ClientWebSocketResponse, count: int) -> list[str]:
    """The topics of the next `count` updates."""
    return [(await receive(ws))["topic"] for _ in range(count)]


async def test_recorded_bars_in_an_open_session_are_sent_once_not_every_tick(
    aiohttp_client: ClientFactory, settings: Settings, sqlite_url: str, tmp_path: Path
) -> None:
    import_goog(sqlite_url, goog_csv(tmp_path))
    clock = ManualClock(NOW)
    client = await goog_server(aiohttp_client, settings, sqlite_url, clock)
    assert not stored_feed(client).is_trading("GOOG"), "nothing makes 2013's bars live"
    async with client.ws_connect("/api/v1/ws") as ws:
        latest = await subscribed(ws, "GOOG", "1D")
        assert latest["payload"]["time"] == GOOG_LAST_DAY
        # BTCUSD (simulated, trading around the clock) streams every tick: the ticks go by while GOOG says nothing.
        await subscribed(ws, "BTCUSD", "1")
        assert set(await next_topics(ws, TICKS_WATCHED)) == {"bars:BTCUSD:1"}

        # Live trades make GOOG trade: its forming day goes out every tick, as a simulated instrument's does.
        trade = {"symbol": "GOOG", "price": 101.25, "size": 3, "time": NOW * 1000}
        response = await client.post(
            "/api/v1/ingest/trades", json={"trades": [trade]}, headers={"Authorization": f"Bearer {TOKEN}"}
        )
        assert response.status == 200, await response.text()
        assert stored_feed(client).is_trading("GOOG")
        topics = await next_topics(ws, 4 * TICKS_WATCHED)
        assert topics.count("bars:GOOG:1D") >= TICKS_WATCHED

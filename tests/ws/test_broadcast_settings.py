"""The BAR_BROADCASTER_* settings on a running `python -m app`: turned off, and the interval between updates."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from app.paths import DATAFEED_PREFIX, WS_PATH
from tests.conftest import receive, reply, send, updates
from tests.live_server import LiveServer, start

INTERVAL = 0.2
# Long enough for a count of updates to say something about the interval, short enough for the suite.
WINDOW = 4.0
# How long a client listens for an update that must not come.
QUIET = 1.5


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def serve(env: dict[str, str]) -> LiveServer:
    """A real server process with `env` (started off the event loop: start() waits for its health check)."""
    return await asyncio.to_thread(start, env | {"LOG_LEVEL": "WARNING"})


async def get_json(session: aiohttp.ClientSession, url: str) -> Any:
    async with session.get(url) as response:
        assert response.status == 200
        return await response.json()


async def updates_within(ws: aiohttp.ClientWebSocketResponse, seconds: float) -> list[dict[str, Any]]:
    """Every `bars.update` that arrives in the next `seconds`."""
    found: list[dict[str, Any]] = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            message = await ws.receive(timeout=left)
        except TimeoutError:
            break
        assert message.type is aiohttp.WSMsgType.TEXT, message
        body = message.json()
        if body["type"] == "bars.update":
            found.append(body)
    return found


async def test_with_the_broadcaster_off_subscriptions_are_refused_and_nothing_is_pushed(
    session: aiohttp.ClientSession,
) -> None:
    server = await serve({"BAR_BROADCASTER_ENABLED": "false"})
    try:
        health = await get_json(session, server.url(f"{DATAFEED_PREFIX}/health"))
        assert health["broadcaster"] | {"interval": None} == {
            "enabled": False,
            "running": False,
            "leading": False,
            "interval": None,
            "ticks": 0,
            "delivered": 0,
            "dropped": 0,
        }
        async with session.ws_connect(server.url(WS_PATH)) as ws:
            await send(ws, "bars.subscribe", symbol="AAPL", resolution="1")
            assert await receive(ws) == {
                "type": "bars.subscribe.response",
                "payload": {
                    "status": "error",
                    "symbol": "AAPL",
                    "message": "bars:AAPL:1 is not broadcast by this server",
                    "topic": "bars:AAPL:1",
                },
            }
            await send(ws, "ping")
            assert (await receive(ws))["type"] == "pong", "the socket stays open"
            assert await updates_within(ws, QUIET) == []
        now = int(time.time())
        bars = await get_json(
            session,
            server.url(f"{DATAFEED_PREFIX}/bars?symbol=AAPL&resolution=1D&from_time={now - 30 * 86400}&to_time={now}"),
        )
        assert bars["bars"], "history does not need the broadcaster"
    finally:
        await asyncio.to_thread(server.stop)


async def test_updates_come_at_the_configured_interval(session: aiohttp.ClientSession) -> None:
    server = await serve({"BAR_BROADCASTER_INTERVAL": str(INTERVAL)})
    try:
        health = await get_json(session, server.url(f"{DATAFEED_PREFIX}/health"))
        assert health["broadcaster"]["interval"] == INTERVAL
        assert health["broadcaster"]["enabled"] is True
        async with session.ws_connect(server.url(WS_PATH)) as ws:
            await send(ws, "bars.subscribe", symbol="BTCUSD", resolution="1")
            await reply(ws, "bars.subscribe.response")
            [first] = await updates(ws, 1)
            received = [first, *await updates_within(ws, WINDOW)]
    finally:
        await asyncio.to_thread(server.stop)
    assert {update["topic"] for update in received} == {"bars:BTCUSD:1"}
    times = [update["payload"]["time"] for update in received]
    assert times == sorted(times), "time never goes backwards"
    later = len(received) - 1
    # Ticks are never early, so the count has a hard ceiling; the floor is loose, for a loaded machine.
    assert later <= WINDOW / INTERVAL + 2, f"{later} updates in {WINDOW} s: more often than every {INTERVAL} s"
    assert later >= 0.4 * WINDOW / INTERVAL, f"{later} updates in {WINDOW} s: far less often than every {INTERVAL} s"

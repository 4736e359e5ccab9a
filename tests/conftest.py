"""Fixtures: the real app built by the factory, served on a real socket by pytest-aiohttp; WebSocket client helpers."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import os
import socket
import tempfile
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import pytest
from aiohttp import ClientWebSocketResponse, WSMsgType, web
from aiohttp.test_utils import TestClient

from app.main import create_app
from app.market.simulation import SimulatedFeed
from app.paths import DATAFEED_PREFIX, WS_PATH
from app.settings import Settings, load_settings

# A server or import the tests start without a STORE_URL of their own must not find, nor create, the default store
# in the checkout (`trading-pro.db` in the working directory): it would change what later tests see.
_NO_STORE = tempfile.TemporaryDirectory(prefix="trading-pro-tests-")
os.environ.setdefault("STORE_URL", f"sqlite:///{_NO_STORE.name}/absent.db")

# Wednesday 2026-11-18 15:00:30 UTC: stocks, forex and crypto are all trading.
FROZEN_NOW = 1_795_014_030
# How long one WebSocket message may take to arrive, on a loaded two-core machine.
RECEIVE_TIMEOUT = 5.0

ClientFactory = Callable[[web.Application], Awaitable[TestClient[web.Request, web.Application]]]
Client = TestClient[web.Request, web.Application]
Connect = Callable[..., Awaitable[Client]]
Frame = dict[str, Any]
BARS_PATH = f"{DATAFEED_PREFIX}/bars"


@pytest.fixture
def settings() -> Settings:
    return load_settings({})


@pytest.fixture
def frozen_feed() -> SimulatedFeed:
    return SimulatedFeed(clock=lambda: FROZEN_NOW)


@pytest.fixture
async def client(aiohttp_client: ClientFactory, settings: Settings, frozen_feed: SimulatedFeed) -> Client:
    """A client of the app whose simulated market is frozen at FROZEN_NOW."""
    return await aiohttp_client(create_app(settings, feed=frozen_feed))


@pytest.fixture
async def live_client(aiohttp_client: ClientFactory, settings: Settings) -> Client:
    """A client of the app exactly as `python -m app` builds it, real clock included."""
    return await aiohttp_client(create_app(settings))


async def fetch_bars(
    client: Client, symbol: str, resolution: str, from_time: int, to_time: int, count_back: int = 0
) -> list[Frame]:
    """Bars from `GET /api/v1/datafeed/bars` over real HTTP (`time` in ms), which must answer 200."""
    params = {"symbol": symbol, "resolution": resolution, "from_time": from_time, "to_time": to_time}
    response = await client.get(BARS_PATH, params={k: str(v) for k, v in (params | {"count_back": count_back}).items()})
    assert response.status == 200, await response.text()
    bars: list[Frame] = (await response.json())["bars"]
    return bars


def aggregate(bars: list[Frame], time: int) -> Frame:
    """The bar stamped `time` (ms) covering consecutive `bars`.

    First open, max high, min low, last close, summed volume (a float sum: compare it with `pytest.approx`).
    """
    return {
        "time": time,
        "open": bars[0]["open"],
        "high": max(bar["high"] for bar in bars),
        "low": min(bar["low"] for bar in bars),
        "close": bars[-1]["close"],
        "volume": sum(bar["volume"] for bar in bars),
    }


@pytest.fixture
def make_client(aiohttp_client: ClientFactory, settings: Settings) -> Connect:
    """A client of an app with the given setting overrides and (by default) a frozen market.

    The broadcaster ticks every 20 ms unless `bar_broadcaster_interval` says otherwise.
    """

    async def make(feed: SimulatedFeed | None = None, **overrides: Any) -> Client:
        configured = dataclasses.replace(settings, **({"bar_broadcaster_interval": 0.02} | overrides))
        return await aiohttp_client(create_app(configured, feed=feed or SimulatedFeed(clock=lambda: FROZEN_NOW)))

    return make


async def send(ws: ClientWebSocketResponse, message_type: str, **payload: Any) -> None:
    """Send one envelope `{"type": message_type, "payload": payload}`."""
    await ws.send_str(orjson.dumps({"type": message_type, "payload": payload}).decode())


async def receive(ws: ClientWebSocketResponse) -> Frame:
    """The next frame, which must be a JSON text frame arriving within RECEIVE_TIMEOUT."""
    message = await ws.receive(timeout=RECEIVE_TIMEOUT)
    assert message.type is WSMsgType.TEXT, message
    body: Frame = orjson.loads(message.data)
    return body


async def reply(ws: ClientWebSocketResponse, message_type: str) -> Frame:
    """The next message of `message_type`, skipping bar updates that arrive meanwhile."""
    for _ in range(1000):
        body = await receive(ws)
        if body["type"] == message_type:
            return body
        assert body["type"] == "bars.update"
    pytest.fail(f"no {message_type}")


async def updates(ws: ClientWebSocketResponse, count: int) -> list[Frame]:
    """The next `count` `bars.update` frames, skipping (up to 1000) other messages."""
    found: list[Frame] = []
    for _ in range(count + 1000):
        body = await receive(ws)
        if body["type"] == "bars.update":
            found.append(body)
            if len(found) == count:
                return found
    pytest.fail(f"{len(found)} of {count} updates, among too many other messages")


async def update_times_until(ws: ClientWebSocketResponse, done: asyncio.Future[Any]) -> list[int]:
    """The `time` of every `bars.update` that `ws` receives until `done` completes (it is not awaited here)."""
    times: list[int] = []
    while not done.done():
        receiving = asyncio.ensure_future(ws.receive())
        await asyncio.wait((receiving, done), return_when=asyncio.FIRST_COMPLETED)
        if not receiving.done():
            receiving.cancel()
            break
        message = receiving.result()
        assert message.type is WSMsgType.TEXT, message
        body = message.json()
        assert body["type"] == "bars.update", body
        times.append(body["payload"]["time"])
    return times


async def closed_with(ws: ClientWebSocketResponse) -> tuple[int | None, str]:
    """Read until the server's close frame; its code and reason."""
    for _ in range(10_000):
        message = await ws.receive(timeout=RECEIVE_TIMEOUT)
        if message.type is WSMsgType.CLOSE:
            return message.data, message.extra or ""
        if message.type in (WSMsgType.CLOSED, WSMsgType.ERROR):
            return ws.close_code, ""
    pytest.fail("the server never closed the socket")


async def stalled_subscriber(client: Client, topics: list[tuple[str, str]]) -> socket.socket:
    """A raw TCP WebSocket client with a tiny receive buffer that subscribes and then never reads."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    await loop.sock_connect(sock, ("127.0.0.1", client.port))
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET {WS_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    await loop.sock_sendall(sock, request.encode())
    head = b""
    async with asyncio.timeout(RECEIVE_TIMEOUT):
        while b"\r\n\r\n" not in head:
            head += await loop.sock_recv(sock, 1)
    assert head.startswith(b"HTTP/1.1 101")
    for symbol, resolution in topics:
        message = {"type": "bars.subscribe", "payload": {"symbol": symbol, "resolution": resolution}}
        await loop.sock_sendall(sock, masked_text_frame(orjson.dumps(message)))
    return sock


def masked_text_frame(payload: bytes) -> bytes:
    """A client-to-server text frame (clients must mask; a zero mask keeps it simple)."""
    assert len(payload) < 126
    return bytes((0x81, 0x80 | len(payload))) + b"\0\0\0\0" + payload

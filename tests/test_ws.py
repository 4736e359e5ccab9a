"""The WebSocket bar feed over real sockets: messages, routing, rules, close codes, fan-out."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import os
import socket
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp import ClientWebSocketResponse, WSMsgType

from app.keys import HUB
from app.main import create_app
from app.market.instruments import INSTRUMENTS
from app.market.resolutions import Resolution
from app.market.simulation import SimulatedFeed
from app.settings import Settings
from tests.conftest import FROZEN_NOW, Client, ClientFactory

WS = "/api/v1/ws"
Connect = Callable[..., Awaitable[Client]]


@pytest.fixture
def make_client(aiohttp_client: ClientFactory, settings: Settings) -> Connect:
    """A client of an app with the given setting overrides and (by default) a frozen market."""

    async def make(feed: SimulatedFeed | None = None, **overrides: Any) -> Client:
        configured = dataclasses.replace(settings, **({"bar_broadcaster_interval": 0.02} | overrides))
        return await aiohttp_client(create_app(configured, feed=feed or SimulatedFeed(clock=lambda: FROZEN_NOW)))

    return make


async def send(ws: ClientWebSocketResponse, message_type: str, **payload: Any) -> None:
    await ws.send_str(orjson.dumps({"type": message_type, "payload": payload}).decode())


async def receive(ws: ClientWebSocketResponse) -> dict[str, Any]:
    message = await ws.receive(timeout=5)
    assert message.type is WSMsgType.TEXT, message
    body: dict[str, Any] = orjson.loads(message.data)
    return body


async def reply(ws: ClientWebSocketResponse, message_type: str) -> dict[str, Any]:
    """The next message of `message_type`, skipping bar updates that arrive meanwhile."""
    for _ in range(1000):
        body = await receive(ws)
        if body["type"] == message_type:
            return body
        assert body["type"] == "bars.update"
    pytest.fail(f"no {message_type}")


async def updates(ws: ClientWebSocketResponse, count: int) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    while len(found) < count:
        body = await receive(ws)
        if body["type"] == "bars.update":
            found.append(body)
    return found


async def closed_with(ws: ClientWebSocketResponse) -> tuple[int | None, str]:
    """Read until the server's close frame; its code and reason."""
    for _ in range(10_000):
        message = await ws.receive(timeout=5)
        if message.type is WSMsgType.CLOSE:
            return message.data, message.extra or ""
        if message.type in (WSMsgType.CLOSED, WSMsgType.ERROR):
            return ws.close_code, ""
    pytest.fail("the server never closed the socket")


async def test_subscribe_replies_then_streams_the_forming_bar(make_client: Connect) -> None:
    client = await make_client()
    async with client.ws_connect(WS) as ws:
        await send(ws, "bars.subscribe", symbol="AAPL", resolution="1")
        assert await receive(ws) == {
            "type": "bars.subscribe.response",
            "payload": {"status": "ok", "symbol": "AAPL", "message": "Subscribed to AAPL", "topic": "bars:AAPL:1"},
        }
        [update] = await updates(ws, 1)
    assert update["topic"] == "bars:AAPL:1"
    assert set(update["payload"]) == {"time", "open", "high", "low", "close", "volume"}
    history = await (
        await client.get(
            "/api/v1/datafeed/bars",
            params={"symbol": "AAPL", "resolution": "1", "from_time": FROZEN_NOW - 600, "to_time": FROZEN_NOW + 60},
        )
    ).json()
    assert update["payload"] == history["bars"][-1], "the first update is the newest bar of history"


async def test_symbols_are_case_insensitive_and_resolutions_have_defaults_and_aliases(make_client: Connect) -> None:
    client = await make_client()
    async with client.ws_connect(WS) as ws:
        await send(ws, "bars.subscribe", symbol="btcusd")
        assert (await reply(ws, "bars.subscribe.response"))["payload"]["topic"] == "bars:BTCUSD:1"
        await send(ws, "bars.subscribe", symbol="eurusd", resolution="W")
        assert (await reply(ws, "bars.subscribe.response"))["payload"]["topic"] == "bars:EURUSD:1W"


@pytest.mark.parametrize(
    ("payload", "message"),
    [({"symbol": "NOPE"}, "Unknown symbol: NOPE"), ({"symbol": "AAPL", "resolution": "7"}, "Unknown resolution: 7")],
)
async def test_unknown_topics_get_an_error_and_the_socket_stays_open(
    make_client: Connect, payload: dict[str, str], message: str
) -> None:
    client = await make_client()
    async with client.ws_connect(WS) as ws:
        await send(ws, "bars.subscribe", **payload)
        body = await receive(ws)
        assert body["type"] == "bars.subscribe.response"
        assert body["payload"]["status"] == "error"
        assert body["payload"]["message"] == message
        await send(ws, "ping")
        assert (await receive(ws))["type"] == "pong"


async def test_ping_answers_with_server_time(make_client: Connect) -> None:
    client = await make_client()
    async with client.ws_connect(WS) as ws:
        before = time.time() * 1000
        await send(ws, "ping", anything=[1, 2])
        body = await receive(ws)
    assert body["type"] == "pong"
    assert before - 1000 <= body["payload"]["time"] <= time.time() * 1000 + 1000


async def test_several_topics_on_one_socket_are_routed_by_topic(make_client: Connect) -> None:
    client = await make_client()
    topics = {"bars:AAPL:5": Resolution.M5, "bars:BTCUSD:1D": Resolution.DAY, "bars:EURUSD:60": Resolution.H1}
    async with client.ws_connect(WS) as ws:
        for name in topics:
            _, symbol, resolution = name.split(":")
            await send(ws, "bars.subscribe", symbol=symbol, resolution=resolution)
        seen: dict[str, dict[str, Any]] = {}
        for update in await updates(ws, 30):
            seen[update["topic"]] = update["payload"]
    assert set(seen) == set(topics)
    for name, resolution in topics.items():
        assert seen[name]["time"] == resolution.period_start(FROZEN_NOW) * 1000


async def test_unsubscribe_stops_that_topic(make_client: Connect) -> None:
    client = await make_client()
    async with client.ws_connect(WS) as ws:
        await send(ws, "bars.subscribe", symbol="AAPL")
        await reply(ws, "bars.subscribe.response")
        await send(ws, "bars.unsubscribe", symbol="aapl", resolution="1")
        response = await reply(ws, "bars.unsubscribe.response")
        assert response["payload"] == {
            "status": "ok",
            "symbol": "AAPL",
            "message": "Unsubscribed from AAPL",
            "topic": "bars:AAPL:1",
        }
        await send(ws, "bars.subscribe", symbol="ETHUSD")
        await reply(ws, "bars.subscribe.response")
        later = await updates(ws, 10)
    assert {u["topic"] for u in later} == {"bars:ETHUSD:1"}


async def test_subscriptions_per_connection_are_limited(make_client: Connect) -> None:
    client = await make_client(ws_max_subscriptions=2)
    async with client.ws_connect(WS) as ws:
        for symbol in ("AAPL", "MSFT"):
            await send(ws, "bars.subscribe", symbol=symbol)
            assert (await reply(ws, "bars.subscribe.response"))["payload"]["status"] == "ok"
        await send(ws, "bars.subscribe", symbol="AAPL")  # already held: still fine
        assert (await reply(ws, "bars.subscribe.response"))["payload"]["status"] == "ok"
        await send(ws, "bars.subscribe", symbol="TSLA")
        body = await reply(ws, "bars.subscribe.response")
    assert body["payload"]["status"] == "error"
    assert "at most 2" in body["payload"]["message"]


async def test_topics_outside_the_broadcaster_set_are_refused(make_client: Connect) -> None:
    client = await make_client(bar_broadcaster_symbols=("AAPL",), bar_broadcaster_resolutions=(Resolution.M1,))
    async with client.ws_connect(WS) as ws:
        await send(ws, "bars.subscribe", symbol="BTCUSD")
        assert (await receive(ws))["payload"]["status"] == "error"
        await send(ws, "bars.subscribe", symbol="AAPL", resolution="5")
        assert (await receive(ws))["payload"]["status"] == "error"
        await send(ws, "bars.subscribe", symbol="AAPL", resolution="1")
        assert (await receive(ws))["payload"]["status"] == "ok"


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        ("not json", "Could not validate payload"),
        ("[1, 2]", "Could not validate payload"),
        ('{"payload": {}}', "Could not validate payload"),
        ('{"type": "bars.subscribe", "payload": "AAPL"}', "Could not validate payload"),
        ('{"type": "bars.subscribe", "payload": {"symbol": 7}}', "Could not validate payload"),
        ('{"type": "bars.subscribe", "payload": {}}', "Could not validate payload"),
        ('{"type": "orders.create", "payload": {}}', "No matching type"),
    ],
)
async def test_bad_frames_close_with_1003(make_client: Connect, frame: str, reason: str) -> None:
    client = await make_client()
    async with client.ws_connect(WS) as ws:
        await ws.send_str(frame)
        assert await closed_with(ws) == (1003, reason)


async def test_binary_frames_close_with_1003(make_client: Connect) -> None:
    client = await make_client()
    async with client.ws_connect(WS) as ws:
        await ws.send_bytes(b'{"type": "ping", "payload": {}}')
        assert await closed_with(ws) == (1003, "Could not validate payload")


async def test_oversize_frames_close_with_1009(make_client: Connect) -> None:
    client = await make_client(ws_max_message_size=1024)
    async with client.ws_connect(WS) as ws:
        await send(ws, "ping", padding="x" * 2000)
        code, _ = await closed_with(ws)
    assert code == 1009


async def test_silence_past_the_heartbeat_interval_closes(make_client: Connect) -> None:
    client = await make_client(ws_heartbeat_interval=0.3)
    async with client.ws_connect(WS) as ws:
        started = time.monotonic()
        assert await closed_with(ws) == (
            1003,
            "Connection timed out. Heartbeat interval 0.3. Max connection lifespan 3600.0",
        )
    assert time.monotonic() - started >= 0.25


async def test_messages_keep_a_connection_alive_until_its_lifespan_ends(make_client: Connect) -> None:
    # Protocol pings every 0.2 s too: a client that answers them (aiohttp's does) is never dropped.
    client = await make_client(ws_heartbeat_interval=0.4, ws_max_connection_lifespan=1.2, ws_ping_interval=0.2)
    async with client.ws_connect(WS) as ws:
        started = time.monotonic()
        pongs = 0
        while True:
            await send(ws, "ping")
            message = await ws.receive(timeout=5)
            if message.type is WSMsgType.CLOSE:
                break
            pongs += 1
            # The client's own pace: a message every 0.1 s, well inside the heartbeat interval.
            await asyncio.sleep(0.1)
    assert message.data == 1003
    assert message.extra == "Connection timed out. Heartbeat interval 0.4. Max connection lifespan 1.2"
    assert time.monotonic() - started >= 1.1, "pings kept it open past several heartbeat intervals"
    assert pongs >= 8


async def test_server_shutdown_closes_with_1001(make_client: Connect) -> None:
    client = await make_client()
    async with client.ws_connect(WS) as ws:
        await send(ws, "bars.subscribe", symbol="AAPL")
        await reply(ws, "bars.subscribe.response")
        closing = asyncio.create_task(client.server.close())
        code, reason = await closed_with(ws)
        await closing
    assert (code, reason) == (1001, "Server shutting down")


async def test_hundreds_of_clients_share_one_topic(make_client: Connect) -> None:
    client = await make_client()
    # The test client's own session allows 100 connections; this one has no limit.
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        sockets = [await session.ws_connect(client.make_url(WS)) for _ in range(300)]
        try:
            for ws in sockets:
                await send(ws, "bars.subscribe", symbol="NVDA", resolution="15")
            for ws in sockets:
                await reply(ws, "bars.subscribe.response")
            received = await asyncio.gather(*(updates(ws, 2) for ws in sockets))
        finally:
            await asyncio.gather(*(ws.close() for ws in sockets))
    payloads = {orjson.dumps(u["payload"]) for per_socket in received for u in per_socket}
    assert len(payloads) == 1, "a frozen market gives every subscriber the same bar"
    assert all(u["topic"] == "bars:NVDA:15" for per_socket in received for u in per_socket)


async def test_a_client_that_does_not_read_neither_grows_memory_nor_delays_others(make_client: Connect) -> None:
    limit = 4096
    client = await make_client(ws_send_buffer_limit=limit, ws_slow_client_timeout=0.5, bar_broadcaster_interval=0.001)
    hub = client.app[HUB]
    # 48 topics at a tick per millisecond: megabytes a second, enough to fill the kernel's buffers quickly.
    topics = [(i.symbol, r) for i in INSTRUMENTS for r in ("1", "5", "60", "1D")]
    stalled = await stalled_subscriber(client, topics)
    try:
        async with client.ws_connect(WS) as reader:
            await send(reader, "bars.subscribe", symbol="BTCUSD")
            await reply(reader, "bars.subscribe.response")
            peak = 0
            evicted = False
            for _ in range(100):
                await updates(reader, 100)  # the reading client keeps getting its updates meanwhile
                others = [c for c in hub.connections if len(c.topics) > 1]
                peak = max([peak] + [c.transport.get_write_buffer_size() for c in others])
                if not others:
                    evicted = True
                    break
    finally:
        stalled.close()
    assert hub.dropped > 0, "updates for the stalled client were dropped"
    assert peak <= limit + 512, "its buffer stayed bounded"
    assert evicted, "a client that stays behind is disconnected"


async def test_a_peer_that_never_answers_protocol_pings_is_dropped(make_client: Connect) -> None:
    client = await make_client(ws_ping_interval=0.2)
    silent = await stalled_subscriber(client, [])  # answers no ping: a dead TCP peer, as far as we can tell
    loop = asyncio.get_running_loop()
    try:
        received = b""
        async with asyncio.timeout(5):
            while chunk := await loop.sock_recv(silent, 65536):
                received += chunk
    finally:
        silent.close()
    assert received.startswith(b"\x89"), "the server pinged, then closed the connection (EOF above)"


async def stalled_subscriber(client: Client, topics: list[tuple[str, str]]) -> socket.socket:
    """A raw TCP WebSocket client with a tiny receive buffer that subscribes and then never reads."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    await loop.sock_connect(sock, ("127.0.0.1", client.port))
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET {WS} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    await loop.sock_sendall(sock, request.encode())
    head = b""
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


async def test_live_updates_and_history_agree_across_a_bar_boundary(make_client: Connect) -> None:
    """An accelerated market clock (60x, injected into the simulation only) crosses minute boundaries."""
    origin, started = Resolution.M1.period_start(FROZEN_NOW) + 55, time.monotonic()
    feed = SimulatedFeed(clock=lambda: origin + (time.monotonic() - started) * 60)
    client = await make_client(feed=feed, bar_broadcaster_interval=0.01)
    last_by_time: dict[int, dict[str, Any]] = {}
    times: list[int] = []
    async with client.ws_connect(WS) as ws:
        await send(ws, "bars.subscribe", symbol="ETHUSD", resolution="1")
        await reply(ws, "bars.subscribe.response")
        while len(set(times)) < 3:
            [update] = await updates(ws, 1)
            times.append(update["payload"]["time"])
            last_by_time[update["payload"]["time"]] = update["payload"]
    assert times == sorted(times), "time never goes backwards"
    closed = sorted(last_by_time)[:-1]
    for bar_time in closed:
        start = bar_time // 1000
        history = await (
            await client.get(
                "/api/v1/datafeed/bars",
                params={"symbol": "ETHUSD", "resolution": "1", "from_time": start, "to_time": start + 1},
            )
        ).json()
        assert history["bars"] == [last_by_time[bar_time]], "a closed bar is exactly its last update"


async def test_datafeed_health_counts_subscribers(make_client: Connect) -> None:
    client = await make_client()
    async with client.ws_connect(WS) as ws:
        await send(ws, "bars.subscribe", symbol="AAPL")
        await reply(ws, "bars.subscribe.response")
        await updates(ws, 1)
        body = await (await client.get("/api/v1/datafeed/health")).json()
    assert body["subscribers"] == 1
    assert body["topics"] == 1
    assert body["broadcaster"]["running"] is True
    assert body["broadcaster"]["delivered"] >= 1

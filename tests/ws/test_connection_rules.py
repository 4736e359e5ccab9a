"""Connection rules over a real WebSocket: bad frames, size, heartbeat, lifespan, shutdown, dead peers."""

from __future__ import annotations

import asyncio
import time

import pytest
from aiohttp import WSMsgType

from app.paths import WS_PATH
from tests.conftest import RECEIVE_TIMEOUT, Connect, closed_with, reply, send, stalled_subscriber


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
    async with client.ws_connect(WS_PATH) as ws:
        await ws.send_str(frame)
        assert await closed_with(ws) == (1003, reason)


async def test_binary_frames_close_with_1003(make_client: Connect) -> None:
    client = await make_client()
    async with client.ws_connect(WS_PATH) as ws:
        await ws.send_bytes(b'{"type": "ping", "payload": {}}')
        assert await closed_with(ws) == (1003, "Could not validate payload")


async def test_oversize_frames_close_with_1009(make_client: Connect) -> None:
    client = await make_client(ws_max_message_size=1024)
    async with client.ws_connect(WS_PATH) as ws:
        await send(ws, "ping", padding="x" * 2000)
        code, _ = await closed_with(ws)
    assert code == 1009


async def test_silence_past_the_heartbeat_interval_closes(make_client: Connect) -> None:
    client = await make_client(ws_heartbeat_interval=0.3)
    async with client.ws_connect(WS_PATH) as ws:
        started = time.monotonic()
        assert await closed_with(ws) == (
            1003,
            "Connection timed out. Heartbeat interval 0.3. Max connection lifespan 3600.0",
        )
    assert time.monotonic() - started >= 0.25


async def test_messages_keep_a_connection_alive_until_its_lifespan_ends(make_client: Connect) -> None:
    # Protocol pings every 0.5 s too: a client that answers them (aiohttp's does, whenever it reads) within
    # the server's patience (half the interval) is never dropped.
    client = await make_client(ws_heartbeat_interval=1.0, ws_max_connection_lifespan=2.5, ws_ping_interval=0.5)
    pongs = 0
    async with client.ws_connect(WS_PATH) as ws, asyncio.timeout(30):
        started = time.monotonic()
        # At the client's pace this is 100 s, far past the lifespan: the loop ends with the server's close.
        for _ in range(1000):
            await send(ws, "ping")
            message = await ws.receive(timeout=RECEIVE_TIMEOUT)
            if message.type is not WSMsgType.TEXT:
                break
            pongs += 1
            # The client's own pace: a message every 0.1 s, well inside the heartbeat interval.
            await asyncio.sleep(0.1)
        lasted = time.monotonic() - started
    assert message.type is WSMsgType.CLOSE
    assert (message.data, message.extra) == (
        1003,
        "Connection timed out. Heartbeat interval 1.0. Max connection lifespan 2.5",
    )
    assert lasted >= 2.0, "messages kept it open past two heartbeat intervals, until its lifespan ended"
    assert pongs >= 10


async def test_server_shutdown_closes_with_1001(make_client: Connect) -> None:
    client = await make_client()
    async with client.ws_connect(WS_PATH) as ws:
        await send(ws, "bars.subscribe", symbol="AAPL")
        await reply(ws, "bars.subscribe.response")
        closing = asyncio.create_task(client.server.close())
        code, reason = await closed_with(ws)
        await closing
    assert (code, reason) == (1001, "Server shutting down")


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

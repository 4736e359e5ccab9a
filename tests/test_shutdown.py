"""SIGTERM on the real process: every socket is told 1001 and the process exits promptly."""

from __future__ import annotations

import asyncio
import signal
import time

import aiohttp

from tests.live_server import start


async def test_sigterm_closes_every_socket_with_1001_and_exits() -> None:
    server = await asyncio.to_thread(start, {"BAR_BROADCASTER_INTERVAL": "0.05"})
    try:
        async with aiohttp.ClientSession() as session:
            sockets = [await session.ws_connect(server.url("/api/v1/ws")) for _ in range(3)]
            for ws in sockets:
                await ws.send_json({"type": "bars.subscribe", "payload": {"symbol": "BTCUSD"}})
                reply = await ws.receive_json(timeout=5)
                assert reply["payload"]["status"] == "ok"
            server.process.send_signal(signal.SIGTERM)
            stopped_at = time.monotonic()
            async with asyncio.timeout(30):
                for ws in sockets:
                    message = await ws.receive(timeout=5)
                    while message.type is aiohttp.WSMsgType.TEXT:  # updates sent before the close still arrive
                        message = await ws.receive(timeout=5)
                    assert message.type is aiohttp.WSMsgType.CLOSE
                    assert (message.data, message.extra) == (1001, "Server shutting down")
        assert await asyncio.to_thread(server.process.wait, 10) == 0
        assert time.monotonic() - stopped_at < 5
    finally:
        server.stop()

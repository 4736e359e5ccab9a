"""SIGTERM on the real process: every socket is told 1001, requests in flight are answered, and the process exits
promptly (well within a platform's 30-second grace period)."""

from __future__ import annotations

import asyncio
import json
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


async def _answer(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    """One HTTP/1.1 answer with a Content-Length: its head and its body."""
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
    length = next(line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:"))
    return head, await asyncio.wait_for(reader.readexactly(int(length.split(b":")[1])), 30)


async def test_a_request_in_flight_at_sigterm_is_answered_before_the_process_exits() -> None:
    server = await asyncio.to_thread(start, {"BAR_BROADCASTER_ENABLED": "false"})
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        # A first answer proves the connection accepted: one still in the listen queue is reset at shutdown.
        writer.write(b"GET /api/v1/health HTTP/1.1\r\nHost: test\r\n\r\n")
        head, _ = await _answer(reader)
        assert head.startswith(b"HTTP/1.1 200 ")
        # History no one asked for yet: generated on the spot, it takes a while.
        to_time = int(time.time()) - 40 * 86400
        query = f"symbol=BTCUSD&resolution=1&from_time={to_time - 60}&to_time={to_time}&count_back=5000"
        writer.write(f"GET /api/v1/datafeed/bars?{query} HTTP/1.1\r\nHost: test\r\n\r\n".encode())
        await writer.drain()
        # The request is in the server's socket before the signal is sent, so it is read before shutdown begins.
        server.process.send_signal(signal.SIGTERM)
        head, body = await _answer(reader)
        assert head.startswith(b"HTTP/1.1 200 ")
        bars = json.loads(body)["bars"]
        assert len(bars) == 5000
        assert bars[-1]["time"] < to_time * 1000
        writer.close()
        assert await asyncio.to_thread(server.process.wait, 30) == 0
    finally:
        server.stop()

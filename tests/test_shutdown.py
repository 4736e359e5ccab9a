"""SIGTERM on the real process: every socket is told 1001, requests in flight are answered, and the process exits
promptly (well within a platform's 30-second grace period) whatever clients do: a client that never reads its
answer is cut off at the 25-second deadline, and a second signal ends the process at once."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager

import aiohttp
import pytest

from tests.live_server import LiveServer, start

# A platform kills the process 30 s after SIGTERM.
GRACE = 30.0
# The browser library of 3 MB: far more than the socket buffers hold.
LARGE_FILE = "/vendor/asyncapi/browser/standalone/index.js"


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


@contextmanager
def stalled_download(server: LiveServer) -> Iterator[socket.socket]:
    """A client that asks for a large file and never reads it: the server's send blocks on a full buffer."""
    client = socket.socket()
    client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    try:
        client.connect(("127.0.0.1", server.port))
        client.sendall(f"GET {LARGE_FILE} HTTP/1.1\r\nHost: test\r\n\r\n".encode())
        # The answer has begun: the request is in flight, not waiting in the listen queue.
        assert client.recv(16).startswith(b"HTTP/1.1 200")
        yield client
    finally:
        client.close()


@pytest.mark.timeout(120)
def test_a_client_that_never_reads_is_cut_off_at_the_deadline_within_the_grace() -> None:
    server = start({"BAR_BROADCASTER_ENABLED": "false"})
    try:
        with stalled_download(server):
            server.process.send_signal(signal.SIGTERM)
            signalled = time.monotonic()
            assert server.process.wait(GRACE + 15) == 0
            took = time.monotonic() - signalled
        said = server.log_path.read_text()
        assert "shutdown waits for 1 request in flight; closing them in " in said
        assert "shutdown gave up after 25 s: closing 1 request in flight" in said
        # The stalled download was ended cleanly: asyncio had nothing to complain about.
        assert "Traceback" not in said
        assert took < GRACE, f"the process took {took:.1f} s after SIGTERM"
    finally:
        server.stop()


@pytest.mark.timeout(120)
@pytest.mark.parametrize("second", [signal.SIGTERM, signal.SIGINT])
def test_a_second_signal_during_the_drain_exits_at_once(second: signal.Signals) -> None:
    server = start({"BAR_BROADCASTER_ENABLED": "false"})
    try:
        with stalled_download(server):
            server.process.send_signal(signal.SIGTERM)
            server.wait_for_log("shutdown waits for 1 request in flight")
            server.process.send_signal(second)
            asked = time.monotonic()
            # It dies of the second signal, as a process stopped by it does, without waiting for the download.
            assert server.process.wait(GRACE) == -second
            assert time.monotonic() - asked < 10
        assert (
            f"{second.name} during shutdown: exiting now, dropping 1 request in flight" in server.log_path.read_text()
        )
    finally:
        server.stop()

"""SIGTERM on the real process: every socket is told 1001 and the process exits promptly."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path

import aiohttp

from tests.live_server import free_port

ROOT = Path(__file__).resolve().parent.parent


async def wait_until_serving(session: aiohttp.ClientSession, url: str, server: asyncio.subprocess.Process) -> None:
    """Poll (bounded) until the freshly started process answers; nothing to await across processes."""
    for _ in range(200):
        assert server.returncode is None, "the server exited during start-up"
        try:
            async with session.get(url) as response:
                if response.status == 200:
                    return
        except aiohttp.ClientConnectionError:
            await asyncio.sleep(0.05)
    raise AssertionError("the server did not start")


async def test_sigterm_closes_every_socket_with_1001_and_exits() -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = os.environ | {"BAR_BROADCASTER_INTERVAL": "0.05"}
    server = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "app", "--host", "127.0.0.1", "--port", str(port), cwd=ROOT, env=env
    )
    try:
        async with aiohttp.ClientSession() as session:
            await wait_until_serving(session, f"{base}/api/v1/health", server)
            sockets = [await session.ws_connect(f"{base}/api/v1/ws") for _ in range(3)]
            for ws in sockets:
                await ws.send_json({"type": "bars.subscribe", "payload": {"symbol": "BTCUSD"}})
                reply = await ws.receive_json(timeout=5)
                assert reply["payload"]["status"] == "ok"
            server.send_signal(signal.SIGTERM)
            stopped_at = time.monotonic()
            for ws in sockets:
                message = await ws.receive(timeout=5)
                while message.type is aiohttp.WSMsgType.TEXT:  # updates sent before the close still arrive
                    message = await ws.receive(timeout=5)
                assert message.type is aiohttp.WSMsgType.CLOSE
                assert (message.data, message.extra) == (1001, "Server shutting down")
        assert await asyncio.wait_for(server.wait(), timeout=10) == 0
        assert time.monotonic() - stopped_at < 5
    finally:
        if server.returncode is None:
            server.kill()
            await server.wait()

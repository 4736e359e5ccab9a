"""What a real server process logs: a line per HTTP request, a line at each WebSocket's open and close, in text
or JSON (LOG_FORMAT), request lines switchable (ACCESS_LOG)."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest

from app.observability.access_log import ACCESS_LOGGER
from app.paths import DATAFEED_PREFIX, WS_PATH
from tests.conftest import Client, closed_with, reply, send
from tests.live_server import LiveServer, start
from tests.observability import SHOW_TIMEOUT

CONFIG_PATH = f"{DATAFEED_PREFIX}/config?probe=1"
# Fast ticks: updates reach the subscriber as soon as its bar changes (about once a second on the real clock),
# and none of them may be logged.
FAST = {"BAR_BROADCASTER_INTERVAL": "0.01"}
# Updates a subscriber reads before it breaks the rules.
UPDATES = 3


class Run:
    """A server's whole log, once it has stopped."""

    def __init__(self) -> None:
        self.lines: list[str] = []


@asynccontextmanager
async def server_run(env: Mapping[str, str]) -> AsyncIterator[tuple[LiveServer, Run]]:
    """A server process; on leaving it is stopped with SIGTERM and `Run.lines` holds everything it logged."""
    server = await asyncio.to_thread(start, env)
    run = Run()
    try:
        yield server, run
    finally:
        await asyncio.to_thread(server.stop, keep_log=True)
        run.lines = server.log_path.read_text().splitlines()
        server.log_path.unlink()


async def wait_for_line(server: LiveServer, wanted: Callable[[str], bool], what: str) -> str:
    """The first line of the running server's log for which `wanted` holds (polled: the log is another process's)."""
    deadline = time.monotonic() + SHOW_TIMEOUT
    while time.monotonic() < deadline:
        for line in server.log_path.read_text().splitlines():
            if wanted(line):
                return line
        await asyncio.sleep(0.05)
    raise AssertionError(f"no log line {what} within {SHOW_TIMEOUT} s:\n{server.log_path.read_text()[-3000:]}")


async def bad_frame_session(server: LiveServer, session: aiohttp.ClientSession) -> int:
    """Subscribe, read updates, then send a frame that is not JSON; the updates read."""
    async with session.ws_connect(server.url(WS_PATH)) as ws:
        await send(ws, "bars.subscribe", symbol="BTCUSD", resolution="1")
        await reply(ws, "bars.subscribe.response")
        received = 0
        for _ in range(UPDATES):
            await ws.receive_json(timeout=5)
            received += 1
        await ws.send_str("not json")
        assert (await closed_with(ws))[0] == 1003
    return received


async def test_text_lines_for_requests_and_for_each_connection_open_and_close() -> None:
    async with server_run(FAST) as (server, run), aiohttp.ClientSession() as session:
        async with session.get(server.url(CONFIG_PATH)) as response:
            body = await response.read()
        # A request aiohttp cannot parse: its error line (rate-limited) says so, no access line does.
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        try:
            writer.write(b"POST /api/v1/datafeed/quotes HTTP/1.1\r\nHost: test\r\nContent-Length: -1\r\n\r\n")
            assert (await reader.readline()).split()[1] == b"400"
        finally:
            writer.close()
            await writer.wait_closed()
        updates = await bad_frame_session(server, session)
        await wait_for_line(server, lambda line: "(bad_frame)" in line, "for the bad frame's close")
        staying = await session.ws_connect(server.url(WS_PATH))
        await send(staying, "ping")
        await reply(staying, "pong")
        await wait_for_line(server, lambda line: "ws#2 opened" in line, "for the second connection")
        stopping = asyncio.create_task(asyncio.to_thread(server.terminate))
        assert (await closed_with(staying))[0] == 1001
        await stopping
    access = [line for line in run.lines if " app.access: " in line]
    assert any("WARNING aiohttp.server: Malformed request from 127.0.0.1: Bad Request" in line for line in run.lines)
    assert not [line for line in access if "UNKNOWN" in line or " 400 " in line]
    request = next(line for line in access if "/api/v1/datafeed/config" in line)
    match = re.search(
        r"INFO app\.access: GET /api/v1/datafeed/config\?probe=1 200 (\d+) B ([\d.]+) ms 127\.0\.0\.1$", request
    )
    assert match, request
    assert int(match[1]) == len(body)
    assert 0 < float(match[2]) < 30_000
    opened = [line for line in run.lines if re.search(r"INFO app\.ws\.handler: ws#\d+ opened from 127\.0\.0\.1$", line)]
    assert len(opened) == 2
    closes = [line for line in run.lines if "app.ws.handler: ws#" in line and " closed: " in line]
    assert len(closes) == 2, closes
    first = re.search(
        r"ws#1 closed: code 1003 \(bad_frame\), [\d.]+ s, 2 messages in, (\d+) updates out, 0 dropped$", closes[0]
    )
    assert first, closes[0]
    assert int(first[1]) >= updates
    assert re.search(
        r"ws#2 closed: code 1001 \(shutdown\), [\d.]+ s, 1 messages in, 0 updates out, 0 dropped$", closes[1]
    )
    # Updates went out, and not one of them was logged: the WebSocket room wrote these four lines only.
    assert updates == UPDATES
    assert len([line for line in run.lines if " app.ws." in line]) == 4


async def test_json_lines_carry_every_field() -> None:
    env = FAST | {"LOG_FORMAT": "json", "WS_MAX_MESSAGE_SIZE": "1024"}
    async with server_run(env) as (server, run), aiohttp.ClientSession() as session:
        async with session.get(server.url(CONFIG_PATH)) as response:
            body = await response.read()
        await bad_frame_session(server, session)
        async with session.ws_connect(server.url(WS_PATH)) as oversize:
            await oversize.send_str("x" * 2000)
            assert (await closed_with(oversize))[0] == 1009
        await wait_for_line(server, lambda line: "ws#2 closed" in line, "for the oversize frame's close")
    records: list[dict[str, Any]] = [json.loads(line) for line in run.lines]
    assert all({"time", "level", "logger", "message"} <= record.keys() for record in records)
    assert all(record["time"].endswith("+00:00") for record in records), "ISO 8601 times in UTC"
    request = next(r for r in records if r["logger"] == "app.access" and r["path"] == CONFIG_PATH)
    assert request["method"] == "GET"
    assert request["status"] == 200
    assert request["bytes"] == len(body)
    assert request["client"] == "127.0.0.1"
    assert 0 < request["duration_ms"] < 30_000
    opened = next(r for r in records if r["logger"] == "app.ws.handler" and "opened" in r["message"])
    assert opened["client"] == "127.0.0.1"
    closes = [r for r in records if r["logger"] == "app.ws.handler" and "reason" in r]
    assert [(r["ws"], r["code"], r["reason"]) for r in closes] == [(1, 1003, "bad_frame"), (2, 1009, "bad_frame")]
    closed = closes[0]
    assert closed["ws"] == opened["ws"]
    assert [r["client"] for r in closes] == ["127.0.0.1", "127.0.0.1"]
    assert (closed["code"], closed["messages_in"], closed["updates_dropped"]) == (1003, 2, 0)
    assert closed["updates_out"] >= UPDATES
    assert closed["duration_s"] > 0


async def test_access_log_false_turns_request_lines_off() -> None:
    async with server_run({"ACCESS_LOG": "false"}) as (server, run), aiohttp.ClientSession() as session:
        async with session.get(server.url(CONFIG_PATH)) as response:
            assert response.status == 200
        async with session.ws_connect(server.url(WS_PATH)) as ws:
            await send(ws, "ping")
            await reply(ws, "pong")
        await wait_for_line(server, lambda line: "ws#1 closed" in line, "for the connection's close")
    assert not [line for line in run.lines if "app.access" in line]
    assert any("serving on" in line for line in run.lines), "other records are still logged"


async def test_request_lines_count_body_bytes_only(client: Client, caplog: pytest.LogCaptureFixture) -> None:
    # In process: the test server runs the app's own access log. A 304, a 416 and a HEAD send headers alone.
    path = "/static/js/datafeed.js"
    caplog.set_level(logging.INFO, ACCESS_LOGGER)
    full = await client.get(path)
    body = await full.read()
    sent = [
        (await client.get(path, headers={"If-None-Match": full.headers["ETag"]})).status,
        (await client.get(path, headers={"Range": "bytes=0-9"})).status,
        (await client.get(path, headers={"Range": "bytes=99999999-"})).status,
        (await client.head(path)).status,
    ]
    assert sent == [304, 206, 416, 200]
    deadline = time.monotonic() + SHOW_TIMEOUT
    while len(lines := [r for r in caplog.records if r.name == ACCESS_LOGGER]) < 5:
        assert time.monotonic() < deadline, "five request lines"
        await asyncio.sleep(0.01)
    assert [(r.__dict__["method"], r.__dict__["status"], r.__dict__["bytes"]) for r in lines] == [
        ("GET", 200, len(body)),
        ("GET", 304, 0),
        ("GET", 206, 10),
        ("GET", 416, 0),
        ("HEAD", 200, 0),
    ]

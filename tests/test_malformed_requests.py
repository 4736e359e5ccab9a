"""Requests that aiohttp's parser refuses, before any handler or hook of the app runs, are answered like every
other error: JSON `{"detail"}` with the security headers, on the real server process (the test client of
aiohttp has a protocol of its own)."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator

import pytest

from tests.live_server import HOST, LiveServer, log_tail, start

WAIT = 30.0
HEADER_LIMIT = 8190  # aiohttp's max_field_size and max_line_size


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    live = start({"ACCESS_LOG": "false"})
    try:
        yield live
    finally:
        live.stop()


async def exchange(server: LiveServer, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send `request` on a fresh connection; the status, headers (lower-case names) and body of the answer,
    read until the server closes the connection."""
    reader, writer = await asyncio.open_connection(HOST, server.port)
    try:
        writer.write(request)
        async with asyncio.timeout(WAIT):
            answer = await reader.read()
    finally:
        writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value for name, _, value in (line.partition(": ") for line in lines)}
    return int(status_line.split()[1]), headers, body


MALFORMED = {
    "request line": (b"GARBAGE\r\n\r\n", 400, "Bad Request"),
    "header line too long": (
        b"GET /api/v1/health HTTP/1.1\r\nHost: test\r\nX-Big: " + b"a" * (HEADER_LIMIT * 2) + b"\r\n\r\n",
        400,
        "Got more than 8190 bytes",
    ),
    "request target too long": (b"GET /" + b"a" * (HEADER_LIMIT * 2) + b" HTTP/1.1\r\nHost: test\r\n\r\n", 400, "Bad"),
    "negative Content-Length": (
        b"POST /api/v1/datafeed/quotes HTTP/1.1\r\nHost: test\r\nContent-Length: -1\r\n\r\n",
        400,
        "Bad Request",
    ),
    "Content-Encoding br": (
        b"POST /api/v1/datafeed/quotes HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        b"Content-Encoding: br\r\nContent-Length: 2\r\n\r\n[]",
        415,
        "Unsupported Content-Encoding",
    ),
}


@pytest.mark.parametrize(("request_bytes", "status", "says"), list(MALFORMED.values()), ids=list(MALFORMED))
async def test_a_request_the_parser_refuses_gets_json_with_the_security_headers(
    server: LiveServer, request_bytes: bytes, status: int, says: str
) -> None:
    answered, headers, body = await exchange(server, request_bytes)
    assert answered == status, body
    assert headers["content-type"].startswith("application/json"), headers
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert says in json.loads(body)["detail"]


async def test_a_malformed_request_is_a_one_line_warning_and_the_server_serves_on(server: LiveServer) -> None:
    await exchange(server, b"GET /" + b"b" * (HEADER_LIMIT * 2) + b" HTTP/1.1\r\nHost: test\r\n\r\n")
    answered, _, body = await exchange(
        server, b"GET /api/v1/health HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"
    )
    assert answered == 200
    assert json.loads(body)["status"] == "ok"
    log = log_tail(server.log_path, 200)
    assert re.search(r"WARNING.*Malformed request from 127\.0\.0\.1: Bad Request", log), log
    assert "Traceback" not in log

"""Headers every response carries: no MIME sniffing, no framing of our pages, a Server header without versions."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import hdrs
from multidict import CIMultiDictProxy

from app.paths import DOCS_PATH, HEALTH_PATH
from tests.conftest import RECEIVE_TIMEOUT, Client


def assert_hardened(headers: CIMultiDictProxy[str]) -> None:
    assert headers.get("X-Content-Type-Options") == "nosniff"
    assert headers.get("X-Frame-Options") == "DENY"
    assert "frame-ancestors 'none'" in headers.get("Content-Security-Policy", "")
    assert headers.get(hdrs.SERVER) == "Trading Pro"


@pytest.mark.parametrize(
    ("path", "accept", "status", "content_type"),
    [
        ("/", "text/html", 200, "text/html"),
        (DOCS_PATH, "text/html", 200, "text/html"),
        (HEALTH_PATH, "application/json", 200, "application/json"),
        ("/api/v1/datafeed/resolve/NOPE", "application/json", 404, "application/json"),
        ("/no/such/page", "text/html", 404, "application/json"),
        # application/ or text/javascript, by the platform's MIME table: both run under nosniff.
        ("/static/js/format.js", "*/*", 200, "javascript"),
        ("/static/css/app.css", "*/*", 200, "text/css"),
    ],
)
async def test_every_response_carries_the_security_headers(
    client: Client, path: str, accept: str, status: int, content_type: str
) -> None:
    response = await client.get(path, headers={hdrs.ACCEPT: accept})
    assert response.status == status
    assert response.content_type.endswith(content_type)
    await response.read()
    assert_hardened(response.headers)


async def test_a_method_not_allowed_and_a_websocket_upgrade_carry_them_too(client: Client) -> None:
    response = await client.delete(HEALTH_PATH)
    assert response.status == 405
    assert_hardened(response.headers)
    async with client.ws_connect("/api/v1/ws") as ws:
        assert ws._response.status == 101
        assert_hardened(ws._response.headers)


async def test_a_request_aiohttp_cannot_parse_names_no_versions_either(client: Client) -> None:
    # Such a request never reaches the app: aiohttp answers 400 itself, with its default Server header.
    reader, writer = await asyncio.open_connection("127.0.0.1", client.port)
    try:
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\nNot a header\r\n\r\n")
        async with asyncio.timeout(RECEIVE_TIMEOUT):
            head = await reader.readuntil(b"\r\n\r\n")
    finally:
        writer.close()
    lines = head.decode("latin-1").split("\r\n")
    assert lines[0].split(" ")[1] == "400"
    assert "Server: Trading Pro" in lines

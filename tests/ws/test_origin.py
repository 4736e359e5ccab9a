"""The WebSocket handshake's Origin rule: foreign origins are refused with 403 before the upgrade."""

from __future__ import annotations

import base64
import os

import pytest
from aiohttp import hdrs

from app.paths import WS_PATH
from tests.conftest import Client, Connect, reply, send

FOREIGN = "https://evil.example"


def handshake(origin: str | None, **headers: str) -> dict[str, str]:
    """The headers of a WebSocket upgrade request from a browser page at `origin` (None: a script, no Origin)."""
    upgrade = {
        hdrs.UPGRADE: "websocket",
        hdrs.CONNECTION: "Upgrade",
        hdrs.SEC_WEBSOCKET_KEY: base64.b64encode(os.urandom(16)).decode(),
        hdrs.SEC_WEBSOCKET_VERSION: "13",
    }
    return upgrade | ({hdrs.ORIGIN: origin} if origin is not None else {}) | headers


async def assert_refused(client: Client, origin: str, **headers: str) -> None:
    response = await client.get(WS_PATH, headers=handshake(origin, **headers))
    assert response.status == 403
    assert hdrs.UPGRADE not in response.headers
    assert hdrs.SEC_WEBSOCKET_ACCEPT not in response.headers
    body = await response.json()
    assert body["detail"].startswith("Origin not allowed")


async def assert_served(client: Client, origin: str | None, **headers: str) -> None:
    """The handshake upgrades and the socket then answers a ping."""
    async with client.ws_connect(WS_PATH, headers=handshake(origin, **headers)) as ws:
        await send(ws, "ping")
        assert (await reply(ws, "pong"))["type"] == "pong"


@pytest.mark.parametrize(
    "origin",
    [FOREIGN, "null", "http://127.0.0.1:1", "https://127.0.0.1.evil.example", "not an origin"],
)
async def test_a_foreign_origin_is_refused_before_the_upgrade(make_client: Connect, origin: str) -> None:
    await assert_refused(await make_client(), origin)


async def test_the_own_origin_is_recognised_by_the_host_header(make_client: Connect) -> None:
    client = await make_client()
    await assert_served(client, f"http://127.0.0.1:{client.port}")
    await assert_served(client, f"HTTP://127.0.0.1:{client.port}")


async def test_the_own_origin_is_recognised_whatever_the_scheme(make_client: Connect) -> None:
    # Behind a TLS-terminating proxy the page is https while the request reaching us is plain http.
    client = await make_client()
    await assert_served(client, "https://charts.example.com", **{hdrs.HOST: "charts.example.com"})
    await assert_refused(client, "https://charts.example.com:8443", **{hdrs.HOST: "charts.example.com"})


async def test_the_own_origin_is_recognised_by_x_forwarded_host(make_client: Connect) -> None:
    client = await make_client()
    forwarded = {hdrs.X_FORWARDED_HOST: "charts.example.com"}
    await assert_served(client, "https://charts.example.com", **forwarded)
    await assert_refused(client, FOREIGN, **forwarded)


async def test_a_handshake_without_origin_is_allowed(make_client: Connect) -> None:
    await assert_served(await make_client(), None)


async def test_listed_origins_are_allowed_and_others_still_refused(make_client: Connect) -> None:
    client = await make_client(cors_origins=("https://charts.example.com", "http://localhost:3000"))
    await assert_served(client, "https://charts.example.com")
    await assert_served(client, "http://localhost:3000")
    await assert_refused(client, "http://charts.example.com")
    await assert_refused(client, "http://localhost:3001")
    await assert_refused(client, "null")


@pytest.mark.parametrize("origin", [FOREIGN, "null"])
async def test_a_star_allows_any_origin(make_client: Connect, origin: str) -> None:
    await assert_served(await make_client(cors_origins=("*",)), origin)

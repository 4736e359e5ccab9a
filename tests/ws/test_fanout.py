"""Fan-out over real sockets: many clients on one topic, a client that does not read, subscriber counts."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import orjson

from app.keys import HUB
from app.market.instruments import INSTRUMENTS
from app.paths import WS_PATH
from tests.conftest import FROZEN_NOW, Client, Connect, fetch_bars, reply, send, stalled_subscriber, updates

# How long a client may stay behind before it is evicted, and how many updates the reading client must
# get in that time (nominally 0.2 s of them, at a tick per millisecond).
SLOW_CLIENT_TIMEOUT = 3.0
KEPT_UP = 200
# The whole scenario, nominally about 4 s, on a loaded two-core machine.
SCENARIO_BOUND = 60.0


async def test_hundreds_of_clients_share_one_topic(make_client: Connect) -> None:
    client = await make_client()
    # The test client's own session allows 100 connections; this one has no limit.
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        sockets = [await session.ws_connect(client.make_url(WS_PATH)) for _ in range(300)]
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
    client = await make_client(
        ws_send_buffer_limit=limit,
        ws_slow_client_timeout=SLOW_CLIENT_TIMEOUT,
        # Pings far apart: the stalled peer answers none, and must be evicted for being slow, not for that.
        ws_ping_interval=600.0,
        bar_broadcaster_interval=0.001,
    )
    hub = client.app[HUB]
    # 48 topics at a tick per millisecond: megabytes a second, enough to fill the kernel's buffers quickly.
    topics = [(i.symbol, r) for i in INSTRUMENTS for r in ("1", "5", "60", "1D")]
    stalled = await stalled_subscriber(client, topics)
    peak = 0

    def stalled_connections() -> int:
        """Connections still holding the stalled client's topics; notes the largest send buffer among them."""
        nonlocal peak
        found = [connection for connection in hub.connections if len(connection.topics) > 1]
        peak = max([peak, *(connection.transport.get_write_buffer_size() for connection in found)])
        return len(found)

    try:
        async with client.ws_connect(WS_PATH) as reader, asyncio.timeout(SCENARIO_BOUND):
            await send(reader, "bars.subscribe", symbol="BTCUSD")
            await reply(reader, "bars.subscribe.response")
            while (await fanout_health(client))["dropped"] == 0:
                await updates(reader, 10)
                stalled_connections()
                assert peak <= limit + 512, "the stalled client's buffer grew past the limit, and none was dropped"
            assert stalled_connections() == 1, "the stalled client is behind and still connected"
            # From now until its eviction, SLOW_CLIENT_TIMEOUT later, the reader must keep getting updates.
            dropped_before = (await fanout_health(client))["dropped"]
            received = await updates(reader, KEPT_UP)
            assert stalled_connections() == 1, f"{KEPT_UP} updates reached the reader while the other was stalled"
            assert (await fanout_health(client))["dropped"] > dropped_before, "and its updates were being dropped"
            while stalled_connections():
                await updates(reader, 10)
    finally:
        stalled.close()
    assert peak <= limit + 512, "the stalled client's buffer stayed bounded"
    [newest] = await fetch_bars(client, "BTCUSD", "1", FROZEN_NOW + 1, FROZEN_NOW + 1, count_back=1)
    assert [(u["topic"], u["payload"]) for u in received] == [("bars:BTCUSD:1", newest)] * KEPT_UP


async def fanout_health(client: Client) -> dict[str, Any]:
    """The broadcaster's figures from `/api/v1/datafeed/health`: delivered and dropped updates, ticks."""
    body: dict[str, Any] = (await (await client.get("/api/v1/datafeed/health")).json())["broadcaster"]
    return body


async def test_datafeed_health_counts_subscribers(make_client: Connect) -> None:
    client = await make_client()
    async with client.ws_connect(WS_PATH) as ws:
        await send(ws, "bars.subscribe", symbol="AAPL")
        await reply(ws, "bars.subscribe.response")
        await updates(ws, 1)
        body = await (await client.get("/api/v1/datafeed/health")).json()
    assert body["subscribers"] == 1
    assert body["topics"] == 1
    assert body["broadcaster"]["running"] is True
    assert body["broadcaster"]["delivered"] >= 1

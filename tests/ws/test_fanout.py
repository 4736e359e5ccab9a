"""Fan-out over real sockets: many clients on one topic, a client that does not read, subscriber counts."""

from __future__ import annotations

import asyncio

import aiohttp
import orjson

from app.keys import HUB
from app.market.instruments import INSTRUMENTS
from app.paths import WS_PATH
from tests.conftest import Connect, reply, send, stalled_subscriber, updates


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
    client = await make_client(ws_send_buffer_limit=limit, ws_slow_client_timeout=0.5, bar_broadcaster_interval=0.001)
    hub = client.app[HUB]
    # 48 topics at a tick per millisecond: megabytes a second, enough to fill the kernel's buffers quickly.
    topics = [(i.symbol, r) for i in INSTRUMENTS for r in ("1", "5", "60", "1D")]
    stalled = await stalled_subscriber(client, topics)
    try:
        async with client.ws_connect(WS_PATH) as reader:
            await send(reader, "bars.subscribe", symbol="BTCUSD")
            await reply(reader, "bars.subscribe.response")
            peak = 0
            evicted = False
            for _ in range(100):
                await updates(reader, 100)  # the reading client keeps getting its updates meanwhile
                others = [c for c in hub.connections if len(c.topics) > 1]
                peak = max([peak] + [c.transport.get_write_buffer_size() for c in others])
                if not others:
                    evicted = True
                    break
    finally:
        stalled.close()
    assert hub.dropped > 0, "updates for the stalled client were dropped"
    assert peak <= limit + 512, "its buffer stayed bounded"
    assert evicted, "a client that stays behind is disconnected"


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

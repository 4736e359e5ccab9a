"""Subscribing, unsubscribing and routing over a real WebSocket: replies, topics, limits, ping."""

from __future__ import annotations

import time
from typing import Any

import pytest

from app.market.grid import grid_for
from app.market.resolutions import Resolution
from app.market.simulation import SimulatedFeed
from app.paths import WS_PATH
from tests.conftest import FROZEN_NOW, Connect, receive, reply, send, updates


async def test_subscribe_replies_then_streams_the_forming_bar(make_client: Connect) -> None:
    client = await make_client()
    async with client.ws_connect(WS_PATH) as ws:
        await send(ws, "bars.subscribe", symbol="AAPL", resolution="1")
        assert await receive(ws) == {
            "type": "bars.subscribe.response",
            "payload": {"status": "ok", "symbol": "AAPL", "message": "Subscribed to AAPL", "topic": "bars:AAPL:1"},
        }
        [update] = await updates(ws, 1)
    assert update["topic"] == "bars:AAPL:1"
    assert set(update["payload"]) == {"time", "open", "high", "low", "close", "volume"}
    history = await (
        await client.get(
            "/api/v1/datafeed/bars",
            params={"symbol": "AAPL", "resolution": "1", "from_time": FROZEN_NOW - 600, "to_time": FROZEN_NOW + 60},
        )
    ).json()
    assert update["payload"] == history["bars"][-1], "the first update is the newest bar of history"


async def test_symbols_are_case_insensitive_and_resolutions_have_defaults_and_aliases(make_client: Connect) -> None:
    client = await make_client()
    async with client.ws_connect(WS_PATH) as ws:
        await send(ws, "bars.subscribe", symbol="btcusd")
        assert (await reply(ws, "bars.subscribe.response"))["payload"]["topic"] == "bars:BTCUSD:1"
        await send(ws, "bars.subscribe", symbol="eurusd", resolution="W")
        assert (await reply(ws, "bars.subscribe.response"))["payload"]["topic"] == "bars:EURUSD:1W"


@pytest.mark.parametrize(
    ("payload", "message"),
    [({"symbol": "NOPE"}, "Unknown symbol: NOPE"), ({"symbol": "AAPL", "resolution": "7"}, "Unknown resolution: 7")],
)
async def test_unknown_topics_get_an_error_and_the_socket_stays_open(
    make_client: Connect, payload: dict[str, str], message: str
) -> None:
    client = await make_client()
    async with client.ws_connect(WS_PATH) as ws:
        await send(ws, "bars.subscribe", **payload)
        body = await receive(ws)
        assert body["type"] == "bars.subscribe.response"
        assert body["payload"]["status"] == "error"
        assert body["payload"]["message"] == message
        await send(ws, "ping")
        assert (await receive(ws))["type"] == "pong"


async def test_ping_answers_with_server_time(make_client: Connect) -> None:
    client = await make_client()
    async with client.ws_connect(WS_PATH) as ws:
        before = time.time() * 1000
        await send(ws, "ping", anything=[1, 2])
        body = await receive(ws)
    assert body["type"] == "pong"
    assert before - 1000 <= body["payload"]["time"] <= time.time() * 1000 + 1000


async def test_several_topics_on_one_socket_are_routed_by_topic(make_client: Connect) -> None:
    client = await make_client()
    topics = {"bars:AAPL:5": Resolution.M5, "bars:BTCUSD:1D": Resolution.DAY, "bars:EURUSD:60": Resolution.H1}
    async with client.ws_connect(WS_PATH) as ws:
        for name in topics:
            _, symbol, resolution = name.split(":")
            await send(ws, "bars.subscribe", symbol=symbol, resolution=resolution)
        seen: dict[str, dict[str, Any]] = {}
        for update in await updates(ws, 30):
            seen[update["topic"]] = update["payload"]
    assert set(seen) == set(topics)
    for name, resolution in topics.items():
        instrument = SimulatedFeed().instrument(name.split(":")[1])
        assert instrument is not None
        grid = grid_for(instrument.hours, resolution)
        assert seen[name]["time"] == grid.stamp(grid.index(FROZEN_NOW)) * 1000


async def test_unsubscribe_stops_that_topic(make_client: Connect) -> None:
    client = await make_client()
    async with client.ws_connect(WS_PATH) as ws:
        await send(ws, "bars.subscribe", symbol="AAPL")
        await reply(ws, "bars.subscribe.response")
        await send(ws, "bars.unsubscribe", symbol="aapl", resolution="1")
        response = await reply(ws, "bars.unsubscribe.response")
        assert response["payload"] == {
            "status": "ok",
            "symbol": "AAPL",
            "message": "Unsubscribed from AAPL",
            "topic": "bars:AAPL:1",
        }
        await send(ws, "bars.subscribe", symbol="ETHUSD")
        await reply(ws, "bars.subscribe.response")
        later = await updates(ws, 10)
    assert {u["topic"] for u in later} == {"bars:ETHUSD:1"}


async def test_subscriptions_per_connection_are_limited(make_client: Connect) -> None:
    client = await make_client(ws_max_subscriptions=2)
    async with client.ws_connect(WS_PATH) as ws:
        for symbol in ("AAPL", "MSFT"):
            await send(ws, "bars.subscribe", symbol=symbol)
            assert (await reply(ws, "bars.subscribe.response"))["payload"]["status"] == "ok"
        await send(ws, "bars.subscribe", symbol="AAPL")  # already held: still fine
        assert (await reply(ws, "bars.subscribe.response"))["payload"]["status"] == "ok"
        await send(ws, "bars.subscribe", symbol="TSLA")
        body = await reply(ws, "bars.subscribe.response")
    assert body["payload"]["status"] == "error"
    assert "at most 2" in body["payload"]["message"]


async def test_topics_outside_the_broadcaster_set_are_refused(make_client: Connect) -> None:
    client = await make_client(bar_broadcaster_symbols=("AAPL",), bar_broadcaster_resolutions=(Resolution.M1,))
    async with client.ws_connect(WS_PATH) as ws:
        await send(ws, "bars.subscribe", symbol="BTCUSD")
        assert (await receive(ws))["payload"]["status"] == "error"
        await send(ws, "bars.subscribe", symbol="AAPL", resolution="5")
        assert (await receive(ws))["payload"]["status"] == "error"
        await send(ws, "bars.subscribe", symbol="AAPL", resolution="1")
        assert (await receive(ws))["payload"]["status"] == "ok"

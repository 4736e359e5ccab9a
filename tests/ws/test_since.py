"""Gap-free resume: `bars.subscribe` with `since`, duplicate subscriptions, the first update of a closed market."""

from __future__ import annotations

import asyncio
import calendar
import time
from typing import Any

import pytest
from aiohttp import ClientWebSocketResponse

from app.market.simulation import SimulatedFeed
from app.paths import WS_PATH
from tests.conftest import FROZEN_NOW, Client, Connect, Frame, fetch_bars, receive, send, update_times_until

MINUTE_MS = 60_000
# Frames come only from subscriptions: the broadcaster would tick once an hour.
QUIET = {"bar_broadcaster_interval": 3600.0}
# Saturday 2026-11-21 15:00:30 UTC: stocks and forex are closed, crypto trades.
SATURDAY = FROZEN_NOW + 3 * 86_400


async def subscribe(ws: ClientWebSocketResponse, symbol: str, resolution: str, **extra: Any) -> Frame:
    """Send `bars.subscribe` and return its response payload, which must come first."""
    await send(ws, "bars.subscribe", symbol=symbol, resolution=resolution, **extra)
    body = await receive(ws)
    assert body["type"] == "bars.subscribe.response", body
    payload: Frame = body["payload"]
    return payload


async def until_pong(ws: ClientWebSocketResponse) -> list[Frame]:
    """Every frame that arrives before the answer to a ping sent now: what the server had already sent."""
    await send(ws, "ping")
    frames: list[Frame] = []
    while (body := await receive(ws))["type"] != "pong":
        frames.append(body)
        assert len(frames) <= 2000, "the server keeps sending"
    return frames


def bars_of(frames: list[Frame], topic: str) -> list[Frame]:
    assert all(frame["type"] == "bars.update" and frame["topic"] == topic for frame in frames), frames
    return [frame["payload"] for frame in frames]


@pytest.mark.parametrize(("symbol", "resolution", "back"), [("BTCUSD", "1", 10), ("AAPL", "5", 6), ("EURUSD", "1D", 3)])
async def test_since_replays_every_bar_from_there_exactly_as_bars_serves_it(
    make_client: Connect, symbol: str, resolution: str, back: int
) -> None:
    client = await make_client(**QUIET)
    served = await fetch_bars(client, symbol, resolution, FROZEN_NOW + 1, FROZEN_NOW + 1, count_back=back + 1)
    since = served[0]["time"]
    async with client.ws_connect(WS_PATH) as ws:
        assert (await subscribe(ws, symbol, resolution, since=since))["status"] == "ok"
        replayed = bars_of(await until_pong(ws), f"bars:{symbol}:{resolution}")
    assert replayed == served, "closed bars final, then the forming one, ascending"
    assert len(replayed) == back + 1


async def test_since_between_bars_starts_at_the_next_bar_and_a_future_since_still_gets_the_latest(
    make_client: Connect,
) -> None:
    client = await make_client(**QUIET)
    served = await fetch_bars(client, "BTCUSD", "1", FROZEN_NOW + 1, FROZEN_NOW + 1, count_back=3)
    async with client.ws_connect(WS_PATH) as ws:
        await subscribe(ws, "BTCUSD", "1", since=served[0]["time"] + 1)
        assert bars_of(await until_pong(ws), "bars:BTCUSD:1") == served[1:]
    async with client.ws_connect(WS_PATH) as ws:
        await subscribe(ws, "BTCUSD", "1", since=(FROZEN_NOW + 3600) * 1000)
        assert bars_of(await until_pong(ws), "bars:BTCUSD:1") == served[-1:]


async def test_since_more_than_1000_existing_bars_back_is_refused(make_client: Connect) -> None:
    """Counted in bars that exist: AAPL's minutes skip nights and weekends, so periods would count wrong."""
    client = await make_client(**QUIET)
    served = await fetch_bars(client, "AAPL", "1", FROZEN_NOW + 1, FROZEN_NOW + 1, count_back=1001)
    assert served[-1]["time"] - served[0]["time"] > 1000 * MINUTE_MS, "the test needs a closed market in between"
    async with client.ws_connect(WS_PATH) as ws:
        assert (await subscribe(ws, "AAPL", "1", since=served[1]["time"]))["status"] == "ok"
        assert bars_of(await until_pong(ws), "bars:AAPL:1") == served[1:]
    async with client.ws_connect(WS_PATH) as ws:
        refused = await subscribe(ws, "AAPL", "1", since=served[0]["time"])
        assert refused["status"] == "error"
        assert refused["topic"] == "bars:AAPL:1"
        assert "/bars" in refused["message"]
        assert await until_pong(ws) == [], "nothing is streamed for a refused subscription"
        assert (await subscribe(ws, "AAPL", "1"))["status"] == "ok", "the socket is still usable"


async def test_a_bar_that_closes_between_history_and_subscription_arrives_with_its_final_values(
    make_client: Connect,
) -> None:
    boundary = FROZEN_NOW - FROZEN_NOW % 60 + 60
    now = [boundary - 10.0]
    client = await make_client(feed=SimulatedFeed(clock=lambda: now[0]), **QUIET)
    *_, partial = await fetch_bars(client, "ETHUSD", "1", boundary - 300, boundary)
    assert partial["time"] == (boundary - 60) * 1000
    now[0] = boundary + 5.0
    async with client.ws_connect(WS_PATH) as ws:
        await subscribe(ws, "ETHUSD", "1", since=partial["time"])
        closed, forming = bars_of(await until_pong(ws), "bars:ETHUSD:1")
    [final] = await fetch_bars(client, "ETHUSD", "1", boundary - 60, boundary)
    assert closed == final != partial, "the bar that closed meanwhile, with its final values"
    assert forming["time"] == boundary * 1000


async def test_a_topic_already_held_is_answered_ok_and_changes_nothing(make_client: Connect) -> None:
    client = await make_client(**QUIET)
    async with client.ws_connect(WS_PATH) as ws:
        first = await subscribe(ws, "BTCUSD", "1")
        [latest] = bars_of(await until_pong(ws), "bars:BTCUSD:1")
        again = await subscribe(ws, "btcusd", "1")
        assert again == first
        assert await until_pong(ws) == [], "no second stream and no repeated bar"
        assert (await subscribe(ws, "BTCUSD", "1", since=latest["time"] - 5 * MINUTE_MS)) == first
        assert await until_pong(ws) == [], "a since on a held topic replays nothing"
        await send(ws, "bars.unsubscribe", symbol="BTCUSD", resolution="1")
        assert (await receive(ws))["payload"]["status"] == "ok"
        assert await until_pong(ws) == []


@pytest.mark.parametrize(("symbol", "resolution"), [("AAPL", "1"), ("AAPL", "60"), ("EURUSD", "5"), ("AAPL", "1D")])
async def test_a_closed_market_still_sends_its_latest_bar_first(
    make_client: Connect, symbol: str, resolution: str
) -> None:
    client = await make_client(feed=SimulatedFeed(clock=lambda: SATURDAY), **QUIET)
    [latest] = await fetch_bars(client, symbol, resolution, SATURDAY + 1, SATURDAY + 1, count_back=1)
    assert latest["time"] < (SATURDAY - 12 * 3600) * 1000, "the market is closed"
    async with client.ws_connect(WS_PATH) as ws:
        assert (await subscribe(ws, symbol, resolution))["status"] == "ok"
        assert bars_of(await until_pong(ws), f"bars:{symbol}:{resolution}") == [latest]
    async with client.ws_connect(WS_PATH) as ws:
        await subscribe(ws, symbol, resolution, since=latest["time"] + 1)
        assert bars_of(await until_pong(ws), f"bars:{symbol}:{resolution}") == [latest], "even after `since`"


@pytest.mark.parametrize("since", [-1, "soon", 1.5, True, 4_102_444_800_001, 10**15])
async def test_an_invalid_since_is_an_invalid_payload(make_client: Connect, since: object) -> None:
    client = await make_client(**QUIET)
    async with client.ws_connect(WS_PATH) as ws:
        await send(ws, "bars.subscribe", symbol="BTCUSD", since=since)
        await ws.receive(timeout=5)
        assert ws.close_code == 1003


async def test_a_since_beyond_any_integer_type_is_an_invalid_payload(make_client: Connect) -> None:
    client = await make_client(**QUIET)
    async with client.ws_connect(WS_PATH) as ws:
        await ws.send_str('{"type": "bars.subscribe", "payload": {"symbol": "BTCUSD", "since": 1' + "0" * 40 + "}}")
        await ws.receive(timeout=5)
        assert ws.close_code == 1003


async def test_a_subscriber_keeps_receiving_while_another_client_replays_cold_history(make_client: Connect) -> None:
    # A clock 60x fast, so the forming bar changes (and is sent) every few ticks.
    origin, started = FROZEN_NOW - FROZEN_NOW % 60 + 5, time.monotonic()
    feed = SimulatedFeed(clock=lambda: origin + (time.monotonic() - started) * 60)
    client = await make_client(feed=feed, bar_broadcaster_interval=0.01)
    # Replays of about 990 bars each, cold: together a second or more of generation.
    topics = [("AAPL", "1", 60), ("EURUSD", "5", 300), ("ETHUSD", "60", 3_600), ("MSFT", "15", 900)]
    topics += [("GOOGL", "240", 14_400), ("USDJPY", "1", 60), ("NVDA", "30", 1_800), ("GBPUSD", "15", 900)]
    async with client.ws_connect(WS_PATH) as watcher, client.ws_connect(WS_PATH) as replayer, asyncio.timeout(120):
        await send(watcher, "bars.subscribe", symbol="BTCUSD", resolution="1")
        assert (await receive(watcher))["payload"]["status"] == "ok"
        for symbol, resolution, seconds in topics:
            since = (int(feed.now()) - 990 * seconds) * 1000
            await send(replayer, "bars.subscribe", symbol=symbol, resolution=resolution, since=since)
        await send(replayer, "ping")

        async def replayed() -> list[str]:
            """Types of the frames the replaying client received until its pong: it comes after every replay."""
            types = []
            while (body := await receive(replayer))["type"] != "pong":
                assert body["type"] == "bars.update" or body["payload"]["status"] == "ok", body
                types.append(body["type"])
            return types

        replays = asyncio.ensure_future(replayed())
        times = await update_times_until(watcher, replays)
        received = await replays
        assert received.count("bars.subscribe.response") == len(topics)
        assert received.count("bars.update") > 100 * len(topics), "every replay arrived"
    assert times == sorted(times), "updates arrive in order"
    assert len(times) >= 20, f"only {len(times)} updates while the replays were generated"


@pytest.mark.parametrize("resolution", ["240", "1D", "1W", "1M"])
async def test_a_closed_market_sends_its_latest_bar_once_then_nothing(make_client: Connect, resolution: str) -> None:
    """After the close the day's (week's, month's) bar still stands as the forming one, unchanged: it is sent once,
    not again at every tick."""
    wednesday_after_close = calendar.timegm((2026, 11, 25, 22, 0, 0))  # 17:00 in New York
    client = await make_client(feed=SimulatedFeed(clock=lambda: wednesday_after_close), bar_broadcaster_interval=0.01)
    async with client.ws_connect(WS_PATH) as ws:
        assert (await subscribe(ws, "AAPL", resolution))["status"] == "ok"
        ticks = await broadcaster_ticks(client)
        async with asyncio.timeout(30):
            while await broadcaster_ticks(client) < ticks + 20:
                pass
        [latest] = bars_of(await until_pong(ws), f"bars:AAPL:{resolution}")
    [served] = await fetch_bars(client, "AAPL", resolution, wednesday_after_close + 1, wednesday_after_close + 1, 1)
    assert latest == served


async def broadcaster_ticks(client: Client) -> int:
    async with client.get("/api/v1/datafeed/health") as response:
        ticks: int = (await response.json())["broadcaster"]["ticks"]
        return ticks

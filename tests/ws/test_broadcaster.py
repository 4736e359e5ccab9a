"""The broadcaster with the market's time passed in: what a tick publishes, what catching up returns, what it skips."""

from __future__ import annotations

import calendar
import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, NamedTuple

import orjson

from app.keys import BROADCASTER
from app.main import create_app
from app.market.bars import Bar
from app.market.resolutions import Resolution
from app.market.simulation import SimulatedFeed
from app.paths import WS_PATH
from app.settings import Settings
from app.stats import BroadcasterStats
from app.ws.broadcaster import Broadcaster, Catchup
from app.ws.connection import Connection
from app.ws.hub import Hub
from app.ws.protocol import Topic, text_frame, update_frame
from tests.conftest import ClientFactory, receive, reply, send
from tests.ws import OP_TEXT, Frame, Peer, served

AAPL_1 = Topic("AAPL", Resolution.M1)
MARKER = text_frame(b"marker")


def utc(year: int, month: int, day: int, hour: int, minute: int) -> int:
    return calendar.timegm((year, month, day, hour, minute, 0))


# Wednesday 2026-11-18; AAPL trades 14:30-21:00 UTC.
MINUTE_15_00 = utc(2026, 11, 18, 15, 0)


class Clock:
    """The market's time, set by the test; counts how often the feed reads it."""

    def __init__(self, now: float) -> None:
        self.now = now
        self.reads = 0

    def __call__(self) -> float:
        self.reads += 1
        return self.now


def bar_at(feed: SimulatedFeed, topic: Topic, start: int) -> dict[str, Any]:
    """The bar starting at `start` (seconds) as history serves it."""
    bars = feed.history(topic.symbol, topic.resolution, start, start + 1, 0).bars
    assert bars, f"no bar at {start}"
    assert bars[-1].time == start * 1000
    wire: dict[str, Any] = orjson.loads(bars[-1].json)
    return wire


def live(feed: SimulatedFeed, topic: Topic) -> Bar:
    bar = feed.live_bar(topic.symbol, topic.resolution)
    assert bar is not None
    return bar


async def update(peer: Peer, topic: Topic = AAPL_1) -> dict[str, Any]:
    """The next frame, which must be a `bars.update` of `topic`; its payload."""
    frame = await peer.frame()
    assert frame.opcode == OP_TEXT
    body: dict[str, Any] = orjson.loads(frame.payload)
    assert (body["type"], body["topic"]) == ("bars.update", topic.name)
    payload: dict[str, Any] = body["payload"]
    return payload


class Watching(NamedTuple):
    feed: SimulatedFeed
    hub: Hub
    broadcaster: Broadcaster
    connection: Connection
    peer: Peer


@asynccontextmanager
async def watching(clock: Clock, *topics: Topic) -> AsyncIterator[Watching]:
    """A broadcaster over a market on `clock`, and one real connection subscribed to `topics`."""
    feed = SimulatedFeed(clock=clock)
    hub = Hub(1 << 20)
    async with served() as [(connection, peer)]:
        hub.add(connection)
        for topic in topics:
            hub.subscribe(connection, topic)
        yield Watching(feed, hub, Broadcaster(feed, hub, 1.0), connection, peer)


async def test_a_tick_publishes_each_watched_topics_forming_bar() -> None:
    btc_5 = Topic("BTCUSD", Resolution.M5)
    async with watching(Clock(MINUTE_15_00 + 30), AAPL_1, btc_5) as (feed, _, broadcaster, _, peer):
        await broadcaster.tick(1.0)
        assert await update(peer, AAPL_1) == orjson.loads(live(feed, AAPL_1).json)
        assert await update(peer, btc_5) == orjson.loads(live(feed, btc_5).json)
    assert broadcaster.stats() == BroadcasterStats(enabled=True, running=False, interval=1.0, ticks=1)


async def test_once_a_bar_closes_a_tick_publishes_its_final_values_then_the_forming_bar() -> None:
    clock = Clock(MINUTE_15_00 + 30)
    async with watching(clock, AAPL_1) as (feed, _, broadcaster, _, peer):
        await broadcaster.tick(1.0)
        forming_then = await update(peer)
        clock.now = MINUTE_15_00 + 70
        await broadcaster.tick(2.0)
        final = await update(peer)
        assert final == bar_at(feed, AAPL_1, MINUTE_15_00), "the closed bar exactly as history serves it"
        assert final != forming_then, "its last half minute changed it"
        forming_now = await update(peer)
        assert forming_now == orjson.loads(live(feed, AAPL_1).json)
        assert forming_now["time"] == (MINUTE_15_00 + 60) * 1000


async def test_the_last_bar_of_a_session_gets_its_final_values_and_nothing_forms_after_the_close() -> None:
    last_minute = utc(2026, 11, 18, 20, 59)
    clock = Clock(last_minute + 30)
    async with watching(clock, AAPL_1) as (feed, hub, broadcaster, connection, peer):
        await broadcaster.tick(1.0)
        assert (await update(peer))["time"] == last_minute * 1000
        clock.now = last_minute + 90  # 21:00:30, the market has closed
        await broadcaster.tick(2.0)
        await broadcaster.tick(3.0)
        assert await update(peer) == bar_at(feed, AAPL_1, last_minute)
        hub.deliver(connection, MARKER, 3.0)
        assert await peer.frame() == Frame(OP_TEXT, b"marker"), "no forming bar while the market is closed"


async def test_catching_up_returns_the_frames_and_publishes_nothing() -> None:
    clock = Clock(MINUTE_15_00 + 30)
    async with watching(clock, AAPL_1) as (feed, hub, broadcaster, connection, peer):
        await broadcaster.tick(1.0)
        await update(peer)
        clock.now = MINUTE_15_00 + 70
        catchup = broadcaster.catch_up(AAPL_1)
        closed = feed.history("AAPL", Resolution.M1, MINUTE_15_00, MINUTE_15_00 + 1, 0).bars[-1]
        forming = update_frame(AAPL_1, live(feed, AAPL_1).json)
        forming_time = (MINUTE_15_00 + 60) * 1000
        assert catchup == Catchup(
            ((closed.time, update_frame(AAPL_1, closed.json)),), (forming_time, forming), changed=True
        )
        again = broadcaster.catch_up(AAPL_1)
        assert again == Catchup((), (forming_time, forming), changed=True), (
            "the closed bar is returned once; nothing was published"
        )
        hub.deliver(connection, MARKER, 2.0)
        assert await peer.frame() == Frame(OP_TEXT, b"marker"), "catching up published nothing"


async def test_topics_nobody_watches_cost_nothing_and_are_forgotten() -> None:
    clock = Clock(MINUTE_15_00 + 30)
    async with watching(clock) as (_, hub, broadcaster, connection, _):
        await broadcaster.tick(1.0)
        assert clock.reads == 0, "with no subscriber the feed is not even asked the time"
        hub.subscribe(connection, AAPL_1)
        await broadcaster.tick(2.0)
        assert clock.reads > 0
        hub.unsubscribe(connection, AAPL_1)
        await broadcaster.tick(3.0)
        reads = clock.reads
        await broadcaster.tick(4.0)
        assert clock.reads == reads
        clock.now = MINUTE_15_00 + 70
        assert broadcaster.catch_up(AAPL_1).closed == (), "an unwatched topic's old bar is forgotten"


def test_what_is_broadcast_follows_the_settings() -> None:
    feed, hub = SimulatedFeed(clock=Clock(MINUTE_15_00)), Hub(1)
    everything = Broadcaster(feed, hub, 1.0)
    some = Broadcaster(feed, hub, 1.0, symbols=["AAPL"], resolutions=[Resolution.M1, Resolution.DAY])
    off = Broadcaster(feed, hub, 1.0, enabled=False)
    topics = [AAPL_1, Topic("AAPL", Resolution.DAY), Topic("AAPL", Resolution.M5), Topic("MSFT", Resolution.M1)]
    assert [everything.broadcasts(t) for t in topics] == [True, True, True, True]
    assert [some.broadcasts(t) for t in topics] == [True, True, False, False]
    assert [off.broadcasts(t) for t in topics] == [False, False, False, False]
    assert off.stats() == BroadcasterStats(enabled=False, running=False, interval=1.0, ticks=0, leading=False)


async def test_a_newcomer_after_a_bar_closed_gets_the_forming_bar_and_those_there_get_the_closed_one_first(
    aiohttp_client: ClientFactory, settings: Settings
) -> None:
    """Through the real app: the subscribe handler publishes what catching up returned, in order."""
    clock = Clock(MINUTE_15_00 + 30)
    feed = SimulatedFeed(clock=clock)
    # One tick at start-up (nobody is subscribed yet), then none during the test.
    client = await aiohttp_client(create_app(dataclasses.replace(settings, bar_broadcaster_interval=3600), feed))
    async with client.ws_connect(WS_PATH) as first, client.ws_connect(WS_PATH) as newcomer:
        await send(first, "bars.subscribe", symbol="AAPL")
        await reply(first, "bars.subscribe.response")
        assert (await receive(first))["payload"]["time"] == MINUTE_15_00 * 1000
        clock.now = MINUTE_15_00 + 70
        await send(newcomer, "bars.subscribe", symbol="AAPL")
        assert (await receive(newcomer))["type"] == "bars.subscribe.response"
        assert (await receive(newcomer))["payload"] == orjson.loads(live(feed, AAPL_1).json)
        assert (await receive(first))["payload"] == bar_at(feed, AAPL_1, MINUTE_15_00)
        # Nothing else reaches those already there when someone joins: their forming bar comes with the tick.
        await send(first, "ping")
        assert (await receive(first))["type"] == "pong"
        await client.app[BROADCASTER].tick(0.0)
        assert (await receive(first))["payload"]["time"] == (MINUTE_15_00 + 60) * 1000
        assert (await receive(newcomer))["payload"]["time"] == (MINUTE_15_00 + 60) * 1000, "no closed bar first"

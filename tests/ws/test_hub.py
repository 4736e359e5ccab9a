"""The hub over real sockets: who follows what, one frame fanned out to a topic, laggards, closing."""

from __future__ import annotations

import asyncio

from app.market.resolutions import Resolution
from app.stats import FanoutStats
from app.ws.hub import CLOSE_TIMEOUT, PUBLISH_CHUNK, Hub
from app.ws.protocol import SHUTTING_DOWN, TOO_SLOW, Close, Topic, update_frame
from tests.ws import BIG, MARKER, OP_CLOSE, OP_TEXT, RECEIVE_TIMEOUT, SMALL, SMALL_BUFFER, Frame, behind, served

AAPL_1 = Topic("AAPL", Resolution.M1)
BTC_5 = Topic("BTCUSD", Resolution.M5)
FRAME = update_frame(AAPL_1, b'{"time":1767225600000}')


def close_frame(close: Close) -> Frame:
    return Frame(OP_CLOSE, close.code.value.to_bytes(2, "big") + close.reason.encode())


async def test_subscriptions_are_kept_per_topic_and_per_connection() -> None:
    hub = Hub(1 << 20)
    async with served(3) as [(a, _), (b, _), (c, _)]:
        for connection in (a, b, c):
            hub.add(connection)
        hub.subscribe(a, AAPL_1)
        hub.subscribe(b, AAPL_1)
        hub.subscribe(b, BTC_5)
        assert set(hub.topics) == {AAPL_1, BTC_5}
        assert (a.topics, b.topics, c.topics) == ({AAPL_1}, {AAPL_1, BTC_5}, set())
        assert hub.stats() == FanoutStats(connections=3, subscribers=2, topics=2, delivered=0, dropped=0)

        hub.unsubscribe(b, BTC_5)
        assert hub.topics == [AAPL_1], "a topic nobody follows is gone"
        hub.unsubscribe(c, AAPL_1)
        assert hub.stats() == FanoutStats(connections=3, subscribers=2, topics=1, delivered=0, dropped=0)

        hub.remove(a)
        assert a.topics == set()
        assert hub.stats() == FanoutStats(connections=2, subscribers=1, topics=1, delivered=0, dropped=0)
        hub.remove(b)
        assert hub.topics == []


async def test_publish_writes_the_same_bytes_to_each_subscriber_of_the_topic_and_to_no_one_else() -> None:
    hub = Hub(1 << 20)
    async with served(3) as [(a, peer_a), (b, peer_b), (c, peer_c)]:
        for connection, topic in ((a, AAPL_1), (b, AAPL_1), (c, BTC_5)):
            hub.add(connection)
            hub.subscribe(connection, topic)
        await hub.publish(AAPL_1, FRAME, now=1.0)
        assert await peer_a.raw(len(FRAME)) == FRAME
        assert await peer_b.raw(len(FRAME)) == FRAME
        hub.deliver(c, MARKER, now=1.0)
        assert await peer_c.frame() == Frame(OP_TEXT, b"marker"), "the other topic's subscriber got nothing before"
        assert (hub.stats().delivered, hub.stats().dropped) == (3, 0), "a frame to one connection counts too"


async def test_a_gone_subscriber_costs_the_others_nothing() -> None:
    hub = Hub(1 << 20)
    async with served(2) as [(gone, _), (staying, peer)]:
        for connection in (gone, staying):
            hub.add(connection)
            hub.subscribe(connection, AAPL_1)
        gone.transport.abort()
        await hub.publish(AAPL_1, FRAME, now=1.0)
        assert await peer.raw(len(FRAME)) == FRAME
        # Not written, and not dropped either: the hub's count of drops is the sum of the connections' own.
        assert (hub.stats().delivered, hub.stats().dropped, gone.dropped) == (1, 0, 0)
        hub.deliver(gone, MARKER, now=1.0)
        assert (hub.stats().delivered, hub.stats().dropped, gone.dropped) == (1, 0, 0)
        assert hub.laggards(behind_before=1e9) == [], "a closed connection is gone, not behind"


async def test_a_large_broadcast_gives_the_loop_a_turn_every_chunk_of_writes() -> None:
    hub = Hub(1 << 20)
    async with served(PUBLISH_CHUNK + 4) as pairs:
        for connection, _ in pairs:
            hub.add(connection)
            hub.subscribe(connection, AAPL_1)
        seen_by_another_task: list[int] = []

        async def another_task() -> None:
            seen_by_another_task.append(hub.stats().delivered)

        waiting = asyncio.create_task(another_task())
        await hub.publish(AAPL_1, FRAME, now=1.0)
        await waiting
        assert seen_by_another_task == [PUBLISH_CHUNK], "the loop ran other work after the first chunk"
        assert hub.stats().delivered == PUBLISH_CHUNK + 4
        for _, peer in pairs:
            assert await peer.raw(len(FRAME)) == FRAME


async def test_a_subscriber_behind_for_longer_than_asked_is_a_laggard_until_it_catches_up() -> None:
    hub = Hub(SMALL_BUFFER)
    async with served(2, small_buffers=True) as [(slow, slow_peer), (fast, fast_peer)]:
        for connection in (slow, fast):
            hub.add(connection)
            hub.subscribe(connection, AAPL_1)
        await hub.publish(AAPL_1, BIG, now=10.0)
        await fast_peer.frame()
        await hub.publish(AAPL_1, SMALL, now=11.0)
        assert (hub.stats().delivered, hub.stats().dropped) == (3, 1)
        assert await fast_peer.frame() == Frame(OP_TEXT, b'{"n":1}'), "the reading subscriber is not held up"
        assert slow.behind_since == 11.0
        assert hub.laggards(behind_before=11.0) == [], "behind since 11.0 is not behind since before 11.0"
        assert hub.laggards(behind_before=11.5) == [slow]

        assert len((await slow_peer.frame()).payload) == 1 << 20
        await hub.publish(AAPL_1, SMALL, now=12.0)
        assert hub.laggards(behind_before=1e9) == [], "caught up: the next delivery clears it"
        assert await slow_peer.frame() == Frame(OP_TEXT, b'{"n":1}')


async def test_a_drop_on_a_direct_delivery_also_makes_a_laggard() -> None:
    hub = Hub(SMALL_BUFFER)
    async with behind(hub, since=11.0) as (connection, _):
        assert hub.laggards(behind_before=12.0) == [connection]


async def test_evict_closes_in_the_background_with_the_reason_and_the_laggard_is_no_longer_listed() -> None:
    hub = Hub(SMALL_BUFFER)
    async with behind(hub, since=11.0) as (connection, peer):
        hub.evict(connection, TOO_SLOW)
        assert connection.evicted
        assert hub.laggards(behind_before=1e9) == []
        assert len((await peer.frame()).payload) == 1 << 20
        assert await peer.frame() == close_frame(TOO_SLOW)


async def test_close_tells_each_connection_why_and_cuts_off_one_that_cannot_take_the_close_frame() -> None:
    hub = Hub(1 << 20)
    async with served(2, small_buffers=True) as [(reading, reading_peer), (stalled, stalled_peer)]:
        stalled.deliver(BIG, 1 << 21, now=1.0)  # its peer never reads this, so no close frame can follow it
        async with asyncio.timeout(CLOSE_TIMEOUT + RECEIVE_TIMEOUT):
            await hub.close([reading, stalled], SHUTTING_DOWN)
        assert await reading_peer.frame() == close_frame(SHUTTING_DOWN)
        assert stalled.transport.is_closing()
        assert await stalled_peer.cut_off()

"""A newcomer that got its first frames from its own process's view joins a topic's stream from the newest bar it got:
older frames of the stream are left out for it, and it joins the others once the stream reaches that bar."""

from __future__ import annotations

from app.broker.base import Update
from app.market.resolutions import Resolution
from app.ws.broadcaster import make_update
from app.ws.hub import Hub
from app.ws.protocol import Topic, text_frame
from tests.ws import MARKER, OP_TEXT, Frame, served

TOPIC = Topic("AAPL", Resolution.M1)


def frame(time: int) -> bytes:
    return text_frame(b'{"time":%d}' % time)


def update(*times: int) -> Update:
    return make_update(TOPIC, [(time, frame(time)) for time in times])


async def test_a_joining_connection_gets_only_frames_from_its_newest_bar_on_then_the_whole_stream() -> None:
    hub = Hub(1 << 20)
    async with served(2) as [(old, old_peer), (new, new_peer)]:
        hub.add(old)
        hub.add(new)
        hub.subscribe(old, TOPIC)
        hub.join(new, TOPIC, 2_000)
        assert TOPIC in new.topics
        assert hub.topics == [TOPIC]
        await hub.publish_update(update(1_000), 1.0)
        await hub.publish_update(update(1_000, 2_000), 2.0)
        await hub.publish_update(update(2_000, 3_000), 3.0)
        for time in (1_000, 1_000, 2_000, 2_000, 3_000):
            assert await old_peer.frame() == Frame(OP_TEXT, b'{"time":%d}' % time)
        for time in (2_000, 2_000, 3_000):
            assert await new_peer.frame() == Frame(OP_TEXT, b'{"time":%d}' % time), "nothing older than 2,000"
        hub.deliver(new, MARKER, 4.0)
        assert await new_peer.frame() == Frame(OP_TEXT, b"marker"), "each frame once"


async def test_a_joining_connection_that_leaves_is_forgotten_with_its_topic() -> None:
    hub = Hub(1 << 20)
    async with served() as [(connection, peer)]:
        hub.add(connection)
        hub.join(connection, TOPIC, 5_000)
        assert hub.topic_named(TOPIC.name) == TOPIC
        hub.unsubscribe(connection, TOPIC)
        assert hub.topics == []
        assert hub.topic_named(TOPIC.name) is None
        await hub.publish_update(update(5_000), 1.0)
        hub.deliver(connection, MARKER, 2.0)
        assert await peer.frame() == Frame(OP_TEXT, b"marker"), "an update of a topic nobody follows goes nowhere"
        hub.join(connection, TOPIC, 5_000)
        hub.remove(connection)
        assert hub.topics == []
        assert hub.stats().topics == 0


async def test_joining_without_a_bar_is_subscribing() -> None:
    hub = Hub(1 << 20)
    async with served() as [(connection, peer)]:
        hub.add(connection)
        hub.join(connection, TOPIC, None)
        await hub.publish_update(update(1_000), 1.0)
        assert await peer.frame() == Frame(OP_TEXT, b'{"time":1000}')
        assert hub.socket_stats().subscriptions == {"1": 1}

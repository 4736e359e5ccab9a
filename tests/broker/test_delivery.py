"""Updates through Redis: to every process that follows their topic (the leader too), in order, from the moment
follow() returns; interest that lapses; the last bar times; a broker that starts while Redis is away."""

from __future__ import annotations

import asyncio
import logging

import pytest
import redis

from app.broker.base import Update
from app.broker.redis_broker import RedisBroker
from tests.broker.conftest import MakeNode
from tests.broker.nodes import LEASE, Node, until, update
from tests.redis_server import RedisServer, free_port


async def leader_and_follower(make_node: MakeNode, url: str | None = None) -> tuple[Node, Node]:
    nodes = [await make_node(url), await make_node(url)]
    await until(lambda: any(node.broker.leading for node in nodes), "a leader")
    await until(lambda: all(node.broker.stats().connected for node in nodes), "both connected")
    leader = next(node for node in nodes if node.broker.leading)
    return leader, next(node for node in nodes if node is not leader)


async def test_followed_topics_only_in_order(make_node: MakeNode) -> None:
    leader, follower = await leader_and_follower(make_node)
    await leader.broker.follow("bars:AAPL:1")
    for topic in ("bars:AAPL:1", "bars:MSFT:1"):
        await follower.broker.follow(topic)
    sent = [update(topic, time) for time in range(1, 6) for topic in ("bars:AAPL:1", "bars:MSFT:1", "bars:GOOG:1")]
    assert await leader.broker.publish(sent) is True
    await until(lambda: len(follower.received) == 10 and len(leader.received) == 5, "the updates")
    assert follower.received == [u for u in sent if u.topic != "bars:GOOG:1"]
    assert leader.received == [u for u in sent if u.topic == "bars:AAPL:1"]
    assert follower.broker.stats().updates_received == 10


async def test_publish_right_after_follow_arrives(make_node: MakeNode) -> None:
    leader, follower = await leader_and_follower(make_node)
    for n in range(30):
        await follower.broker.follow(f"bars:T{n}:1")
        assert await leader.broker.publish([update(f"bars:T{n}:1", n)]) is True
    await until(lambda: len(follower.received) == 30, "every update")
    assert follower.topics() == [f"bars:T{n}:1" for n in range(30)]


async def test_unfollowed_topic_stops(make_node: MakeNode) -> None:
    leader, follower = await leader_and_follower(make_node)
    for topic in ("bars:AAPL:1", "bars:MSFT:1"):
        await follower.broker.follow(topic)
    await follower.broker.unfollow("bars:AAPL:1")
    # Redis handles the UNSUBSCRIBE before a later SUBSCRIBE's confirmation.
    await follower.broker.follow("bars:MSFT:1")
    await leader.broker.publish([update("bars:AAPL:1", 1), update("bars:MSFT:1", 2)])
    await until(lambda: len(follower.received) >= 1, "the followed topic")
    assert follower.topics() == ["bars:MSFT:1"]


async def test_empty_publish_costs_nothing(make_node: MakeNode) -> None:
    leader, _ = await leader_and_follower(make_node)
    assert await leader.broker.publish([]) is True


async def test_watched_is_every_process_interest(make_node: MakeNode, redis_url: str, prefix: str) -> None:
    leader, follower = await leader_and_follower(make_node)
    await follower.broker.follow("bars:AAPL:1")
    assert await leader.broker.watched({"bars:MSFT:1"}) == {"bars:AAPL:1", "bars:MSFT:1"}
    await follower.broker.unfollow("bars:AAPL:1")
    # It lasts three leases from the last refresh, then the leader sweeps it out of Redis.
    lapsed = await until(lambda: not interest(redis_url, prefix), "the interest lapsed", within=3 * LEASE + 5)
    assert lapsed > 2 * LEASE
    assert await leader.broker.watched({"bars:MSFT:1"}) == {"bars:MSFT:1"}


def interest(url: str, prefix: str) -> list[bytes]:
    with redis.Redis.from_url(url) as client:
        return list(client.zrange(f"{prefix}:watched", 0, -1))


async def test_last_times_are_the_newest_published(make_node: MakeNode) -> None:
    leader, follower = await leader_and_follower(make_node)
    assert await follower.broker.last_times() == {}
    await leader.broker.publish([update("bars:AAPL:1", 1, 2), update("bars:MSFT:1", 5)])
    await leader.broker.publish([update("bars:AAPL:1", 3)])
    assert await follower.broker.last_times() == {"bars:AAPL:1": 3, "bars:MSFT:1": 5}


async def test_foreign_message_skipped(
    make_node: MakeNode, redis_url: str, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    leader, follower = await leader_and_follower(make_node)
    await follower.broker.follow("bars:AAPL:1")
    with redis.Redis.from_url(redis_url) as client:
        client.publish(f"{prefix}:topic:bars:AAPL:1", b"not an update")
    await leader.broker.publish([update("bars:AAPL:1", 1)])
    await until(lambda: len(follower.received) == 1, "the update after it")
    assert "Skipped a message on" in caplog.text


async def test_failing_sink_does_not_stop_the_reader(make_node: MakeNode, redis_url: str, prefix: str) -> None:
    leader, _ = await leader_and_follower(make_node)
    received: list[Update] = []

    async def sink(got: Update) -> None:
        received.append(got)
        if len(received) == 1:
            raise RuntimeError("the hub broke")

    broker = RedisBroker(redis_url, prefix=prefix, lease=LEASE, process_id="sink", sink=sink, on_leadership=print)
    await broker.start()
    try:
        await until(lambda: broker.stats().connected, "connected")
        await broker.follow("bars:AAPL:1")
        await leader.broker.publish([update("bars:AAPL:1", 1), update("bars:AAPL:1", 2)])
        await until(lambda: len(received) == 2, "both updates")
    finally:
        await broker.stop()


async def test_start_while_redis_is_away(make_node: MakeNode, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    port = free_port()
    url = f"redis://:hunter2@127.0.0.1:{port}/0"
    node = await make_node(url)
    await until(lambda: node.broker.problem() is not None, "cut off")
    problem = node.broker.problem()
    assert problem is not None
    assert problem.startswith(f"Redis at 127.0.0.1:{port} unreachable since ")
    assert not node.broker.stats().connected
    assert node.broker.stats().url == f"redis://127.0.0.1:{port}/0"
    # Everything answers at once, from what this process knows.
    async with asyncio.timeout(1):
        await node.broker.follow("bars:AAPL:1")
        assert await node.broker.watched({"bars:AAPL:1"}) == {"bars:AAPL:1"}
        assert await node.broker.publish([update("bars:AAPL:1", 1)]) is False
        assert await node.broker.last_times() == {}
    with RedisServer(port) as server:
        with server.client() as client:
            client.config_set("requirepass", "hunter2")
        await until(lambda: node.broker.leading, "connected and leading")
        assert node.broker.problem() is None
        assert node.broker.stats().reconnects == 1
        assert await node.broker.publish([update("bars:AAPL:1", 1)]) is True
        await until(lambda: len(node.received) == 1, "the topic followed while away")
        await node.broker.stop()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert warnings[0].startswith(f"Redis at 127.0.0.1:{port} unreachable: ")
    assert warnings[0].endswith("; updates stop until it is back")
    assert "hunter2" not in caplog.text

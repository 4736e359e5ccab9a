"""A Redis that restarts, stops answering, or drops a subscriber that reads too slowly: the brokers say so, come back
on their own, subscribe again and go on delivering, with one leader."""

from __future__ import annotations

import asyncio
import logging

import pytest

from app.broker.base import Update
from app.broker.redis_broker import RedisBroker
from tests.broker.conftest import MakeNode
from tests.broker.nodes import LEASE, Node, until, update
from tests.redis_server import RedisServer

TOPIC = "bars:AAPL:1"


async def pair(make_node: MakeNode, url: str) -> list[Node]:
    nodes = [await make_node(url), await make_node(url)]
    await until(lambda: all(node.broker.stats().connected for node in nodes), "connected")
    for node in nodes:
        await node.broker.follow(TOPIC)
    return nodes


async def published(nodes: list[Node], sent: Update) -> bool:
    for node in nodes:
        if node.broker.leading and await node.broker.publish([sent]):
            return True
    return False


async def delivered_to_all(nodes: list[Node], time: int) -> None:
    """A leader publishes an update with bar `time`, and every node receives it. Right after a fault, the process
    that thinks it leads may find its lease gone (refused: False); the one that took over publishes."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 15
    while not await published(nodes, update(TOPIC, time)):
        assert loop.time() < deadline, "no leader published"
        await asyncio.sleep(0.05)
    await until(lambda: all(node.received and node.received[-1].times == (time,) for node in nodes), "delivered")


async def test_restarted_redis(
    private_redis: RedisServer, make_node: MakeNode, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    nodes = await pair(make_node, private_redis.url)
    await delivered_to_all(nodes, 1)
    private_redis.stop()
    await until(lambda: all(node.broker.problem() is not None for node in nodes), "both cut off")
    assert not any(node.broker.stats().connected for node in nodes)
    private_redis.start()
    await until(lambda: all(node.broker.stats().connected for node in nodes), "both back")
    for node in nodes:
        stats = node.broker.stats()
        assert node.broker.problem() is None
        assert stats.reconnects == 1
        assert stats.disconnected_seconds > 0
    # Redis lost every key: the subscriptions and the lease are made again.
    await delivered_to_all(nodes, 2)
    assert caplog.text.count("unreachable: ") == 2
    assert caplog.text.count("is back after") == 2


async def test_paused_redis(private_redis: RedisServer, make_node: MakeNode) -> None:
    nodes = await pair(make_node, private_redis.url)
    await delivered_to_all(nodes, 1)
    leader = next(node for node in nodes if node.broker.leading)
    private_redis.pause()
    try:
        # Noticed within seconds although no connection closes; the leader steps down on its own.
        noticed = await until(lambda: all(node.broker.problem() is not None for node in nodes), "both cut off")
        await until(lambda: not leader.broker.leading, "the leader stepped down")
        assert leader.leadership == [True, False]
        assert noticed < 5
        assert await leader.broker.publish([update(TOPIC, 2)]) is False
    finally:
        private_redis.resume()
    await until(lambda: all(node.broker.problem() is None for node in nodes), "both back")
    await delivered_to_all(nodes, 3)


async def test_subscriber_killed_by_redis_for_reading_slowly(
    private_redis: RedisServer, make_node: MakeNode, prefix: str
) -> None:
    with private_redis.client() as client:
        client.config_set("client-output-buffer-limit", "pubsub 64kb 32kb 1")
    leader = await make_node(private_redis.url)
    await until(lambda: leader.broker.leading, "a leader")
    # A subscriber whose sink blocks on its first update: its output buffer in Redis grows past the limit.
    blocked = asyncio.Event()
    received: list[Update] = []

    async def sink(got: Update) -> None:
        received.append(got)
        await blocked.wait()

    slow = RedisBroker(private_redis.url, prefix=prefix, lease=LEASE, process_id="slow", sink=sink, on_leadership=print)
    await slow.start()
    try:
        await until(lambda: slow.stats().connected, "connected")
        await slow.follow(TOPIC)
        big = Update(TOPIC, b"x" * 100_000, (1,), (100_000,))
        with private_redis.client() as client:
            # The kernel's socket buffers take megabytes first; then Redis's buffer for the slow one passes its limit.
            # Two subscribers (the leader's and the slow one) until Redis drops the slow one.
            for _ in range(100):
                assert await leader.broker.publish([big] * 10) is True
                if len(client.client_list(_type="pubsub")) == 1:
                    break
            assert len(client.client_list(_type="pubsub")) == 1
        blocked.set()
        await until(lambda: slow.stats().reconnects == 1, "reconnected")
        # Subscribed again: a new update arrives after the backlog that made it before the kill.
        assert await leader.broker.publish([update(TOPIC, 7)]) is True
        await until(lambda: bool(received) and received[-1].times == (7,), "the update after the reconnection")
        assert slow.problem() is None
    finally:
        blocked.set()
        await slow.stop()


async def test_pubsub_clients_killed(private_redis: RedisServer, make_node: MakeNode) -> None:
    nodes = await pair(make_node, private_redis.url)
    await delivered_to_all(nodes, 1)
    with private_redis.client() as client:
        assert client.client_kill_filter(_type="pubsub") == 2
    await until(lambda: all(node.broker.stats().reconnects == 1 for node in nodes), "both reconnected")
    await delivered_to_all(nodes, 2)

"""Fixtures of the broker's tests: the shared Redis (keys under a prefix of the test's own, deleted after it) and a
private redis-server for the tests that restart, pause or reconfigure one."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import pytest
import redis

from app.broker.base import Update
from app.broker.redis_broker import RedisBroker
from tests.broker.nodes import LEASE, SHARED_REDIS, Node
from tests.redis_server import RedisServer


def delete_keys(url: str, prefix: str) -> None:
    """Delete every key under `prefix:` (SCAN, never FLUSHDB: others share the server)."""
    with redis.Redis.from_url(url) as client:
        keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
        if keys:
            client.delete(*keys)


@pytest.fixture
def redis_url() -> str:
    """The shared Redis, which must be running: these tests skip nothing."""
    return SHARED_REDIS


@pytest.fixture
def prefix(redis_url: str) -> Iterator[str]:
    """A key prefix of this test's own; its keys are deleted afterwards."""
    name = f"tp-test-{uuid.uuid4().hex[:12]}"
    yield name
    delete_keys(redis_url, name)


@pytest.fixture
def private_redis() -> Iterator[RedisServer]:
    """A redis-server of this test's own, stopped afterwards."""
    with RedisServer() as server:
        yield server


MakeNode = Callable[..., Awaitable[Node]]


@pytest.fixture
async def make_node(redis_url: str, prefix: str) -> AsyncIterator[MakeNode]:
    """Start brokers on `prefix` (of the shared Redis unless given a URL), stopped after the test."""
    made: list[Node] = []

    async def make(
        url: str | None = None, lease: float = LEASE, name: str | None = None, *, candidate: bool = True
    ) -> Node:
        received: list[Update] = []
        leadership: list[bool] = []

        async def sink(update: Update) -> None:
            received.append(update)

        broker = RedisBroker(
            url or redis_url,
            prefix=prefix,
            lease=lease,
            process_id=name or f"test:{len(made)}",
            sink=sink,
            on_leadership=leadership.append,
            candidate=candidate,
        )
        node = Node(broker, received, leadership)
        made.append(node)
        await broker.start()
        return node

    yield make
    for node in made:
        await node.broker.stop()

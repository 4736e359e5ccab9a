"""What the broker's tests share: a broker with what reached it, polling, updates to publish."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

from app.broker.base import Update
from app.broker.redis_broker import RedisBroker

SHARED_REDIS = "redis://127.0.0.1:6379/0"
# Seconds of the tests' lease: short, so takeovers are quick, yet not lost to a busy two-core machine.
LEASE = 1.0


@dataclass
class Node:
    """A started RedisBroker with what reached it: updates (by its sink) and leadership news, in order."""

    broker: RedisBroker
    received: list[Update] = field(default_factory=list)
    leadership: list[bool] = field(default_factory=list)

    def topics(self) -> list[str]:
        """The topics of the updates received, in order."""
        return [update.topic for update in self.received]


async def until(condition: Callable[[], bool], what: str, within: float = 15.0) -> float:
    """Poll `condition` until it holds; the seconds that took. AssertionError naming `what` after `within` s."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    while not condition():
        if loop.time() - start > within:
            raise AssertionError(f"not within {within:g} s: {what}")
        await asyncio.sleep(0.01)
    return loop.time() - start


def update(topic: str, *times: int) -> Update:
    """An update of `topic` with one small frame per bar time (ms)."""
    frames = [f'{{"topic":"{topic}","time":{t}}}'.encode() for t in times]
    ends = tuple(itertools.accumulate(len(frame) for frame in frames))
    return Update(topic, b"".join(frames), times, ends)

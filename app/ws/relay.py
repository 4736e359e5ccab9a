"""Which topics this process asks the broker for: those its clients follow, no more.

A topic is followed before a newcomer's first frames are made (so no update after them is missed) and let go once
no client here follows it (a sweep, since a connection can go at any moment without waiting for the broker). A
topic being joined (followed, its first frames being made, the newcomer not yet in the hub) is not let go.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from app.broker.base import Broker
from app.ws.hub import Hub
from app.ws.protocol import Topic

# Seconds between two sweeps for topics nobody here follows any more.
SWEEP_INTERVAL = 1.0


class Relay:
    """Follows, through `broker`, the topics that `hub`'s connections follow (the broker delivers to the hub)."""

    def __init__(self, hub: Hub, broker: Broker) -> None:
        self._hub = hub
        self._broker = broker
        self._followed: set[str] = set()
        # Topics with a newcomer between `follow` and joining the hub: no sweep lets them go.
        self._joining: Counter[str] = Counter()
        # Follows and unfollows go out one at a time, so that a topic let go and followed again ends followed.
        self._lock = asyncio.Lock()

    @asynccontextmanager
    async def following(self, topic: Topic) -> AsyncIterator[None]:
        """Within: `topic`'s updates come to this process (every one after entering), and stay followed until a
        sweep after leaving finds no connection of the hub following it."""
        self._joining[topic.name] += 1
        try:
            async with self._lock:
                if topic.name not in self._followed:
                    await self._broker.follow(topic.name)
                    self._followed.add(topic.name)
            yield
        finally:
            self._joining[topic.name] -= 1
            if not self._joining[topic.name]:
                del self._joining[topic.name]

    async def sweep(self) -> None:
        """Let go of the topics no connection here follows any more."""
        async with self._lock:
            for name in self._followed.difference(self._hub.topic_names, self._joining):
                await self._broker.unfollow(name)
                self._followed.discard(name)

    async def run(self) -> None:
        """Sweep every SWEEP_INTERVAL seconds until cancelled."""
        while True:
            await asyncio.sleep(SWEEP_INTERVAL)
            await self.sweep()

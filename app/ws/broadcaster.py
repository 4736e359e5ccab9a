"""The broadcaster: every market tick, the forming bar of each watched topic goes to its subscribers."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection
from typing import NamedTuple

from app.market.feed import MarketFeed
from app.market.resolutions import Resolution
from app.stats import BroadcasterStats
from app.ws.hub import Hub
from app.ws.protocol import Topic, update_frame

log = logging.getLogger(__name__)


class Catchup(NamedTuple):
    """A topic's frames to publish, in this order: a bar that closed since the last frame, the forming bar."""

    closed: bytes | None
    forming: bytes | None


class Broadcaster:
    """Publishes live bars from a `MarketFeed`; does no work for topics nobody watches."""

    def __init__(
        self,
        feed: MarketFeed,
        hub: Hub,
        interval: float,
        *,
        enabled: bool = True,
        symbols: Collection[str] = (),
        resolutions: Collection[Resolution] = (),
    ) -> None:
        self._feed = feed
        self._hub = hub
        self.interval = interval
        self.enabled = enabled
        self._symbols = frozenset(symbols)
        self._resolutions = frozenset(resolutions)
        # Per topic, the start (ms) of the last bar sent: a later bar means that one has closed.
        self._last_sent: dict[Topic, int] = {}
        self.running = False
        self.ticks = 0

    def stats(self) -> BroadcasterStats:
        """Whether it is enabled and running, its interval (seconds) and ticks since start."""
        return BroadcasterStats(self.enabled, self.running, self.interval, self.ticks)

    def broadcasts(self, topic: Topic) -> bool:
        """Whether this broadcaster streams `topic` (BAR_BROADCASTER_SYMBOLS/RESOLUTIONS; empty means all)."""
        return (
            self.enabled
            and (not self._symbols or topic.symbol in self._symbols)
            and (not self._resolutions or topic.resolution in self._resolutions)
        )

    def catch_up(self, topic: Topic) -> Catchup:
        """Bring `topic` up to date; the frames that say so, which the caller publishes.

        A tick sends both to the topic. A new subscriber joins between the two: the closed bar goes
        to those already there (so they see its final state), the forming bar to the newcomer alone,
        which the others get with the next tick. A newcomer costs O(1), not a broadcast, and per topic
        `time` never goes back for anyone.
        """
        bar = self._feed.live_bar(topic.symbol, topic.resolution)
        last = self._last_sent.pop(topic, None)
        closed = None
        if last is not None and (bar is None or bar.time > last):
            closed = self._closed_frame(topic, last)
        if bar is None:
            return Catchup(closed, None)
        self._last_sent[topic] = bar.time
        return Catchup(closed, update_frame(topic, bar.json))

    async def tick(self, now: float) -> None:
        """Bring every watched topic up to date and publish what changed; forget unwatched topics."""
        self.ticks += 1
        watched = self._hub.topics
        for topic in watched:
            for frame in self.catch_up(topic):
                if frame is not None:
                    await self._hub.publish(topic, frame, now)
        for topic in self._last_sent.keys() - set(watched):
            del self._last_sent[topic]

    def _closed_frame(self, topic: Topic, start_ms: int) -> bytes | None:
        # The bar's complete values, exactly as history will serve them from now on.
        start = start_ms // 1000
        closed = self._feed.history(topic.symbol, topic.resolution, start, start + 1, 0).bars
        return update_frame(topic, closed[-1].json) if closed and closed[-1].time == start_ms else None

    async def run(self) -> None:
        """Tick every `interval` seconds on the loop's clock, without drifting, until cancelled."""
        loop = asyncio.get_running_loop()
        self.running = True
        next_tick = loop.time()
        try:
            while True:
                now = loop.time()
                try:
                    await self.tick(now)
                except Exception:
                    log.exception("Broadcaster tick failed")
                next_tick = max(next_tick + self.interval, loop.time())
                await asyncio.sleep(next_tick - loop.time())
        finally:
            self.running = False

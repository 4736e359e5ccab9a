"""BROKER_URL=memory://: one process, whose broadcaster's updates go straight to its own clients."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from app.broker.base import Update, UpdateSink
from app.settings import MEMORY_BROKER
from app.stats import BrokerStats


class MemoryBroker:
    """Always leading, never cut off: `publish` hands each update to the sink, in order."""

    name = "broker"
    leading = True
    shared = False

    def __init__(self, sink: UpdateSink) -> None:
        self._sink = sink

    def problem(self) -> str | None:
        return None

    def stats(self) -> BrokerStats:
        return BrokerStats(MEMORY_BROKER, True, True, 0, 0, 0.0, 0, 0)

    async def watched(self, local: Collection[str]) -> Collection[str]:
        return local

    async def publish(self, updates: Sequence[Update]) -> bool:
        for update in updates:
            await self._sink(update)
        return True

    async def follow(self, topic: str) -> None:
        """Nothing to do: every update of this process's broadcaster reaches the sink."""

    async def unfollow(self, topic: str) -> None:
        """Nothing to do."""

    async def last_times(self) -> Mapping[str, int]:
        return {}

    async def start(self) -> None:
        """Nothing to connect."""

    async def stop(self) -> None:
        """Nothing to release."""

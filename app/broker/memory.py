"""memory:// : one process, which always runs the broadcaster and hands each update straight to its own clients."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from app.broker.base import Update, UpdateSink
from app.settings import MEMORY_BROKER
from app.stats import BrokerStats


class MemoryBroker:
    """The broker of a process alone: `publish` awaits `sink` with each update, in order."""

    def __init__(self, sink: UpdateSink) -> None:
        self._sink = sink
        self._received = 0

    @property
    def name(self) -> str:
        """`broker`, as the health check calls it."""
        return "broker"

    @property
    def leading(self) -> bool:
        """Always: nobody else could run the broadcaster."""
        return True

    @property
    def shared(self) -> bool:
        """Never: updates go nowhere but this process."""
        return False

    def problem(self) -> str | None:
        """Nothing can go wrong with it: None."""
        return None

    def stats(self) -> BrokerStats:
        """Leading and connected from the start (no lease ever taken); updates received are those published."""
        return BrokerStats(MEMORY_BROKER, True, True, 0, 0, 0.0, self._received, 0)

    async def watched(self, local: Collection[str]) -> Collection[str]:
        """`local`: no other process follows anything."""
        return local

    async def publish(self, updates: Sequence[Update]) -> bool:
        """Await the sink with each update in order; True (nothing can take the broadcaster away)."""
        for update in updates:
            self._received += 1
            await self._sink(update)
        return True

    async def follow(self, topic: str) -> None:
        """Nothing to do: every update published here reaches the sink."""

    async def unfollow(self, topic: str) -> None:
        """Nothing to do: the sink skips topics nobody follows."""

    async def last_times(self) -> Mapping[str, int]:
        """Empty: the broadcaster never changes hands."""
        return {}

    async def start(self) -> None:
        """Nothing to connect."""

    async def stop(self) -> None:
        """Nothing to disconnect."""

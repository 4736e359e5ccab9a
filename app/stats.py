"""Neutral ground: the figures one room reports and another reads (the health check reads the WebSocket room's)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class FanoutStats:
    """The WebSocket fan-out as it stands: counts of connections and topics, totals of updates since start."""

    connections: int
    # Connections following at least one topic.
    subscribers: int
    # Topics with at least one subscriber.
    topics: int
    # Updates written to clients.
    delivered: int
    # Updates skipped for clients that were not reading.
    dropped: int


@dataclass(frozen=True, slots=True)
class BroadcasterStats:
    """The broadcaster's state: whether it is on and running, its interval (seconds), ticks since start."""

    enabled: bool
    running: bool
    interval: float
    ticks: int


class FanoutStatsSource(Protocol):
    """Anything that reports `FanoutStats` (the hub)."""

    def stats(self) -> FanoutStats:
        """The figures now."""


class BroadcasterStatsSource(Protocol):
    """Anything that reports `BroadcasterStats` (the broadcaster)."""

    def stats(self) -> BroadcasterStats:
        """The figures now."""

"""Neutral ground: the figures one room reports and another reads (the health check reads the WebSocket room's)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class CloseReason(StrEnum):
    """Why a WebSocket connection ended, as metrics and connection logs name it."""

    # The client closed it or went away.
    CLIENT = "client"
    # No client message for WS_HEARTBEAT_INTERVAL seconds.
    HEARTBEAT = "heartbeat"
    # Open longer than WS_MAX_CONNECTION_LIFESPAN seconds.
    LIFESPAN = "lifespan"
    # Protocol pings went unanswered: a dead TCP peer.
    PING_TIMEOUT = "ping_timeout"
    # Updates dropped for longer than WS_SLOW_CLIENT_TIMEOUT seconds.
    SLOW_CONSUMER = "slow_consumer"
    # A frame that is not a valid message, of an unknown type, binary, or too large.
    BAD_FRAME = "bad_frame"
    # A handshake from a page of a foreign origin, refused before the upgrade.
    ORIGIN = "origin"
    # The server is stopping.
    SHUTDOWN = "shutdown"


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
class SocketStats:
    """Subscriptions per resolution now (`{"1": 120, "1D": 4}`) and connections ended per `CloseReason` since start."""

    subscriptions: Mapping[str, int]
    closed: Mapping[CloseReason, int]


@dataclass(frozen=True, slots=True)
class BroadcasterStats:
    """The broadcaster's state: whether it is on and running, its interval (seconds), ticks since start, whether
    this process runs it now (with a shared broker, one process of all does)."""

    enabled: bool
    running: bool
    interval: float
    ticks: int
    leading: bool = True


@dataclass(frozen=True, slots=True)
class BrokerStats:
    """The broker as it stands: `url` where it is (no password), `leading` whether this process runs the
    broadcaster, `connected` whether it reaches its broker (always for memory://); totals since start: leaderships
    taken, reconnects, seconds spent cut off, updates received, publishes refused by the fencing check."""

    url: str
    leading: bool
    connected: bool
    leaderships: int
    reconnects: int
    disconnected_seconds: float
    updates_received: int
    publishes_refused: int


class BrokerStatsSource(Protocol):
    """Anything that reports `BrokerStats` (the broker)."""

    def stats(self) -> BrokerStats:
        """The figures now."""


class FanoutStatsSource(Protocol):
    """Anything that reports `FanoutStats` and `SocketStats` (the hub)."""

    def stats(self) -> FanoutStats:
        """The figures now."""

    def socket_stats(self) -> SocketStats:
        """Subscriptions and closes now; O(topics)."""


class BroadcasterStatsSource(Protocol):
    """Anything that reports `BroadcasterStats` (the broadcaster), and calls `lag_observer`, when set, after each
    tick with the seconds from when it was due until its last update was written."""

    lag_observer: Callable[[float], None] | None

    def stats(self) -> BroadcasterStats:
        """The figures now."""

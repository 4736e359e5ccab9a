"""What the broadcaster and the WebSocket room need of a broker, whichever it is."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from app.stats import BrokerStats

__all__ = ["Broker", "BrokerStats", "LeadershipListener", "Update", "UpdateSink"]


@dataclass(frozen=True, slots=True)
class Update:
    """One topic's frames of one broadcaster tick, in the order clients get them: `topic` its name
    (`bars:AAPL:1`), `frames` the encoded WebSocket frames one after the other, `times` each frame's bar time (UTC
    ms, never decreasing) and `ends` where each frame ends in `frames` (so a receiver can leave out a prefix)."""

    topic: str
    frames: bytes
    times: tuple[int, ...]
    ends: tuple[int, ...]


# Called with each update that reaches this process, in the order published; awaited before the next one.
UpdateSink = Callable[[Update], Awaitable[None]]
# Called when this process starts (True) or stops (False) running the broadcaster.
LeadershipListener = Callable[[bool], None]


class Broker(Protocol):
    """How updates travel between the processes of one deployment (see the implementations)."""

    @property
    def name(self) -> str:
        """What the health check calls it: `broker`."""

    @property
    def leading(self) -> bool:
        """Whether this process runs the broadcaster now (memory://: always)."""

    @property
    def shared(self) -> bool:
        """Whether other processes share it (redis://): updates come back through it to every process, this one
        too, so a newcomer's first frames cannot be the broadcaster's own state."""

    def problem(self) -> str | None:
        """What is wrong now, for a person (the broker unreachable since when); None while it works."""

    def stats(self) -> BrokerStats:
        """The figures now."""

    async def watched(self, local: Collection[str]) -> Collection[str]:
        """The topics some process's clients follow (`local`: this process's); the leader's tick works on these."""

    async def publish(self, updates: Sequence[Update]) -> bool:
        """Send `updates` to every process's sink, once each, in order, if this process still holds the lease
        (checked with its fencing token, atomically with the send); False when it does not (nothing was sent)."""

    async def follow(self, topic: str) -> None:
        """Receive `topic`'s updates from now on; returns once they will arrive (or at once while cut off: the
        subscription is made again when the broker is back)."""

    async def unfollow(self, topic: str) -> None:
        """Stop receiving `topic`'s updates (no client of this process follows it any more)."""

    async def last_times(self) -> Mapping[str, int]:
        """Per topic, the time (UTC ms) of the newest bar any broadcaster published: where a new leader goes on
        from, so that a topic's `time` never goes back (memory://: empty, the broadcaster never changes)."""

    async def start(self) -> None:
        """Connect (for Redis: in the background, retrying; start-up never waits for Redis) and take part in the
        election of the broadcaster."""

    async def stop(self) -> None:
        """Release the lease if held (another process takes over at once), stop receiving, disconnect."""

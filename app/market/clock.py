"""The server's clock: the wall clock, or a replay clock that runs from a past moment, `speed` times faster.

One clock serves the whole server (REPLAY_START, REPLAY_SPEED): the feeds read the time from it, and so do the
interfaces that report it (UDF `/time`, the WebSocket's `pong`). A replay clock counts from a reading of
`time.monotonic()`, which on Linux is one clock for the whole machine: worker processes forked after the clock was
made read the same replay time, and a change of the system's wall clock (NTP) does not move it.
"""

from __future__ import annotations

import time
from collections.abc import Callable

# UTC seconds (a float) now, by whichever clock.
Clock = Callable[[], float]


class ReplayClock:
    """UTC seconds on a replay: `start` at the monotonic reading `origin` (default: when made), running `speed`
    times faster than real time from there (speed > 0; 1 is real time)."""

    __slots__ = ("_monotonic", "origin", "speed", "start")

    def __init__(
        self,
        start: float,
        speed: float = 1.0,
        *,
        origin: float | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if not speed > 0:
            raise ValueError(f"a replay speed must be positive, not {speed!r}")
        self.start = start
        self.speed = speed
        self._monotonic = monotonic
        self.origin = monotonic() if origin is None else origin

    def __call__(self) -> float:
        return self.start + (self._monotonic() - self.origin) * self.speed

    def real_seconds(self, replay_seconds: float) -> float:
        """How many real seconds the clock takes to move `replay_seconds` on."""
        return replay_seconds / self.speed


def server_clock(replay_start: float | None, speed: float = 1.0) -> Clock:
    """The wall clock (`time.time`) without a replay start (UTC seconds); else a replay clock starting there now."""
    return time.time if replay_start is None else ReplayClock(replay_start, speed)

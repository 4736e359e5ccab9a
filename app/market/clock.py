"""The server's clock: the wall clock, or a replay clock that runs from a past moment, `speed` times faster.

One clock serves the whole server (REPLAY_START, REPLAY_SPEED): the feeds read the time from it, and so do the
interfaces that report it (UDF `/time`, the WebSocket's `pong`). A replay clock stands at its start until it begins,
when the server has started and is about to listen (start-up reads the store, so at speed 600 starting it with the
process let ten minutes or more of the replay pass before anyone could connect). It counts from a reading of
`time.monotonic()`, which on Linux is one clock for the whole machine, kept in memory shared with the processes
forked after the clock was made: the first worker to start begins the clock for all, and a change of the system's
wall clock (NTP) does not move it.
"""

from __future__ import annotations

import math
import mmap
import struct
import time
from collections.abc import Callable

# UTC seconds (a float) now, by whichever clock.
Clock = Callable[[], float]
# The shared origin: one native double (NaN until the clock begins), written and read whole at offset 0 (page
# aligned, so one 8-byte store and load: no process reads half of it).
_ORIGIN = struct.Struct("d")


class ReplayClock:
    """UTC seconds on a replay: `start` until the clock begins (at the monotonic reading `origin`, or at the first
    `begin`), then running `speed` times faster than real time from there (speed > 0; 1 is real time)."""

    __slots__ = ("_monotonic", "_origin", "_shared", "speed", "start")

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
        # Anonymous and MAP_SHARED: a process forked from this one sees the origin another one writes.
        self._shared = mmap.mmap(-1, mmap.PAGESIZE)
        _ORIGIN.pack_into(self._shared, 0, math.nan if origin is None else origin)
        self._origin = origin

    def __call__(self) -> float:
        origin = self.origin
        return self.start if origin is None else self.start + (self._monotonic() - origin) * self.speed

    @property
    def origin(self) -> float | None:
        """The monotonic reading (seconds) at which the clock began, in this process or a related one; None
        before."""
        if self._origin is None:
            (shared,) = _ORIGIN.unpack_from(self._shared, 0)
            if not math.isnan(shared):
                self._origin = shared
        return self._origin

    def begin(self) -> None:
        """Start the clock now, unless it has begun already (here or in a related process). Not atomic across
        processes: with several workers the first one begins it before the others are forked."""
        if self.origin is None:
            self._origin = self._monotonic()
            _ORIGIN.pack_into(self._shared, 0, self._origin)

    def real_seconds(self, replay_seconds: float) -> float:
        """How many real seconds the clock takes to move `replay_seconds` on."""
        return replay_seconds / self.speed


def server_clock(replay_start: float | None, speed: float = 1.0) -> Clock:
    """The wall clock (`time.time`) without a replay start (UTC seconds); else a replay clock starting there, which
    stands there until it begins (`ReplayClock.begin`)."""
    return time.time if replay_start is None else ReplayClock(replay_start, speed)

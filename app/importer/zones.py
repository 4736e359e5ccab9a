"""Wall-clock times of a timezone with daylight saving, turned into UTC for a whole column at once.

A local time that the clocks skip (New York 2024-03-10 02:30) does not exist; one they pass twice (2024-11-03
01:30) is ambiguous: either moment, the earlier (still daylight time) or the later. The zone's transitions over
the column's span are found once (its offset sampled every few hours, each change narrowed to the second), and
every wall time is then tried against each offset the zone used: the UTC moments whose own offset is the one
tried are the wall time's readings: none, one, or two.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np

from app.importer.decimals import Ints, Mask
from app.market.resolutions import DAY

Ambiguous = Literal["earlier", "later"]
# Zones change offset at most a few times a year; two changes less than this apart would be missed.
_SAMPLE = 6 * 3600


@dataclass(frozen=True, slots=True)
class Readings:
    """UTC seconds of each wall time (0 where it does not exist), and which did not exist or were ambiguous."""

    utc: Ints
    nonexistent: Mask
    ambiguous: Mask


def _offset(zone: ZoneInfo, t: int) -> int:
    """The zone's UTC offset at UTC second `t`, in seconds."""
    offset = datetime.fromtimestamp(t, UTC).astimezone(zone).utcoffset()
    assert offset is not None  # a ZoneInfo always has one
    return int(offset.total_seconds())


def _transitions(zone: ZoneInfo, start: int, end: int) -> tuple[Ints, Ints]:
    """The zone's offset changes in [start, end]: their UTC seconds, and the offsets before, between and after
    them (one more than there are changes)."""
    samples = list(range(start, end + _SAMPLE, _SAMPLE))
    offsets = [_offset(zone, t) for t in samples]
    changes, values = [], [offsets[0]]
    for i in range(1, len(samples)):
        if offsets[i] == offsets[i - 1]:
            continue
        before, after = samples[i - 1], samples[i]
        while after - before > 1:
            middle = (before + after) // 2
            if _offset(zone, middle) == offsets[i - 1]:
                before = middle
            else:
                after = middle
        changes.append(after)
        values.append(offsets[i])
    return np.array(changes, dtype=np.int64), np.array(values, dtype=np.int64)


def wall_to_utc(wall: Ints, zone: ZoneInfo, ambiguous: Ambiguous | None) -> Readings:
    """UTC seconds of wall-clock times `wall` (seconds, the wall clock read as if UTC) in `zone`. An ambiguous
    time takes the reading `ambiguous` names; without one it is marked ambiguous."""
    if len(wall) == 0:
        empty = np.zeros(0, dtype=np.bool_)
        return Readings(wall.copy(), empty, empty)
    changes, offsets = _transitions(zone, int(wall.min()) - 2 * DAY, int(wall.max()) + 2 * DAY)
    earliest = np.full(len(wall), np.iinfo(np.int64).max)
    latest = np.full(len(wall), np.iinfo(np.int64).min)
    count = np.zeros(len(wall), dtype=np.int64)
    for offset in np.unique(offsets):
        utc = wall - offset
        holds = offsets[np.searchsorted(changes, utc, side="right")] == offset
        count += holds
        earliest = np.where(holds, np.minimum(earliest, utc), earliest)
        latest = np.where(holds, np.maximum(latest, utc), latest)
    nonexistent = count == 0
    twice = count > 1
    utc = np.where(nonexistent, 0, latest if ambiguous == "later" else earliest)
    return Readings(utc, nonexistent, twice & (ambiguous is None))


def input_zone(name: str) -> ZoneInfo:
    """The IANA timezone `name` (--input-timezone); raises ValueError for one that does not exist."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown timezone {name!r} (an IANA name such as America/New_York, or UTC)") from None

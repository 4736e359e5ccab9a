"""An `Update` as the bytes of one Redis message; its topic travels as the message's channel.

Layout (little-endian): format version (uint8), frame count n (uint32), n bar times (int64, UTC ms), n frame ends
(uint32, offsets into the frames), then the frames one after the other. A version byte, so that processes of two
releases sharing a Redis during a rolling upgrade refuse each other's messages instead of misreading them.
"""

from __future__ import annotations

import itertools
import struct

from app.broker.base import Update

VERSION = 1
_HEAD = struct.Struct("<BI")
# Bytes each frame adds besides its own: its time and its end.
_PER_FRAME = 12


def encode(update: Update) -> bytes:
    """The message for `update` (its topic left out)."""
    count = len(update.times)
    return b"".join(
        (
            _HEAD.pack(VERSION, count),
            struct.pack(f"<{count}q{count}I", *update.times, *update.ends),
            update.frames,
        )
    )


def decode(topic: str, data: bytes) -> Update:
    """The update a message on `topic`'s channel carries; ValueError naming what is wrong when `data` is not one
    (another publisher's message, another release's, a truncated one)."""
    if len(data) < _HEAD.size:
        raise ValueError(f"{len(data)} bytes, fewer than a header's {_HEAD.size}")
    version, count = _HEAD.unpack_from(data)
    if version != VERSION:
        raise ValueError(f"format version {version}, not {VERSION}")
    start = _HEAD.size + _PER_FRAME * count
    if start > len(data):
        raise ValueError(f"{count} frames announced in {len(data)} bytes")
    fields = struct.unpack_from(f"<{count}q{count}I", data, _HEAD.size)
    times, ends = fields[:count], fields[count:]
    if any(later < earlier for earlier, later in itertools.pairwise(times)):
        raise ValueError("bar times go back")
    if any(later < earlier for earlier, later in itertools.pairwise(ends)):
        raise ValueError("frame ends go back")
    if (ends[-1] if ends else 0) != len(data) - start:
        raise ValueError(f"frames end at {ends[-1] if ends else 0}, not at {len(data) - start}")
    return Update(topic, data[start:], times, ends)

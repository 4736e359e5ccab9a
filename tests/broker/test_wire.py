"""An update as a Redis message: the same update back, and anything else refused with ValueError."""

from __future__ import annotations

import struct

import pytest

from app.broker.base import Update
from app.broker.wire import VERSION, decode, encode
from tests.broker.nodes import update


def test_round_trip() -> None:
    sent = update("bars:AAPL:1", 1_795_014_000_000, 1_795_014_060_000, 1_795_014_060_000)
    assert decode("bars:AAPL:1", encode(sent)) == sent


def test_round_trip_of_no_frames() -> None:
    sent = Update("bars:AAPL:1", b"", (), ())
    assert decode("bars:AAPL:1", encode(sent)) == sent


def test_layout() -> None:
    message = encode(Update("t", b"abcde", (-1, 7), (2, 5)))
    assert message == struct.pack("<BIqqII", VERSION, 2, -1, 7, 2, 5) + b"abcde"


def _message(version: int, count: int, times: tuple[int, ...], ends: tuple[int, ...], frames: bytes) -> bytes:
    return struct.pack(f"<BI{len(times)}q{len(ends)}I", version, count, *times, *ends) + frames


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"", "fewer than a header"),
        (b"\x01\x00\x00", "fewer than a header"),
        (_message(2, 1, (5,), (3,), b"abc"), "format version 2"),
        (_message(VERSION, 1_000_000, (5,), (3,), b"abc"), "1000000 frames announced"),
        (_message(VERSION, 2, (5, 4), (1, 3), b"abc"), "bar times go back"),
        (_message(VERSION, 2, (4, 5), (3, 1), b"abc"), "frame ends go back"),
        (_message(VERSION, 1, (5,), (3,), b"abcd"), "frames end at 3, not at 4"),
        (_message(VERSION, 1, (5,), (4,), b"abc"), "frames end at 4, not at 3"),
        (_message(VERSION, 0, (), (), b"x"), "frames end at 0, not at 1"),
        (b"hello, world: somebody else's message", "format version 104"),
    ],
)
def test_malformed_refused(data: bytes, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        decode("bars:AAPL:1", data)

"""The WebSocket protocol's vocabulary: message types, topics, close codes and frames."""

from __future__ import annotations

from typing import NamedTuple

from aiohttp import WSCloseCode

from app.market.resolutions import Resolution

SUBSCRIBE = "bars.subscribe"
UNSUBSCRIBE = "bars.unsubscribe"
SUBSCRIBE_RESPONSE = "bars.subscribe.response"
UNSUBSCRIBE_RESPONSE = "bars.unsubscribe.response"
UPDATE = "bars.update"
PING = "ping"
PONG = "pong"


class Topic(NamedTuple):
    """A stream of one instrument's bars at one resolution."""

    symbol: str
    resolution: Resolution

    @property
    def name(self) -> str:
        return f"bars:{self.symbol}:{self.resolution.value}"


class Close(NamedTuple):
    """Why the server ends a connection, as the client sees it."""

    code: WSCloseCode
    reason: str


# Seed-compatible codes and reasons; clients of the original design match on these strings.
INVALID_PAYLOAD = Close(WSCloseCode.UNSUPPORTED_DATA, "Could not validate payload")
UNKNOWN_TYPE = Close(WSCloseCode.UNSUPPORTED_DATA, "No matching type")
MESSAGE_TOO_BIG = Close(WSCloseCode.MESSAGE_TOO_BIG, "Message too big")
SHUTTING_DOWN = Close(WSCloseCode.GOING_AWAY, "Server shutting down")
TOO_SLOW = Close(WSCloseCode.POLICY_VIOLATION, "Client too slow: updates were not read")


def timed_out(heartbeat_interval: float, max_lifespan: float) -> Close:
    """The close for a silent client or an expired connection (the seed's wording)."""
    reason = f"Connection timed out. Heartbeat interval {heartbeat_interval}. Max connection lifespan {max_lifespan}"
    return Close(WSCloseCode.UNSUPPORTED_DATA, reason)


def text_frame(payload: bytes) -> bytes:
    """A complete unmasked, uncompressed server-to-client text frame carrying `payload`.

    A broadcast builds this once and writes the same bytes to every subscriber.
    """
    length = len(payload)
    if length < 126:
        header = bytes((0x81, length))
    elif length < 1 << 16:
        header = bytes((0x81, 126)) + length.to_bytes(2, "big")
    else:
        header = bytes((0x81, 127)) + length.to_bytes(8, "big")
    return header + payload


def update_frame(topic: Topic, bar_json: bytes) -> bytes:
    """The `bars.update` frame for a topic's bar, already encoded."""
    head = b'{"type":"bars.update","topic":"' + topic.name.encode() + b'","payload":'
    return text_frame(head + bar_json + b"}")

"""The WebSocket protocol's vocabulary: message types, topics, replies, close codes and frames."""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

import orjson
from aiohttp import WSCloseCode

from app.market.feed import MarketFeed
from app.market.resolutions import Resolution, parse_resolution

SUBSCRIBE = "bars.subscribe"
UNSUBSCRIBE = "bars.unsubscribe"
SUBSCRIBE_RESPONSE = "bars.subscribe.response"
UNSUBSCRIBE_RESPONSE = "bars.unsubscribe.response"
UPDATE = "bars.update"
PING = "ping"
PONG = "pong"


def topic_name(symbol: str, resolution: str) -> str:
    """A topic's name on the wire: `bars:SYMBOL:RESOLUTION`."""
    return f"bars:{symbol}:{resolution}"


class Topic(NamedTuple):
    """A stream of one instrument's bars at one resolution."""

    symbol: str
    resolution: Resolution

    @property
    def name(self) -> str:
        return topic_name(self.symbol, self.resolution.value)


class TopicError(Exception):
    """Why a topic cannot be had; the message is for the client."""


def find_topic(feed: MarketFeed, symbol: str, resolution: str) -> Topic:
    """The topic a client names (symbol in any case, resolution or alias); TopicError for an unknown one."""
    instrument = feed.instrument(symbol)
    if instrument is None:
        raise TopicError(f"Unknown symbol: {symbol.upper()}")
    parsed = parse_resolution(resolution)
    if parsed is None:
        raise TopicError(f"Unknown resolution: {resolution}")
    return Topic(instrument.symbol, parsed)


def reply(message_type: str, payload: Mapping[str, object]) -> str:
    """A server-to-client message as JSON text: `{"type": message_type, "payload": payload}`."""
    return orjson.dumps({"type": message_type, "payload": payload}).decode()


def pong(time_ms: int) -> str:
    """The answer to `ping`: the server time in UTC milliseconds."""
    return reply(PONG, {"time": time_ms})


def subscribed(topic: Topic) -> dict[str, str]:
    """Payload of an ok `bars.subscribe.response`."""
    return {"status": "ok", "symbol": topic.symbol, "message": f"Subscribed to {topic.symbol}", "topic": topic.name}


def unsubscribed(topic: Topic) -> dict[str, str]:
    """Payload of an ok `bars.unsubscribe.response`."""
    return subscribed(topic) | {"message": f"Unsubscribed from {topic.symbol}"}


def refused(symbol: str, resolution: str, message: str) -> dict[str, str]:
    """Payload of a (un)subscription response with status error, naming the topic as the client asked for it."""
    return {
        "status": "error",
        "symbol": symbol.upper(),
        "message": message,
        "topic": topic_name(symbol.upper(), resolution),
    }


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
    head = b'{"type":"' + UPDATE.encode() + b'","topic":"' + topic.name.encode() + b'","payload":'
    return text_frame(head + bar_json + b"}")

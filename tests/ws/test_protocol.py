"""The WebSocket protocol's vocabulary: topics, every reply and frame shape, the close table."""

from __future__ import annotations

import orjson
import pytest

from app.market.bars import Bar
from app.market.resolutions import Resolution
from app.market.simulation import SimulatedFeed
from app.ws import protocol
from app.ws.protocol import Topic, TopicError

AAPL_1 = Topic("AAPL", Resolution.M1)


def test_a_topic_is_named_bars_symbol_resolution() -> None:
    assert AAPL_1.name == "bars:AAPL:1"
    assert Topic("BTCUSD", Resolution.DAY).name == "bars:BTCUSD:1D"
    assert protocol.topic_name("EURUSD", "240") == "bars:EURUSD:240"


@pytest.mark.parametrize(
    ("symbol", "resolution", "topic"),
    [
        ("AAPL", "1", AAPL_1),
        ("aapl", "1", AAPL_1),
        ("NASDAQ:aapl", "1", AAPL_1),
        ("btcusd", "D", Topic("BTCUSD", Resolution.DAY)),
        ("EURUSD", "w", Topic("EURUSD", Resolution.WEEK)),
        ("USDJPY", "M", Topic("USDJPY", Resolution.MONTH)),
        ("MSFT", "240", Topic("MSFT", Resolution.H4)),
    ],
)
def test_find_topic_gives_the_canonical_topic(symbol: str, resolution: str, topic: Topic) -> None:
    assert protocol.find_topic(SimulatedFeed(), symbol, resolution) == topic


@pytest.mark.parametrize(
    ("symbol", "resolution", "message"),
    [
        ("nope", "1", "Unknown symbol: NOPE"),
        ("FX:AAPL", "1", "Unknown symbol: FX:AAPL"),
        ("AAPL", "2", "Unknown resolution: 2"),
        ("AAPL", "1H", "Unknown resolution: 1H"),
    ],
)
def test_find_topic_raises_topic_error_saying_why(symbol: str, resolution: str, message: str) -> None:
    with pytest.raises(TopicError) as raised:
        protocol.find_topic(SimulatedFeed(), symbol, resolution)
    assert str(raised.value) == message


def test_replies_are_json_envelopes() -> None:
    assert orjson.loads(protocol.reply("bars.subscribe.response", {"status": "ok"})) == {
        "type": "bars.subscribe.response",
        "payload": {"status": "ok"},
    }
    assert orjson.loads(protocol.pong(1767225600123)) == {"type": "pong", "payload": {"time": 1767225600123}}


def test_subscription_reply_payloads() -> None:
    assert protocol.subscribed(AAPL_1) == {
        "status": "ok",
        "symbol": "AAPL",
        "message": "Subscribed to AAPL",
        "topic": "bars:AAPL:1",
    }
    assert protocol.unsubscribed(Topic("BTCUSD", Resolution.H1)) == {
        "status": "ok",
        "symbol": "BTCUSD",
        "message": "Unsubscribed from BTCUSD",
        "topic": "bars:BTCUSD:60",
    }
    assert protocol.refused("nope", "5", "Unknown symbol: NOPE") == {
        "status": "error",
        "symbol": "NOPE",
        "message": "Unknown symbol: NOPE",
        "topic": "bars:NOPE:5",
    }


def test_message_types_are_the_contracts() -> None:
    assert (protocol.SUBSCRIBE, protocol.UNSUBSCRIBE, protocol.PING) == ("bars.subscribe", "bars.unsubscribe", "ping")
    assert (protocol.SUBSCRIBE_RESPONSE, protocol.UNSUBSCRIBE_RESPONSE) == (
        "bars.subscribe.response",
        "bars.unsubscribe.response",
    )
    assert (protocol.UPDATE, protocol.PONG) == ("bars.update", "pong")


@pytest.mark.parametrize(
    ("length", "header"),
    [
        (0, b"\x81\x00"),
        (125, b"\x81\x7d"),
        (126, b"\x81\x7e\x00\x7e"),
        (65_535, b"\x81\x7e\xff\xff"),
        (65_536, b"\x81\x7f\x00\x00\x00\x00\x00\x01\x00\x00"),
        (1 << 20, b"\x81\x7f\x00\x00\x00\x00\x00\x10\x00\x00"),
    ],
)
def test_text_frame_uses_the_length_form_the_payload_needs(length: int, header: bytes) -> None:
    """RFC 6455 5.2: FIN + text opcode, no mask; 7-bit length, or 126 + 16 bits, or 127 + 64 bits."""
    payload = b"x" * length
    assert protocol.text_frame(payload) == header + payload


def test_update_frame_is_one_text_frame_with_the_topic_and_the_bar() -> None:
    bar = Bar(1767225600000, 190.12, 190.4, 189.95, 190.33, 152300)
    frame = protocol.update_frame(AAPL_1, bar.json)
    payload = frame[4:]  # a bar's JSON is longer than 125 bytes: the 16-bit length form
    assert frame[:4] == b"\x81\x7e" + len(payload).to_bytes(2, "big")
    assert orjson.loads(payload) == {
        "type": "bars.update",
        "topic": "bars:AAPL:1",
        "payload": {
            "time": 1767225600000,
            "open": 190.12,
            "high": 190.4,
            "low": 189.95,
            "close": 190.33,
            "volume": 152300,
        },
    }


@pytest.mark.parametrize(
    ("close", "code", "reason"),
    [
        (protocol.INVALID_PAYLOAD, 1003, "Could not validate payload"),
        (protocol.UNKNOWN_TYPE, 1003, "No matching type"),
        (protocol.MESSAGE_TOO_BIG, 1009, "Message too big"),
        (protocol.SHUTTING_DOWN, 1001, "Server shutting down"),
        (protocol.TOO_SLOW, 1008, "Client too slow: updates were not read"),
        (
            protocol.timed_out(30.0, 3600.0),
            1003,
            "Connection timed out. Heartbeat interval 30.0. Max connection lifespan 3600.0",
        ),
        (
            protocol.timed_out(0.4, 1.2),
            1003,
            "Connection timed out. Heartbeat interval 0.4. Max connection lifespan 1.2",
        ),
    ],
)
def test_the_close_table(close: protocol.Close, code: int, reason: str) -> None:
    assert (close.code.value, close.reason) == (code, reason)
    assert len(close.reason.encode()) <= 123, "a close reason fits a control frame"

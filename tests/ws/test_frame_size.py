"""WS_MAX_MESSAGE_SIZE over a real socket: a frame of exactly the maximum is served, one byte more closes 1009."""

from __future__ import annotations

import orjson

from app.paths import WS_PATH
from tests.conftest import Connect, closed_with, reply

MAX = 1024


def ping_of(size: int) -> str:
    """A `ping` envelope padded to exactly `size` bytes of UTF-8."""
    empty = orjson.dumps({"type": "ping", "payload": {"padding": ""}})
    frame = orjson.dumps({"type": "ping", "payload": {"padding": "x" * (size - len(empty))}}).decode()
    assert len(frame.encode()) == size
    return frame


async def test_a_frame_of_exactly_the_maximum_is_accepted(make_client: Connect) -> None:
    client = await make_client(ws_max_message_size=MAX)
    async with client.ws_connect(WS_PATH) as ws:
        await ws.send_str(ping_of(MAX))
        assert (await reply(ws, "pong"))["type"] == "pong"
        await ws.send_str(ping_of(MAX))
        assert (await reply(ws, "pong"))["type"] == "pong"


async def test_one_byte_over_the_maximum_closes_with_1009(make_client: Connect) -> None:
    client = await make_client(ws_max_message_size=MAX)
    async with client.ws_connect(WS_PATH) as ws:
        await ws.send_str(ping_of(MAX + 1))
        code, _ = await closed_with(ws)
    assert code == 1009

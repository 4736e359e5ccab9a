"""A WebSocket client of one server process that records every frame it receives, and what the scale-out tests
compare between such recordings: frames byte for byte, per topic `time` never going back."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson

from app.paths import WS_PATH
from tests.live_server import LiveServer

# Seconds a reply to a client message may take on a loaded two-core machine.
REPLY_TIMEOUT = 10.0


@dataclass(frozen=True, slots=True)
class Received:
    """One text frame: `at` its arrival (time.monotonic() seconds), `text` exactly as sent, `body` parsed."""

    at: float
    text: str
    body: dict[str, Any]

    @property
    def topic(self) -> str | None:
        topic: str | None = self.body.get("topic")
        return topic

    @property
    def time(self) -> int:
        """The bar's time (UTC ms) of a `bars.update`."""
        stamp: int = self.body["payload"]["time"]
        return stamp


class Stream:
    """One WebSocket to `server`, read by its own task from the start: every frame lands in `frames` in order."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, server: LiveServer) -> None:
        self.ws = ws
        self.server = server
        self.frames: list[Received] = []
        self.ended = False
        self._arrived = asyncio.Condition()
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def open(cls, session: aiohttp.ClientSession, server: LiveServer) -> Stream:
        """A stream connected to `server`'s WebSocket, with no subscription yet."""
        return cls(await session.ws_connect(server.url(WS_PATH), timeout=aiohttp.ClientWSTimeout(ws_close=5)), server)

    async def _read(self) -> None:
        async for message in self.ws:
            if message.type is aiohttp.WSMsgType.TEXT:
                frame = Received(time.monotonic(), message.data, orjson.loads(message.data))
                async with self._arrived:
                    self.frames.append(frame)
                    self._arrived.notify_all()
        async with self._arrived:
            self.ended = True
            self._arrived.notify_all()

    async def wait_for(self, condition: Callable[[], bool], what: str, within: float = REPLY_TIMEOUT) -> None:
        """Return once `condition()` holds (checked at each frame); AssertionError naming `what` after `within`
        seconds or if the socket closes first."""
        try:
            async with asyncio.timeout(within), self._arrived:
                await self._arrived.wait_for(lambda: condition() or self.ended)
        except TimeoutError:
            raise AssertionError(f"{what}: not within {within} s on port {self.server.port}") from None
        if not condition():
            raise AssertionError(f"{what}: the socket to port {self.server.port} closed ({self.ws.close_code})")

    async def request(self, message_type: str, answer_type: str, **payload: Any) -> dict[str, Any]:
        """Send one envelope and return the payload of the first `answer_type` frame that follows it."""
        start = len(self.frames)
        await self.ws.send_str(orjson.dumps({"type": message_type, "payload": payload}).decode())

        def answer() -> dict[str, Any] | None:
            found = (frame.body["payload"] for frame in self.frames[start:] if frame.body["type"] == answer_type)
            return next(found, None)

        await self.wait_for(lambda: answer() is not None, f"no {answer_type} to {message_type}")
        reply = answer()
        assert reply is not None
        return reply

    async def subscribe(self, symbol: str, resolution: str, since: int | None = None) -> None:
        """Subscribe to a topic, which must be answered `ok`."""
        extra = {} if since is None else {"since": since}
        reply = await self.request(
            "bars.subscribe", "bars.subscribe.response", symbol=symbol, resolution=resolution, **extra
        )
        assert reply["status"] == "ok", reply

    async def pong(self) -> None:
        """A `ping` must be answered with a `pong`."""
        reply = await self.request("ping", "pong")
        assert isinstance(reply["time"], int), reply

    def updates(self, topic: str, after: float = 0.0) -> list[Received]:
        """The `bars.update` frames of `topic` that arrived after `after` (time.monotonic() seconds)."""
        return [frame for frame in self.frames if frame.topic == topic and frame.at > after]

    async def wait_updates(self, topic: str, count: int, after: float = 0.0, within: float = REPLY_TIMEOUT) -> None:
        """Until `count` updates of `topic` arrived after `after`."""
        await self.wait_for(
            lambda: len(self.updates(topic, after)) >= count, f"{count} updates of {topic} after {after:.2f}", within
        )

    async def wait_time(self, topic: str, time_ms: int, after: float = 0.0, within: float = REPLY_TIMEOUT) -> None:
        """Until an update of `topic` with a bar at `time_ms` or later arrived after `after`."""
        await self.wait_for(
            lambda: any(frame.time >= time_ms for frame in self.updates(topic, after)),
            f"an update of {topic} at {time_ms} or later",
            within,
        )

    async def wait_bar(self, topic: str, payload: dict[str, Any], within: float = REPLY_TIMEOUT) -> None:
        """Until an update of `topic` carried exactly `payload`."""
        await self.wait_for(
            lambda: any(frame.body["payload"] == payload for frame in self.updates(topic)),
            f"an update of {topic} with {payload}",
            within,
        )

    async def close(self) -> None:
        await self.ws.close()
        await self._reader


def topics_of(streams: Sequence[Stream]) -> set[str]:
    return {frame.topic for stream in streams for frame in stream.frames if frame.topic is not None}


def time_going_back(frames: Sequence[Received]) -> list[tuple[int, int]]:
    """Each (earlier, later) pair of consecutive frames of one topic whose `time` decreases."""
    times = [frame.time for frame in frames]
    return [(before, after) for before, after in itertools.pairwise(times) if after < before]


def common_run(sequences: Sequence[Sequence[Received]]) -> list[list[str]]:
    """Each sequence's texts from the first change of bar that all of them saw happen, cut to the shortest: equal
    lists when every client got the same frames.

    While its market trades a bar is sent at every tick, changed or not, so a text repeats while the bar stands
    still; a text that differs from the one before it is a tick at which the bar changed, and its first occurrence in
    each sequence is that same tick (a forming bar's volume never goes back to a former value).
    """
    texts = [[frame.text for frame in sequence] for sequence in sequences]
    for index in range(1, len(texts[0])):
        change = texts[0][index]
        if change == texts[0][index - 1]:
            continue
        # Where another sequence begins with it, that client may have joined after the tick's first copy.
        starts = [other.index(change) if change in other else 0 for other in texts[1:]]
        if all(starts):
            tails = [texts[0][index:]] + [other[start:] for other, start in zip(texts[1:], starts, strict=True)]
            shortest = min(len(tail) for tail in tails)
            return [tail[:shortest] for tail in tails]
    raise AssertionError(f"no change of bar seen by all {len(texts)} clients: {[len(t) for t in texts]} frames")


async def common_runs(
    streams: Sequence[Stream], topic: str, count: int, after: float = 0.0, within: float = REPLY_TIMEOUT
) -> list[list[str]]:
    """`common_run` of the streams' updates of `topic` after `after`, once it holds `count` frames."""

    def long_enough() -> bool:
        try:
            return len(common_run([stream.updates(topic, after) for stream in streams])[0]) >= count
        except AssertionError:
            return False

    try:
        await streams[0].wait_for(long_enough, f"{count} frames of {topic} common to {len(streams)} clients", within)
    except AssertionError as error:
        tails = [[frame.text for frame in stream.updates(topic, after)][-3:] for stream in streams]
        raise AssertionError(f"{error}; the last frames each got: {tails}") from None
    return common_run([stream.updates(topic, after) for stream in streams])

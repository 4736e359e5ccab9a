"""One pub/sub connection to Redis: subscriptions confirmed before they count, messages read in order, silence
detected.

A connection of its own (not redis-py's PubSub, which reconnects and resubscribes behind its caller's back): when it
fails, `run` raises and the broker makes a new one, with every subscription, itself. Redis answers nothing on a
quiet channel, so a Redis that stops answering (paused, or a network that drops packets without a reset) would go
unnoticed: after PROBE seconds of quiet the subscriber sends a PING, and SILENCE seconds without a byte end it.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Awaitable, Callable, Collection

from redis.asyncio.connection import AbstractConnection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from app.tasks import finish

# Seconds of quiet before a PING, and without a byte before the connection counts as dead.
PROBE = 1.0
SILENCE = 3.0

# Called with each message's channel and data, awaited before the next message is read.
MessageHandler = Callable[[bytes, bytes], Awaitable[None]]


class Subscriber:
    """Subscriptions on `connection` (connected, RESP2), each message handed to `on_message` in order."""

    def __init__(self, connection: AbstractConnection, on_message: MessageHandler) -> None:
        self._connection = connection
        self._on_message = on_message
        # Per channel, the subscribe calls waiting for Redis to confirm it, in the order they sent SUBSCRIBE.
        self._confirming: dict[bytes, list[asyncio.Future[None]]] = {}
        # When the reader began waiting for the socket (loop time); None while it hands a message on, since a slow
        # handler is not a silent Redis.
        self._waiting_since: float | None = None

    async def connect(self) -> None:
        """Open the connection (Redis's errors propagate)."""
        await self._connection.connect()  # type: ignore[no-untyped-call]

    async def subscribe(self, channels: Collection[str]) -> None:
        """Subscribe to `channels`; returns once Redis confirmed each, so every message published afterwards on them
        will be read (the caller bounds the wait). Redis's ConnectionError when the connection ends first."""
        loop = asyncio.get_running_loop()
        waits = {name: loop.create_future() for name in dict.fromkeys(channel.encode() for channel in channels)}
        for name, wait in waits.items():
            self._confirming.setdefault(name, []).append(wait)
        try:
            await self._connection.send_command("SUBSCRIBE", *waits)
            await asyncio.gather(*waits.values())
        finally:
            for name, wait in waits.items():
                wait.cancel()
                self._forget(name, wait)

    async def unsubscribe(self, channels: Collection[str]) -> None:
        """Unsubscribe from `channels` (without waiting for Redis to confirm it)."""
        await self._connection.send_command("UNSUBSCRIBE", *channels)

    async def run(self) -> None:
        """Read until the connection fails: raises Redis's ConnectionError or TimeoutError (after SILENCE seconds
        without a byte), and disconnects."""
        reader = asyncio.create_task(self._read())
        watchdog = asyncio.create_task(self._watch())
        try:
            done, _ = await asyncio.wait((reader, watchdog), return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()
        finally:
            await finish(reader)
            await finish(watchdog)
            await self.close()

    async def close(self) -> None:
        """Disconnect (the subscriptions end with it)."""
        for waits in self._confirming.values():
            for wait in waits:
                if not wait.done():
                    wait.set_exception(RedisConnectionError("the pub/sub connection closed"))
        with contextlib.suppress(Exception):
            await self._connection.disconnect(nowait=True)

    async def _read(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            self._waiting_since = loop.time()
            response = await self._connection.read_response(timeout=math.inf)
            self._waiting_since = None
            if not isinstance(response, list) or len(response) < 3:
                continue  # PING's answer: Redis is there
            kind, channel, data = response[0], response[1], response[2]
            if kind == b"message":
                await self._on_message(channel, data)
            elif kind == b"subscribe":
                waits = self._confirming.get(channel)
                if waits:
                    waits[0].set_result(None)
                    self._forget(channel, waits[0])

    def _forget(self, channel: bytes, wait: asyncio.Future[None]) -> None:
        waits = self._confirming.get(channel, [])
        if wait in waits:
            waits.remove(wait)
        if not waits:
            self._confirming.pop(channel, None)

    async def _watch(self) -> None:
        loop = asyncio.get_running_loop()
        probed_at = -math.inf
        while True:
            await asyncio.sleep(PROBE / 4)
            since = self._waiting_since
            if since is None:
                continue
            quiet = loop.time() - since
            if quiet >= SILENCE:
                raise RedisTimeoutError(f"no answer from Redis for {quiet:.1f} s")
            if quiet >= PROBE and loop.time() - probed_at >= PROBE:
                probed_at = loop.time()
                await self._connection.send_command("PING")

"""Topics and their subscribers; fan-out of one encoded frame to all of them."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterable

from app.broker.base import Update
from app.stats import CloseReason, FanoutStats, SocketStats
from app.ws.connection import Connection
from app.ws.protocol import Close, Topic

# How long a close handshake may take before the socket is simply dropped.
CLOSE_TIMEOUT = 2.0
# Writes between two turns of the event loop during a broadcast (about a millisecond's worth).
PUBLISH_CHUNK = 256


class Hub:
    """Every open connection and which topics each one follows."""

    def __init__(self, send_buffer_limit: int) -> None:
        self.connections: set[Connection] = set()
        self._subscribers: dict[Topic, dict[Connection, None]] = {}
        # Connections that joined a topic from their own view of it (a shared broker's newcomers), with the bar time
        # (ms) of the newest frame they got: they get an update's frames from that time on, and join the others once
        # an update reaches it. So per topic `time` never goes back for them while the stream catches up.
        self._joining: dict[Topic, dict[Connection, int]] = {}
        # Topics subscribed or being joined, by name (as updates from the broker name them).
        self._named: dict[str, Topic] = {}
        self._send_buffer_limit = send_buffer_limit
        self.delivered = 0
        # The sum of the connections' own `dropped`: a write skipped because a connection is closing is neither.
        self.dropped = 0
        # Connections ended (or refused at the handshake) since start, by reason.
        self.closed: Counter[CloseReason] = Counter()
        self._closing: set[asyncio.Task[None]] = set()
        # Connections that have had an update dropped and may be falling behind for good.
        self._behind: set[Connection] = set()

    @property
    def topics(self) -> list[Topic]:
        """Topics with at least one subscriber (joining ones included)."""
        return list(self._named.values())

    @property
    def topic_names(self) -> list[str]:
        """The names of `topics` (`bars:AAPL:1`)."""
        return list(self._named)

    def topic_named(self, name: str) -> Topic | None:
        """The topic called `name` (`bars:AAPL:1`) while someone here follows it; None otherwise."""
        return self._named.get(name)

    def stats(self) -> FanoutStats:
        """Connections, subscribers and topics now; updates delivered and dropped since start."""
        subscribers = sum(1 for c in self.connections if c.topics)
        return FanoutStats(len(self.connections), subscribers, len(self._named), self.delivered, self.dropped)

    def socket_stats(self) -> SocketStats:
        """Subscriptions per resolution now; connections ended per reason since start."""
        by_resolution: Counter[str] = Counter()
        for topic, subscribers in self._subscribers.items():
            by_resolution[topic.resolution.value] += len(subscribers)
        for topic, joining in self._joining.items():
            by_resolution[topic.resolution.value] += len(joining)
        return SocketStats(dict(by_resolution), dict(self.closed))

    def add(self, connection: Connection) -> None:
        self.connections.add(connection)

    def remove(self, connection: Connection) -> None:
        """Forget a connection and all its subscriptions; count it under its close reason."""
        if connection in self.connections:
            self.closed[connection.close_reason or CloseReason.CLIENT] += 1
        for topic in list(connection.topics):
            self.unsubscribe(connection, topic)
        self.connections.discard(connection)
        self._behind.discard(connection)

    def subscribe(self, connection: Connection, topic: Topic) -> None:
        connection.topics.add(topic)
        self._subscribers.setdefault(topic, {})[connection] = None
        self._named[topic.name] = topic

    def join(self, connection: Connection, topic: Topic, newest: int | None) -> None:
        """Subscribe `connection`, which already has `topic`'s bars up to `newest` (ms; None: none), to the updates
        from that bar on: frames of older bars are left out for it until an update reaches `newest`."""
        if newest is None:
            self.subscribe(connection, topic)
            return
        connection.topics.add(topic)
        self._joining.setdefault(topic, {})[connection] = newest
        self._named[topic.name] = topic

    def unsubscribe(self, connection: Connection, topic: Topic) -> None:
        connection.topics.discard(topic)
        for members in (self._subscribers, self._joining):
            followers = members.get(topic)
            if followers is not None:
                followers.pop(connection, None)
                if not followers:
                    del members[topic]
        if topic not in self._subscribers and topic not in self._joining:
            self._named.pop(topic.name, None)

    async def publish(self, topic: Topic, frame: bytes, now: float) -> None:
        """Write `frame` to every subscriber of `topic`; a failing or slow one affects nobody else.

        Writes never wait for a client, but ten thousand of them still take tens of milliseconds,
        so the loop gets a turn every PUBLISH_CHUNK writes and a new client is never kept waiting.
        """
        limit = self._send_buffer_limit
        subscribers = list(self._subscribers.get(topic, ()))
        for first in range(0, len(subscribers), PUBLISH_CHUNK):
            if first:
                await asyncio.sleep(0)
            chunk = subscribers[first : first + PUBLISH_CHUNK]
            delivered = dropped = 0
            for connection in chunk:
                written = connection.deliver(frame, limit, now)
                if written:
                    delivered += 1
                elif written is False:
                    dropped += 1
                    self._behind.add(connection)
            self.delivered += delivered
            self.dropped += dropped

    async def receive(self, update: Update) -> None:
        """The broker's sink: `publish_update` now."""
        await self.publish_update(update, asyncio.get_running_loop().time())

    async def publish_update(self, update: Update, now: float) -> None:
        """Write an update from the broker to the subscribers of its topic (nobody's: nothing), then to the joining
        ones, each from the newest bar it has on (see `join`)."""
        topic = self._named.get(update.topic)
        if topic is None:
            return
        await self.publish(topic, update.frames, now)
        joining = self._joining.get(topic)
        if not joining:
            return
        newest_time = update.times[-1]
        for connection, newest in list(joining.items()):
            if joining.get(connection) is None:  # it left during the publish
                continue
            part = _frames_from(update, newest)
            if part:
                self.deliver(connection, part, now)
            if newest_time >= newest:
                del joining[connection]
                self._subscribers.setdefault(topic, {})[connection] = None
        if not joining:
            self._joining.pop(topic, None)

    def deliver(self, connection: Connection, frame: bytes, now: float) -> None:
        """Write `frame` to one connection, under the same buffer rule as a broadcast (and counted as one)."""
        written = connection.deliver(frame, self._send_buffer_limit, now)
        if written:
            self.delivered += 1
        elif written is False:
            self.dropped += 1
            self._behind.add(connection)

    def laggards(self, behind_before: float) -> list[Connection]:
        """Connections that have been too far behind since before `behind_before` (loop time, seconds)."""
        # Only connections that have had an update dropped are looked at, not every connection.
        for connection in list(self._behind):
            if connection.behind_since is None or connection.evicted:
                self._behind.discard(connection)
        return [c for c in self._behind if c.behind_since is not None and c.behind_since < behind_before]

    async def close(self, connections: Iterable[Connection], close: Close) -> None:
        """Close connections concurrently; a peer that does not answer in time is cut off."""
        await asyncio.gather(*(_close_one(c, close) for c in list(connections)))

    def evict(self, connection: Connection, close: Close) -> None:
        """Start closing `connection` in the background, so the caller never waits for the peer."""
        connection.evicted = True
        task = asyncio.create_task(_close_one(connection, close))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)


def _frames_from(update: Update, time: int) -> bytes:
    """The frames of `update` whose bar time is `time` (ms) or later."""
    start = 0
    for index, frame_time in enumerate(update.times):
        if frame_time >= time:
            return update.frames[start:]
        start = update.ends[index]
    return b""


async def _close_one(connection: Connection, close: Close) -> None:
    connection.close_code = close.code
    try:
        async with asyncio.timeout(CLOSE_TIMEOUT):
            await connection.ws.close(code=close.code, message=close.reason.encode())
    except TimeoutError:
        connection.transport.abort()

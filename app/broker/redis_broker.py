"""redis:// : the processes of a deployment share one Redis; one of them runs the broadcaster.

The leader (the holder of the lease, see `lease`) publishes each tick's updates once, on the channels
`{prefix}:topic:{topic}`, through the fenced script; every process, the leader too, subscribes to the channels of the
topics its own clients follow and hands each update to its sink. Who leads is `election`; which topics anyone follows,
`interest`.

Redis may restart, stop answering or close the pub/sub connection of a subscriber that reads too slowly: the broker
then logs one WARNING, refuses publishes (False) and answers from what it knows locally, tries again (0.1 s, doubling
up to 2 s), and once back subscribes again to every followed topic. It never raises to its callers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from datetime import UTC, datetime
from typing import TypeVar
from urllib.parse import urlsplit

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from app.broker import wire
from app.broker.base import LeadershipListener, Update, UpdateSink
from app.broker.election import Election
from app.broker.interest import Interest
from app.broker.lease import Lease, Message
from app.broker.subscriber import Subscriber
from app.stats import BrokerStats
from app.tasks import finish

log = logging.getLogger(__name__)
T = TypeVar("T")

# Seconds a command, or a connection, may take before Redis counts as unreachable.
COMMAND_TIMEOUT = 2.0
# Seconds Redis may take to confirm subscriptions (the reader confirms them between two sink calls).
CONFIRM_TIMEOUT = 5.0
# Seconds before the first attempt to reach Redis again, and the most between two attempts (doubling).
FIRST_RETRY = 0.1
LAST_RETRY = 2.0
# Failures of the connection itself (as against an error Redis answers with): cut off until reconnected.
_FAULTS = (RedisConnectionError, RedisTimeoutError, OSError)


def _where(url: str) -> str:
    """`host:port` of a Redis URL, never its user or password."""
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    return f"[{host}]:{parts.port or 6379}" if ":" in host else f"{host}:{parts.port or 6379}"


class RedisBroker:
    """The broker of one process among those sharing the Redis at `url` under `prefix`; `lease` in seconds,
    `process_id` this process in the lease and the logs; `candidate` False for a process that must never run the
    broadcaster (BAR_BROADCASTER_ENABLED=false): it only relays."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str,
        lease: float,
        process_id: str,
        sink: UpdateSink,
        on_leadership: LeadershipListener,
        candidate: bool = True,
    ) -> None:
        self._where = _where(url)
        self._url = f"{urlsplit(url).scheme}://{self._where}{urlsplit(url).path}"
        self._process_id = process_id
        self._sink = sink
        # No retries inside redis-py: a failure must reach the broker at once, and a script must never run twice.
        self._redis = Redis.from_url(
            url,
            protocol=2,
            socket_timeout=COMMAND_TIMEOUT,
            socket_connect_timeout=COMMAND_TIMEOUT,
            retry=Retry(NoBackoff(), 0),
        )
        self._lease = Lease(self._redis, prefix, lease, process_id)
        self._interest = Interest(self._redis, prefix, lease)
        self._election = Election(
            self._lease, lease, process_id, on_leadership, self._ask, self._say_interest, candidate=candidate
        )
        self._topic_prefix = f"{prefix}:topic:"
        self._followed: set[str] = set()
        # The connected session's subscriber; None while cut off (or not yet connected).
        self._subscriber: Subscriber | None = None
        # Set by a command that found Redis unreachable, to end the session (it reconnects).
        self._broken = asyncio.Event()
        self._break: BaseException | None = None
        self._retry = FIRST_RETRY
        self._tasks: list[asyncio.Task[None]] = []
        self._stopped = False
        # Since when (wall clock, monotonic) Redis has been unreachable; None while it is reachable.
        self._down_since: tuple[datetime, float] | None = None
        self._reconnects = 0
        self._disconnected = 0.0
        self._received = 0
        self._refused = 0

    @property
    def name(self) -> str:
        """`broker`, as the health check calls it."""
        return "broker"

    @property
    def leading(self) -> bool:
        """Whether this process holds the broadcaster's lease (as far as it knows: the publish script checks)."""
        return self._election.leading

    @property
    def shared(self) -> bool:
        """Always: updates come back through Redis to every process, this one too."""
        return True

    def problem(self) -> str | None:
        """`Redis at host:port unreachable since <ISO time> (N s)` while cut off; None otherwise."""
        if self._down_since is None:
            return None
        wall, since = self._down_since
        return (
            f"Redis at {self._where} unreachable since {wall.strftime('%Y-%m-%dT%H:%M:%SZ')} "
            f"({time.monotonic() - since:.0f} s)"
        )

    def stats(self) -> BrokerStats:
        """The figures now; seconds cut off include the current gap."""
        gap = time.monotonic() - self._down_since[1] if self._down_since is not None else 0.0
        return BrokerStats(
            self._url,
            self.leading,
            self._subscriber is not None,
            self._election.leaderships,
            self._reconnects,
            self._disconnected + gap,
            self._received,
            self._refused,
        )

    async def watched(self, local: Collection[str]) -> Collection[str]:
        """The topics some process follows, with `local` (this process's); only `local` while cut off."""
        found: set[str] = await self._ask("read the watched topics", self._interest.watched, set())
        return found | set(local)

    async def publish(self, updates: Sequence[Update]) -> bool:
        """The fenced publish (one round trip); False when this process no longer holds the lease (then it stops
        leading) or while cut off."""
        if not updates:
            return True
        messages = [
            Message(self._topic_prefix + u.topic, wire.encode(u), u.topic, u.times[-1] if u.times else None)
            for u in updates
        ]
        published = await self._ask("publish", lambda: self._lease.publish(messages), None)
        if published is False:
            self._refused += 1
            self._election.lose("the publish script found another holder")
        return bool(published)

    async def follow(self, topic: str) -> None:
        """Subscribe to `topic`; returns once Redis confirmed it (at once while cut off: it is subscribed on
        reconnection). Never call it from the sink, which confirmations wait for."""
        self._followed.add(topic)
        subscriber = self._subscriber
        if subscriber is not None:
            await self._ask("subscribe", lambda: self._subscribe(subscriber, [topic]), None)

    async def unfollow(self, topic: str) -> None:
        """Unsubscribe from `topic` (others' interest in it, and this process's, lapses by itself)."""
        self._followed.discard(topic)
        subscriber = self._subscriber
        if subscriber is not None:
            await self._ask("unsubscribe", lambda: subscriber.unsubscribe([self._topic_prefix + topic]), None)

    async def last_times(self) -> Mapping[str, int]:
        """Per topic, the last bar time (UTC ms) any leader published; empty while cut off."""
        raw: dict[bytes | str, bytes | str] = await self._ask("read the last bar times", self._sent, {})
        times = {}
        for topic, value in raw.items():
            with contextlib.suppress(ValueError):
                times[topic.decode(errors="replace") if isinstance(topic, bytes) else topic] = int(value)
        return times

    async def _sent(self) -> dict[bytes | str, bytes | str]:
        return await self._redis.hgetall(self._lease.sent)

    async def start(self) -> None:
        """Connect in the background (retrying) and take part in the election; returns at once."""
        if not self._tasks and not self._stopped:
            self._tasks = [
                asyncio.create_task(self._supervise(), name="redis broker connection"),
                asyncio.create_task(self._election.run(), name="redis broker election"),
            ]

    async def stop(self) -> None:
        """Release the lease if held (another process takes over at once), then disconnect. Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        supervisor, keeper = self._tasks or (None, None)
        if keeper is not None:
            await finish(keeper)
        await self._election.release(self._subscriber is not None)
        if supervisor is not None:
            await finish(supervisor)
        await self._redis.aclose()

    async def _ask(self, what: str, call: Callable[[], Awaitable[T]], default: T) -> T:
        """`call`'s answer, or `default` while cut off or when it fails (a lost connection ends the session)."""
        if self._subscriber is None:
            return default
        try:
            return await call()
        except _FAULTS as error:
            self._fault(error)
        except RedisError as error:
            log.warning("Redis at %s refused to %s: %s", self._where, what, error)
        return default

    def _fault(self, error: BaseException) -> None:
        """A command found Redis unreachable: end the session, which reconnects."""
        if self._subscriber is not None and not self._broken.is_set():
            self._break = error
            self._broken.set()

    async def _subscribe(self, subscriber: Subscriber, topics: Collection[str]) -> None:
        async with asyncio.timeout(CONFIRM_TIMEOUT):
            await subscriber.subscribe([self._topic_prefix + topic for topic in topics])
        await self._interest.add(topics)

    async def _supervise(self) -> None:
        """Stay connected: one session after another, with backoff between failures."""
        while True:
            try:
                await self._session()
            except (RedisError, OSError) as error:
                self._cut_off(error)
            except Exception as error:
                log.exception("Redis broker session failed")
                self._cut_off(error)
            await asyncio.sleep(self._retry)
            self._retry = min(self._retry * 2, LAST_RETRY)

    async def _session(self) -> None:
        """Connect, subscribe to every followed topic, then read until the connection fails (raises)."""
        # Connections of the last session would each fail once before the pool replaced them.
        await self._redis.connection_pool.disconnect()
        subscriber = Subscriber(self._redis.connection_pool.make_connection(), self._receive)  # type: ignore[no-untyped-call]
        reading: asyncio.Task[None] | None = None
        broken: asyncio.Task[bool] | None = None
        try:
            async with asyncio.timeout(COMMAND_TIMEOUT):
                await subscriber.connect()
                await self._redis.ping()
            reading = asyncio.create_task(subscriber.run())
            async with asyncio.timeout(CONFIRM_TIMEOUT):
                await subscriber.subscribe([self._lease.channel])
            await self._subscribe_followed(subscriber)
            # No await since the last look at the followed topics: a follow() now finds the subscriber.
            self._broken.clear()
            self._subscriber = subscriber
            self._back()
            broken = asyncio.create_task(self._broken.wait())
            await asyncio.wait((reading, broken), return_when=asyncio.FIRST_COMPLETED)
            if reading.done():
                reading.result()
            raise self._break or RedisConnectionError("the connection broke")
        finally:
            self._subscriber = None
            for task in (reading, broken):
                if task is not None:
                    await finish(task)
            await subscriber.close()

    async def _subscribe_followed(self, subscriber: Subscriber) -> None:
        """Subscribe to the followed topics until no follow() or unfollow() came in meanwhile."""
        subscribed: set[str] = set()
        while new := self._followed - subscribed:
            await self._subscribe(subscriber, new)
            subscribed |= new
            if gone := subscribed - self._followed:
                await subscriber.unsubscribe([self._topic_prefix + topic for topic in gone])
                subscribed -= gone

    def _cut_off(self, error: BaseException) -> None:
        if self._down_since is None:
            self._down_since = (datetime.now(UTC), time.monotonic())
            log.warning("Redis at %s unreachable: %s; updates stop until it is back", self._where, error)

    def _back(self) -> None:
        self._retry = FIRST_RETRY
        self._election.kick()
        if self._down_since is None:
            log.info("%s connected to Redis at %s", self._process_id, self._where)
            return
        gap = time.monotonic() - self._down_since[1]
        self._down_since = None
        self._reconnects += 1
        self._disconnected += gap
        log.info("Redis at %s is back after %.1f s; %d topics followed again", self._where, gap, len(self._followed))

    async def _receive(self, channel: bytes, data: bytes) -> None:
        """A message from the subscriber: an update for the sink, or news that the lease was released."""
        name = channel.decode(errors="replace")
        if name == self._lease.channel:
            self._election.kick()
            return
        if not name.startswith(self._topic_prefix):
            return
        try:
            update = wire.decode(name.removeprefix(self._topic_prefix), data)
        except ValueError as error:
            log.warning("Skipped a message on %s that is not an update: %s", name, error)
            return
        self._received += 1
        try:
            await self._sink(update)
        except Exception:
            log.exception("The broker's sink failed on an update of %s", update.topic)

    async def _say_interest(self) -> None:
        """After each turn of the election: the followed topics for 3 more leases; the leader sweeps lapsed ones."""
        await self._ask("say which topics are followed", lambda: self._interest.add(self._followed), None)
        if self.leading:
            await self._ask("sweep the watched topics", self._interest.sweep, None)

"""Trades posted to any process, applied by the one running the bar broadcaster (redis://).

Every process serves `POST /api/v1/ingest/trades`, but only the leader (the holder of the broadcaster's lease) applies
trades, so that each topic has one bar stream. Another process pushes the request on the list `{prefix}:ingest`; the
leader pops requests one at a time, in arrival order, applies each with its own tapes deciding what is refused, and
publishes the outcome on the sender's channel `{prefix}:ingest:reply:{process_id}`; the sender answers its client as
if it had applied the trades itself (the count, the same 422, or the 503 of a store that does not answer).

What a publisher can rely on:
- a request is applied whole or not at all, wherever it was posted;
- a 503 (no leader answered within the timeout, Redis unreachable, the server stopping) means the trades were not
  applied, with one exception: each request carries a deadline (the sender's timeout less a margin for the reply's
  trip) after which the leader drops it unapplied, and the leader's application is cut short at that deadline, but a
  leader that applied a request just before it and whose reply was then lost or late (Redis failing at that moment)
  leaves the sender answering 503 for applied trades. Posting them again counts them twice (ingest has no trade ids);
- a 200 means the leader applied them; yet a leader that dies or loses the lease loses its forming minute's trades
  (the bars not yet written): the next leader resumes from the store.

The hosts' clocks must agree within the margin (a second): the deadline is wall-clock UTC ms.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError, ResponseError

from app.broker.forward_serve import Server
from app.broker.forward_wire import Outcome, Request, decode_reply, encode_request
from app.broker.subscriber import Subscriber
from app.market.feed import FeedUnavailableError
from app.market.trades import Posted

log = logging.getLogger(__name__)

# Seconds a sender waits for the leader's answer.
TIMEOUT = 5.0
# Seconds a command, or a connection, may take before Redis counts as unreachable.
COMMAND_TIMEOUT = 2.0
# Seconds before the deadline a request's own timeout ends: the reply's trip and the hosts' clocks.
DEADLINE_MARGIN = 1.0
# Seconds before the first attempt to reach Redis again, and the most between two attempts (doubling).
FIRST_RETRY = 0.1
LAST_RETRY = 2.0

Apply = Callable[[Posted], Awaitable[int]]


class IngestForwarding:
    """The TradeIntake of a process sharing the Redis at `url` under `prefix`: `apply` posted trades here when
    `leading()`, through the leader otherwise; and, while leading, apply the requests other processes forward
    (`timeout` in seconds). `apply` must apply nothing when cancelled (Ingest.apply's awaits all come first)."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str,
        process_id: str,
        leading: Callable[[], bool],
        apply: Apply,
        timeout: float = TIMEOUT,
    ) -> None:
        # No retries inside redis-py: a failure must reach the caller at once, and a request never goes twice.
        self._redis = Redis.from_url(
            url,
            protocol=2,
            socket_timeout=COMMAND_TIMEOUT,
            socket_connect_timeout=COMMAND_TIMEOUT,
            retry=Retry(NoBackoff(), 0),
        )
        self._where = _where(self._redis)
        self._queue = f"{prefix}:ingest"
        self._channel = f"{prefix}:ingest:reply:{process_id}"
        self._leading = leading
        self._apply = apply
        self._timeout = timeout
        self._margin = min(DEADLINE_MARGIN, timeout / 2)
        self._server = Server(self._redis, self._queue, leading, apply, self._where)
        # Requests sent, by id, until their reply comes.
        self._waiting: dict[str, asyncio.Future[int]] = {}
        # Set while the reply channel's subscription is confirmed; `_cut_off` while it failed since.
        self._subscribed = asyncio.Event()
        self._cut_off = False
        # Loop time when this process sets the list's expiry again.
        self._expire_again_at = 0.0
        self._tasks: list[asyncio.Task[None]] = []
        self._stopped = False

    async def apply(self, posted: Posted) -> int:
        """Apply all of `posted` or none, here or through the leader: how many were applied. Raises what the leader's
        ingest raised (RefusedTradesError, FeedUnavailableError), ApplyFailedError when it failed otherwise, and
        FeedUnavailableError when no leader answered within the timeout or Redis does not answer."""
        if self._leading():
            return await self._apply(posted)
        if self._stopped:
            raise _stopping()
        if self._cut_off and not self._subscribed.is_set():
            raise self._unavailable()
        id_ = uuid.uuid4().hex
        deadline = int((time.time() + self._timeout - self._margin) * 1000)
        data = encode_request(Request(id_, self._channel, deadline, posted))
        reply = self._waiting[id_] = asyncio.get_running_loop().create_future()
        try:
            async with asyncio.timeout(self._timeout):
                # At start-up, until the subscription is confirmed: a reply published before would be lost.
                await self._subscribed.wait()
                await self._push(data)
                applied: int = await reply
                return applied
        except TimeoutError:
            if not self._subscribed.is_set():
                raise self._unavailable() from None
            reason = f"no process running it answered within {self._timeout:g} s"
            raise FeedUnavailableError("bar broadcaster", reason) from None
        finally:
            del self._waiting[id_]

    def leadership_changed(self, leading: bool) -> None:
        """Tell the leader's loop that this process started (True) or stopped running the broadcaster."""
        self._server.wake()

    async def start(self) -> None:
        """Subscribe to the reply channel and serve forwarded requests while leading, in the background (retrying
        while Redis does not answer); returns at once. Idempotent."""
        if not self._tasks and not self._stopped:
            self._tasks = [
                asyncio.create_task(self._listen(), name="ingest forwarding replies"),
                asyncio.create_task(self._server.run(), name="ingest forwarding leader"),
            ]

    async def stop(self) -> None:
        """Stop serving and listening: requests waiting for a reply get FeedUnavailableError. Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        self._server.stop()
        for reply in self._waiting.values():
            if not reply.done():
                reply.set_exception(_stopping())
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._redis.aclose()

    async def _push(self, data: bytes) -> None:
        """Queue a request for the leader. When the connection fails, Redis may have queued it all the same: the
        reply may still come, and the deadline keeps it from being applied after its sender gave up."""
        try:
            await self._redis.rpush(self._queue, data)
        except ResponseError:
            raise self._unavailable() from None
        except (RedisError, OSError) as error:
            log.debug("Ingest forwarding: queueing a request failed (%s); waiting for a reply all the same", error)
            return
        now = asyncio.get_running_loop().time()
        if now >= self._expire_again_at:
            # While no leader pops, the list goes: each sender sets it to live two timeouts at least every half
            # timeout, longer than any request's deadline, and once past every deadline.
            self._expire_again_at = now + self._timeout / 2
            with contextlib.suppress(RedisError, OSError):
                await self._redis.pexpire(self._queue, int(2 * self._timeout * 1000))

    def _unavailable(self) -> FeedUnavailableError:
        return FeedUnavailableError("broker", f"Redis at {self._where} does not answer")

    async def _listen(self) -> None:
        """Keep the reply channel subscribed: one connection after another, with backoff between failures."""
        retry = FIRST_RETRY
        while not self._stopped:
            connection = self._redis.connection_pool.make_connection()  # type: ignore[no-untyped-call]
            subscriber = Subscriber(connection, self._receive)
            reading: asyncio.Task[None] | None = None
            try:
                async with asyncio.timeout(COMMAND_TIMEOUT):
                    await subscriber.connect()
                reading = asyncio.create_task(subscriber.run())
                async with asyncio.timeout(COMMAND_TIMEOUT):
                    await subscriber.subscribe([self._channel])
                self._subscribed.set()
                if self._cut_off:
                    self._cut_off = False
                    log.info("Ingest forwarding: Redis at %s is back", self._where)
                retry = FIRST_RETRY
                await reading
            except (RedisError, OSError, TimeoutError) as error:
                if not self._cut_off:
                    self._cut_off = True
                    log.warning(
                        "Ingest forwarding: Redis at %s unreachable (%s); trades forwarded from here get 503 until "
                        "it is back",
                        self._where,
                        type(error).__name__,
                    )
            finally:
                # Requests sent wait on: the next subscription may get their replies, else they time out.
                self._subscribed.clear()
                if reading is not None:
                    reading.cancel()
                    await asyncio.gather(reading, return_exceptions=True)
                await subscriber.close()
            await asyncio.sleep(retry)
            retry = min(retry * 2, LAST_RETRY)

    async def _receive(self, channel: bytes, data: bytes) -> None:
        try:
            id_, outcome = decode_reply(data)
        except ValueError as error:
            log.warning("Ingest forwarding: skipped a message on %s: %s", channel.decode(errors="replace"), error)
            return
        reply = self._waiting.get(id_)
        if reply is not None and not reply.done():
            _settle(reply, outcome)
        elif isinstance(outcome, int):
            # The narrow race of the module's docstring: its sender stopped waiting just before.
            log.error(
                "Ingest forwarding: the bar broadcaster applied %d trades of request %s after this process answered "
                "503 for them: posted again, they count twice",
                outcome,
                id_,
            )


def _stopping() -> FeedUnavailableError:
    return FeedUnavailableError("bar broadcaster", "this server is stopping")


def _settle(reply: asyncio.Future[int], outcome: Outcome) -> None:
    if isinstance(outcome, int):
        reply.set_result(outcome)
    else:
        reply.set_exception(outcome)


def _where(redis: Redis) -> str:
    """`host:port` of the client's Redis, never its user or password."""
    kwargs = redis.connection_pool.connection_kwargs
    host, port = str(kwargs.get("host", "localhost")), kwargs.get("port", 6379)
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

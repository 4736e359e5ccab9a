"""The leader's side of forwarded ingest: requests popped from the list one at a time, in arrival order, applied
before their deadline or dropped, and each outcome published on its sender's channel."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import cast

from redis.asyncio import Redis
from redis.exceptions import RedisError

from app.broker.forward_wire import ApplyFailedError, Outcome, Request, decode_request, encode_reply
from app.market.feed import FeedUnavailableError
from app.market.trades import Posted, RefusedTradesError

log = logging.getLogger(__name__)

# Seconds a pop waits for a request: how soon the loop notices it stopped leading.
POP_WAIT = 1.0
# Seconds between two looks at leadership while not leading, when nobody says it changed.
LEADERSHIP_POLL = 1.0
FIRST_RETRY = 0.1
LAST_RETRY = 2.0


class Server:
    """Serves the requests on the list `queue` of `redis` while `leading()`, with `apply`; `where` names Redis in
    the logs."""

    def __init__(
        self,
        redis: Redis,
        queue: str,
        leading: Callable[[], bool],
        apply: Callable[[Posted], Awaitable[int]],
        where: str,
    ) -> None:
        self._redis = redis
        self._queue = queue
        self._leading = leading
        self._apply = apply
        self._where = where
        self._changed = asyncio.Event()
        self._stopped = False

    def wake(self) -> None:
        """Leadership changed: look at it now."""
        self._changed.set()

    def stop(self) -> None:
        """End `run` at its next look, within POP_WAIT seconds. Cancelling it is not enough: a cancellation that comes
        during BLPOP can be swallowed by redis-py (seen with 8.1 after a reconnection; redis/redis-py#2028)."""
        self._stopped = True
        self._changed.set()

    async def run(self) -> None:
        """Serve while leading, wait while not, until stopped; Redis's failures are logged once and retried."""
        retry, failing = FIRST_RETRY, False
        while not self._stopped:
            if not self._leading():
                self._changed.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(LEADERSHIP_POLL):
                        await self._changed.wait()
                continue
            try:
                await self._serve_next()
            except (RedisError, OSError) as error:
                if not failing:
                    failing = True
                    log.warning(
                        "Ingest forwarding: the bar broadcaster cannot read forwarded trades, Redis at %s does not "
                        "answer (%s); trying again",
                        self._where,
                        type(error).__name__,
                    )
            except Exception:
                failing = True
                log.exception("Ingest forwarding: serving forwarded trades failed; trying again")
            else:
                if failing:
                    failing = False
                    log.info("Ingest forwarding: the bar broadcaster reads forwarded trades again")
                retry = FIRST_RETRY
                continue
            await asyncio.sleep(retry)
            retry = min(retry * 2, LAST_RETRY)

    async def _serve_next(self) -> None:
        """Pop the next request (waiting up to POP_WAIT seconds), apply it and publish the outcome."""
        popped = await self._redis.blpop([self._queue], timeout=POP_WAIT)
        if popped is None:
            return
        # Bytes: the client does not decode responses.
        data = cast(bytes, popped[1])
        if not self._leading():
            # Lost the lease while waiting: the next leader serves it, first.
            await self._redis.lpush(self._queue, data)
            return
        try:
            request = decode_request(data)
        except ValueError as error:
            log.warning("Ingest forwarding: skipped a request on %s: %s", self._queue, error)
            return
        outcome = await self._outcome(request)
        if outcome is not None:
            await self._redis.publish(request.reply, encode_reply(request.id, outcome))

    async def _outcome(self, request: Request) -> Outcome | None:
        """What applying `request` came to; None when its deadline passed first (nothing applied)."""
        left = request.deadline / 1000 - time.time()
        trades = len(request.posted)
        if left <= 0:
            log.warning(
                "Ingest forwarding: dropped %d trades forwarded by %s, %.0f ms past their deadline: their sender "
                "answered 503",
                trades,
                request.reply,
                -left * 1000,
            )
            return None
        try:
            async with asyncio.timeout(left) as within:
                return await self._apply(request.posted)
        except (RefusedTradesError, FeedUnavailableError) as error:
            return error
        except Exception:
            if within.expired():
                log.warning(
                    "Ingest forwarding: %d trades forwarded by %s not applied by their deadline: their sender "
                    "answered 503",
                    trades,
                    request.reply,
                )
                return None
            log.exception("Ingest forwarding: applying %d trades forwarded by %s failed", trades, request.reply)
            return ApplyFailedError()

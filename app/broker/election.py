"""Who runs the broadcaster, as one process sees it: its lease taken, renewed, lost or released, and the listener
told each time (see `lease` for why it is safe, and the timing)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

from app.broker.base import LeadershipListener
from app.broker.lease import Lease

log = logging.getLogger(__name__)
T = TypeVar("T")
# Seconds a stopping leader waits for Redis to confirm the release: without it, the lease runs out.
RELEASE_TIMEOUT = 2.0


class Ask(Protocol):
    """The broker's way to call Redis: the call's answer, or `default` while cut off or when the call fails."""

    async def __call__(self, what: str, call: Callable[[], Awaitable[T]], default: T) -> T: ...


class Election:
    """Every `seconds`/3 (or when kicked): renew `lease` while held, else try to acquire it, then `each_turn`."""

    def __init__(
        self,
        lease: Lease,
        seconds: float,
        process_id: str,
        on_leadership: LeadershipListener,
        ask: Ask,
        each_turn: Callable[[], Awaitable[None]],
        *,
        candidate: bool = True,
    ) -> None:
        self._lease = lease
        # False: this process never takes the lease (its broadcaster is off), it only relays.
        self._candidate = candidate
        self._seconds = seconds
        self._process_id = process_id
        self._on_leadership = on_leadership
        self._ask = ask
        self._each_turn = each_turn
        # Set to take the next turn now (connected again, or the leader released the lease).
        self._kick = asyncio.Event()
        # Loop time the last acquisition or renewal that Redis confirmed was sent.
        self._confirmed_at = 0.0
        self.leaderships = 0

    @property
    def leading(self) -> bool:
        """Whether this process holds the lease, as far as it knows (the publish script checks)."""
        return self._lease.token != 0

    def kick(self) -> None:
        """Take the next turn now."""
        self._kick.set()

    async def run(self) -> None:
        """Take turns until cancelled; a leader whose renewals Redis has not confirmed for a whole lease steps down
        on its own."""
        loop = asyncio.get_running_loop()
        while True:
            self._kick.clear()
            try:
                await self._turn()
                await self._each_turn()
            except Exception:
                log.exception("The broadcaster's election failed a turn")
            wait = self._seconds / 3
            if self.leading:
                wait = min(wait, max(0.0, self._confirmed_at + self._seconds - loop.time()))
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._kick.wait()

    def lose(self, why: str) -> None:
        """No longer lead (Redis said another process holds the lease, or it may): WARNING, listener told."""
        token = self._lease.token
        if token:
            self._lease.forget()
            log.warning("%s lost the bar broadcaster lease (token %d): %s", self._process_id, token, why)
            self._tell(False)

    async def release(self, connected: bool) -> None:
        """On stop: give the lease up in Redis when `connected` (another process takes over at once), listener
        told. Redis's errors, or no answer within RELEASE_TIMEOUT seconds, are left: the lease then runs out."""
        token = self._lease.token
        if not token:
            return
        if connected:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(RELEASE_TIMEOUT):
                    await self._lease.release()
        self._lease.forget()
        log.info("%s released the bar broadcaster (token %d)", self._process_id, token)
        self._tell(False)

    async def _turn(self) -> None:
        sent = asyncio.get_running_loop().time()
        if self.leading:
            left = self._confirmed_at + self._seconds - sent
            if left <= 0:
                self.lose(f"no renewal confirmed for {self._seconds:g} s: another process may have taken over")
            else:
                renewed = await self._ask("renew the lease", lambda: self._renew(left), None)
                if renewed:
                    self._confirmed_at = sent
                elif renewed is False:
                    self.lose("Redis holds another process's lease, or none")
        if not self.leading and self._candidate:
            token = await self._ask("acquire the lease", self._lease.acquire, 0)
            if token:
                self._confirmed_at = sent
                self.leaderships += 1
                log.info("%s took over the bar broadcaster (token %d)", self._process_id, token)
                self._tell(True)

    async def _renew(self, left: float) -> bool:
        # A renewal confirmed after the lease ran out would not say who held it meanwhile.
        async with asyncio.timeout(left):
            return await self._lease.renew()

    def _tell(self, leading: bool) -> None:
        try:
            self._on_leadership(leading)
        except Exception:
            log.exception("The leadership listener failed")

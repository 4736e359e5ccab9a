"""Which topics some process follows: a sorted set in Redis, member the topic, score when that interest lapses.

Each process adds the topics it follows when it follows them and again every lease/3 seconds, each with a score of
now + 3 leases (UTC ms; GT, so a process with a slow clock never shortens another's interest): a topic nobody follows
any more, or whose follower died, drops out within 3 leases, which leaves room for clocks a little apart.
"""

from __future__ import annotations

import time
from collections.abc import Collection

from redis.asyncio import Redis


def _now_ms() -> int:
    return int(time.time() * 1000)


class Interest:
    """`{prefix}:watched`, read and written for a deployment whose lease lasts `lease` seconds."""

    def __init__(self, redis: Redis, prefix: str, lease: float) -> None:
        self._redis = redis
        self.key = f"{prefix}:watched"
        self._lasts = round(3 * lease * 1000)

    async def add(self, topics: Collection[str]) -> None:
        """Say that this process follows `topics`, for 3 leases from now. Redis errors propagate."""
        if topics:
            expiry = _now_ms() + self._lasts
            await self._redis.zadd(self.key, dict.fromkeys(topics, expiry), gt=True)

    async def watched(self) -> set[str]:
        """The topics whose interest has not lapsed (one round trip)."""
        members = await self._redis.zrangebyscore(self.key, _now_ms(), "+inf")
        return {member.decode(errors="replace") for member in members if isinstance(member, bytes)}

    async def sweep(self) -> None:
        """Drop the topics whose interest has lapsed (the leader does, now and then)."""
        await self._redis.zremrangebyscore(self.key, "-inf", f"({_now_ms()}")

"""The broadcaster's lease in Redis, with a fencing token: which one process publishes the bars.

Key `{prefix}:broadcaster` holds `"{token} {process_id}"` and expires after the lease (PX, ms); the counter
`{prefix}:broadcaster:token` gives each acquisition a token greater than every earlier one (while Redis keeps its
data). Each operation is a Lua script, and Redis runs a script atomically:

- acquire: when nobody holds the key, take the next token and set the key (SET NX PX, atomically with the token);
- renew: extend the key's expiry only while it still holds this process's value;
- release: delete the key only while it holds this process's value, and say so on the channel
  `{prefix}:broadcaster`, so that a follower takes over at once rather than after the lease;
- publish: compare the key with this process's value and, only when they are equal, PUBLISH every update and record
  its last bar time in `{prefix}:sent`, in one call (one round trip per broadcaster tick).

A lease alone cannot rule out two broadcasters at once: a process paused (SIGSTOP, a long garbage collection) or cut
off past its lease does not know that it expired, and publishes on when it wakes up while another process has taken
over. The publish script is the fencing check (Kleppmann, "How to do distributed locking", 2016): Redis itself compares
the holder's value, token included, with the key at the moment it publishes, so a process whose lease expired and
was taken over never gets an update through, however late it runs. The token keeps values unique: a process that
loses the lease and wins it again holds a new value, and the old one's late calls are refused too.

Timing (the broker's): a follower tries to acquire every lease/3 seconds, the leader renews every lease/3 seconds
and stops leading on its own once no renewal was confirmed for a whole lease, since it cannot know whether another
process took over; a dead leader is replaced within lease + lease/3 seconds, a stopped one at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from redis.asyncio import Redis

_ACQUIRE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local token = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], token .. ' ' .. ARGV[1], 'PX', ARGV[2])
return token
"""
_RENEW = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
return redis.call('PEXPIRE', KEYS[1], ARGV[2])
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('PUBLISH', ARGV[2], ARGV[1])
return 1
"""
_PUBLISH = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
for i = 2, #ARGV, 4 do
  redis.call('PUBLISH', ARGV[i], ARGV[i + 1])
  if ARGV[i + 3] ~= '' then redis.call('HSET', KEYS[2], ARGV[i + 2], ARGV[i + 3]) end
end
return 1
"""


class Message(NamedTuple):
    """One update for the publish script: its `channel`, the encoded `payload`, its `topic` and its last bar's
    `time` (UTC ms; None: it carries no bar, and `{prefix}:sent` keeps the topic's earlier time)."""

    channel: str
    payload: bytes
    topic: str
    time: int | None


class Lease:
    """The lease of `prefix`'s broadcaster as `process_id` holds it (or not): `token` 0 while not held."""

    def __init__(self, redis: Redis, prefix: str, seconds: float, process_id: str) -> None:
        self.key = f"{prefix}:broadcaster"
        self.channel = f"{prefix}:broadcaster"
        self._counter = f"{prefix}:broadcaster:token"
        self.sent = f"{prefix}:sent"
        self._ms = max(1, round(seconds * 1000))
        self._process_id = process_id
        self._acquire = redis.register_script(_ACQUIRE)
        self._renew = redis.register_script(_RENEW)
        self._release = redis.register_script(_RELEASE)
        self._publish = redis.register_script(_PUBLISH)
        self.token = 0

    @property
    def value(self) -> str | None:
        """What the key holds while this process holds the lease: `"{token} {process_id}"`."""
        return f"{self.token} {self._process_id}" if self.token else None

    async def acquire(self) -> int:
        """Take the lease if nobody holds it: its token, else 0. Redis errors propagate."""
        token = int(await self._acquire(keys=[self.key, self._counter], args=[self._process_id, self._ms]))
        if token:
            self.token = token
        return token

    async def renew(self) -> bool:
        """Extend the lease by its length from now; False when the key no longer holds this process's value."""
        value = self.value
        return value is not None and bool(int(await self._renew(keys=[self.key], args=[value, self._ms])))

    async def release(self) -> bool:
        """Give the lease up (others hear of it at once); False when it was no longer this process's."""
        value, self.token = self.value, 0
        return value is not None and bool(int(await self._release(keys=[self.key], args=[value, self.channel])))

    def forget(self) -> None:
        """Stop counting on the lease without telling Redis (lost, or maybe expired there)."""
        self.token = 0

    async def publish(self, messages: Sequence[Message]) -> bool:
        """Publish `messages` in order if this process still holds the lease, atomically with that check; False
        (nothing published) when it does not."""
        value = self.value
        if value is None:
            return False
        args: list[str | bytes | int] = [value]
        for message in messages:
            time = "" if message.time is None else message.time
            args.extend((message.channel, message.payload, message.topic, time))
        return bool(int(await self._publish(keys=[self.key, self.sent], args=args)))

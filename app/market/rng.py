"""A tiny counter-based random generator whose stream never changes.

The simulation must give the same bars in every process, on every Python version and after any
restart, so it cannot rely on `random` (only `random()` is guaranteed stable) or on `hash()`
(salted per process). SplitMix64 seeded from a BLAKE2 digest of the node's identity is stable by
construction and cheap in pure Python.
"""

from __future__ import annotations

import hashlib
import math

_MASK = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15
_TO_UNIT = 1.0 / (1 << 53)


def seed_for(*parts: object) -> int:
    """A 64-bit seed derived from the given identity, identical in every process."""
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little")


class Rng:
    """SplitMix64 with uniform and normal draws."""

    __slots__ = ("_state",)

    def __init__(self, seed: int) -> None:
        self._state = seed & _MASK

    def _next(self) -> int:
        self._state = (self._state + _GOLDEN) & _MASK
        z = self._state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
        return z ^ (z >> 31)

    def uniform(self) -> float:
        """A draw from (0, 1]: never 0, so its logarithm is always finite."""
        return ((self._next() >> 11) + 1) * _TO_UNIT

    def gauss(self) -> float:
        """A standard normal draw (Box-Muller)."""
        return math.sqrt(-2.0 * math.log(self.uniform())) * math.cos(math.tau * self.uniform())

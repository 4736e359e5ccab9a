"""Counter-based random draws whose stream never changes.

The simulation must give the same bars in every process, on every Python version and after any
restart, so it cannot rely on `random` (only `random()` is guaranteed stable), on numpy's Generator
streams (not guaranteed across versions) or on `hash()` (salted per process). SplitMix64 over a key
from a BLAKE2 digest of an identity (`seed_for`) and a counter per draw is stable by construction;
`uniforms` and `normals` draw a whole level of the price tree in one pass of numpy's wrapping 64-bit
arithmetic.
"""

from __future__ import annotations

import hashlib
import math

import numpy as np
import numpy.typing as npt

_MASK = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15
_TO_UNIT = 1.0 / (1 << 53)


def seed_for(*parts: object) -> int:
    """A 64-bit seed derived from the given identity, identical in every process."""
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little")


# Vectorised draws for a whole level of the price tree at once. Each draw is SplitMix64's output for one counter
# (the draw's identity) under one key, so it depends on nothing but that identity: not on which other nodes are
# generated with it, nor in what order.
_MIX_1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX_2 = np.uint64(0x94D049BB133111EB)
# Keys of the two uniform streams behind `normals` (any distinct odd constants).
_RADIUS_STREAM = 0x6A09E667F3BCC909
_ANGLE_STREAM = 0xBB67AE8584CAA73B


def uniforms(key: int, counters: npt.NDArray[np.uint64]) -> npt.NDArray[np.float64]:
    """One draw from (0, 1] per counter: never 0, so its logarithm is always finite."""
    with np.errstate(over="ignore"):
        z = np.uint64(key & _MASK) + (counters + np.uint64(1)) * np.uint64(_GOLDEN)
        z = (z ^ (z >> np.uint64(30))) * _MIX_1
        z = (z ^ (z >> np.uint64(27))) * _MIX_2
        z = z ^ (z >> np.uint64(31))
    return ((z >> np.uint64(11)).astype(np.float64) + 1.0) * _TO_UNIT


def normals(key: int, counters: npt.NDArray[np.uint64]) -> npt.NDArray[np.float64]:
    """One standard normal draw per counter (Box-Muller), from two streams of their own: a counter's normal
    and its uniform are independent."""
    radius = np.sqrt(-2.0 * np.log(uniforms(key ^ _RADIUS_STREAM, counters)))
    return radius * np.cos(math.tau * uniforms(key ^ _ANGLE_STREAM, counters))

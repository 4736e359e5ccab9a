"""Split a bar into the bars of its sub-periods so that they aggregate back to it exactly.

A random walk with the sub-periods' variances is pinned (as a Brownian bridge) and given
per-sub-period extremes drawn from the exact distribution of a bridge's maximum. A monotone
piecewise-linear map then sends the walk's lowest point to the parent's low, its start to the open,
its end to the close and its highest point to the high. Monotone maps keep every child's
low <= open, close <= high, and rounding to the tick grid is monotone too, so the children's first
open, last close, highest high and lowest low are exactly the parent's.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from app.market.bars import TickBar
from app.market.rng import Rng

# Spread of each child's share of volume around its profile weight (lognormal sigma).
_VOLUME_NOISE = 0.35


def apportion(total: int, weights: Sequence[float]) -> list[int]:
    """Integer shares of `total` in proportion to `weights` (largest remainder), summing to it."""
    weight_sum = sum(weights)
    exact = [total * w / weight_sum for w in weights]
    shares = [int(x) for x in exact]
    by_remainder = sorted(range(len(exact)), key=lambda i: shares[i] - exact[i])
    for i in by_remainder[: total - sum(shares)]:
        shares[i] += 1
    return shares


class _PiecewiseLinear:
    """Non-decreasing interpolation through sorted anchor points; exact at the anchors."""

    __slots__ = ("_xs", "_ys")

    def __init__(self, xs: Sequence[float], ys: Sequence[int]) -> None:
        self._xs = xs
        self._ys = ys

    def __call__(self, x: float) -> float:
        xs, ys = self._xs, self._ys
        if x <= xs[0]:
            return ys[0]
        for i in range(1, len(xs)):
            if x <= xs[i]:
                if x == xs[i]:
                    return ys[i]
                x0 = xs[i - 1]
                return ys[i - 1] + (x - x0) * (ys[i] - ys[i - 1]) / (xs[i] - x0)
        return ys[-1]


def _bounds(open_: int, close: int, high: int, low: int, target: float) -> tuple[float, float]:
    """Where the walk must stay when the parent opened or closed at its extreme.

    Were the walk to dip below an open that is also the low, the map would flatten the dip onto
    the low and draw a run of flat bars; folding the walk back above it gives a natural path.
    """
    floor, ceiling = -math.inf, math.inf
    for price, level in ((open_, 0.0), (close, target)):
        if price == low:
            floor = max(floor, level)
        if price == high:
            ceiling = min(ceiling, level)
    return floor, ceiling


def _fold(points: list[float], floor: float, ceiling: float) -> list[float]:
    """Reflect the walk into [floor, ceiling] (either may be infinite)."""
    if floor == -math.inf and ceiling == math.inf:
        return points
    if ceiling == math.inf:
        return [floor + abs(p - floor) for p in points]
    if floor == -math.inf:
        return [ceiling - abs(ceiling - p) for p in points]
    width = ceiling - floor
    if width <= 0:
        return [floor for _ in points]
    # A triangle wave: reflection off both walls.
    return [floor + width - abs((p - floor) % (2 * width) - width) for p in points]


def subdivide(
    parent: TickBar,
    variances: Sequence[float],
    volume_weights: Sequence[float],
    minmov: int,
    rng: Rng,
) -> list[TickBar]:
    """Children of `parent`, one per variance, that aggregate exactly to it."""
    noisy_weights = [w * math.exp(_VOLUME_NOISE * rng.gauss()) for w in volume_weights]
    volumes = apportion(parent.volume, noisy_weights)
    if len(variances) == 1:
        return [parent]
    open_, high, low, close = parent.open, parent.high, parent.low, parent.close
    if high == low:
        return [TickBar(open_, open_, open_, open_, v) for v in volumes]

    total = sum(variances)
    shares = [v / total for v in variances]
    # Walk in units where the whole parent has variance 1; a parent whose close sits at its high
    # ends about two such units above its open, roughly where a unit bridge's range puts it.
    target = 2.0 * (close - open_) / (high - low)
    steps = [math.sqrt(s) * rng.gauss() for s in shares]
    overshoot = sum(steps) - target
    points = [0.0]
    walked = elapsed = 0.0
    for step, share in zip(steps, shares, strict=True):
        walked += step
        elapsed += share
        points.append(walked - elapsed * overshoot)
    points[-1] = target
    points = _fold(points, *_bounds(open_, close, high, low, target))

    highs: list[float] = []
    lows: list[float] = []
    for i, share in enumerate(shares):
        start, move = points[i], points[i + 1] - points[i]
        highs.append(start + (move + math.sqrt(move * move - 2 * share * math.log(rng.uniform()))) / 2)
        lows.append(start + (move - math.sqrt(move * move - 2 * share * math.log(rng.uniform()))) / 2)

    to_price = _PiecewiseLinear(
        (min(lows), min(0.0, target), max(0.0, target), max(highs)),
        (low, min(open_, close), max(open_, close), high),
    )

    def tick(x: float) -> int:
        return round(to_price(x) / minmov) * minmov

    edges = [tick(p) for p in points]
    return [TickBar(edges[i], tick(highs[i]), tick(lows[i]), edges[i + 1], volumes[i]) for i in range(len(shares))]

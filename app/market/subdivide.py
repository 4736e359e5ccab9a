"""Split bars into the bars of their sub-periods so that they aggregate back to them exactly.

For each parent, a random walk with the sub-periods' variances is pinned (as a Brownian bridge) and
given per-sub-period extremes drawn from the exact distribution of a bridge's maximum. A monotone
piecewise-linear map then sends the walk's lowest point to the parent's low, its start to the open,
its end to the close and its highest point to the high. Monotone maps keep every child's
low <= open, close <= high, and rounding to the tick grid is monotone too, so the children's first
open, last close, highest high and lowest low are exactly the parent's.

Every parent of a tree level is split in one pass over arrays: children are grouped by parent
(`segments`), and sums, running sums and extremes run per group.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from app.market.rng import normals, uniforms

# Spread of each child's share of volume around its weight (lognormal sigma).
_VOLUME_NOISE = 0.35
# Draws per child: volume noise, walk step, high, low.
_DRAWS = 4

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
# OHLCV rows as integer counts of 1/pricescale (prices) and 1/volume_scale (volume): shape (n, 5).
Ohlcv = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Segments:
    """Children grouped by parent: `parent[c]` is child c's parent row, ascending, every row at least once."""

    parent: Ints
    # Index of each group's first child, and of its last.
    first: Ints
    last: Ints

    @classmethod
    def of(cls, parent: Ints) -> Segments:
        changes = np.empty(len(parent), dtype=np.bool_)
        changes[0] = True
        np.not_equal(parent[1:], parent[:-1], out=changes[1:])
        starts = np.flatnonzero(changes)
        lasts = np.empty_like(starts)
        lasts[:-1] = starts[1:] - 1
        lasts[-1] = len(parent) - 1
        return cls(parent, starts, lasts)

    def sums(self, values: Floats) -> Floats:
        """Per group: the sum of `values`."""
        return np.add.reduceat(values, self.first)

    def running(self, values: Floats) -> Floats:
        """Per child: the sum of `values` over its group up to and including itself."""
        total = np.cumsum(values)
        before = total[self.first] - values[self.first]
        return total - before[self.parent]


def apportion(totals: Ints, weights: Floats, segments: Segments) -> Ints:
    """Integer shares of each group's total in proportion to its children's weights, summing to it.

    Cumulative rounding: each child gets the whole units its running share crosses, so every share is within one
    unit of its exact value, in one pass without sorting.
    """
    group = segments.parent
    exact = totals[group] * weights / segments.sums(weights)[group]
    crossed = np.floor(segments.running(exact)).astype(np.int64)
    crossed[segments.last] = totals
    shares = np.diff(crossed, prepend=0)
    shares[segments.first] = crossed[segments.first]
    return shares


def subdivide(
    parents: Ohlcv, segments: Segments, weights: Floats, minmov: int, key: int, identities: npt.NDArray[np.uint64]
) -> Ohlcv:
    """Children of `parents` (one row per group of `segments`), that aggregate exactly to them.

    `weights` (> 0) give each child's share of its parent's variance and volume; `identities` name each child
    for the random draws under `key` (the same identity always draws the same numbers); prices stay multiples
    of `minmov`.
    """
    group = segments.parent
    open_, high, low, close, volume = (parents[:, i] for i in range(5))
    counters = identities * np.uint64(_DRAWS)
    volumes = apportion(volume, weights * np.exp(_VOLUME_NOISE * normals(key, counters)), segments)

    share = weights / segments.sums(weights)[group]
    span = np.maximum(high - low, 1)
    # Walk in units where the whole parent has variance 1; a parent whose close sits at its high
    # ends about two such units above its open, roughly where a unit bridge's range puts it.
    target = 2.0 * (close - open_) / span
    steps = np.sqrt(share) * normals(key, counters + np.uint64(1))
    overshoot = segments.sums(steps) - target
    ends = segments.running(steps) - segments.running(share) * overshoot[group]
    ends[segments.last] = target
    starts = np.empty_like(ends)
    starts[1:] = ends[:-1]
    starts[segments.first] = 0.0
    floor, ceiling = _bounds(open_, close, high, low, target)
    starts, ends = _fold(starts, floor[group], ceiling[group]), _fold(ends, floor[group], ceiling[group])

    move = ends - starts
    highs = starts + (move + np.sqrt(move * move - 2 * share * np.log(uniforms(key, counters + np.uint64(2))))) / 2
    lows = starts + (move - np.sqrt(move * move - 2 * share * np.log(uniforms(key, counters + np.uint64(3))))) / 2

    anchors = np.column_stack(
        (
            np.minimum.reduceat(lows, segments.first),
            np.minimum(0.0, target),
            np.maximum(0.0, target),
            np.maximum.reduceat(highs, segments.first),
        )
    )
    prices = np.column_stack((low, np.minimum(open_, close), np.maximum(open_, close), high)).astype(np.float64)
    points = np.concatenate((starts, highs, lows, ends))
    mapped = _piecewise_linear(points, np.tile(group, 4), anchors, prices)
    ticks = (np.rint(mapped / minmov) * minmov).astype(np.int64).reshape(4, -1)
    children = np.column_stack((ticks[0], ticks[1], ticks[2], ticks[3], volumes))
    # A parent that never moved has children that never move.
    flat = (high == low)[group]
    children[flat, :4] = open_[group][flat, None]
    return children


def _bounds(open_: Ints, close: Ints, high: Ints, low: Ints, target: Floats) -> tuple[Floats, Floats]:
    """Where the walk must stay when a parent opened or closed at its extreme.

    Were the walk to dip below an open that is also the low, the map would flatten the dip onto
    the low and draw a run of flat bars; folding the walk back above it gives a natural path.
    """
    floor = np.full(len(open_), -np.inf)
    ceiling = np.full(len(open_), np.inf)
    floor = np.where(open_ == low, np.maximum(floor, 0.0), floor)
    floor = np.where(close == low, np.maximum(floor, target), floor)
    ceiling = np.where(open_ == high, np.minimum(ceiling, 0.0), ceiling)
    ceiling = np.where(close == high, np.minimum(ceiling, target), ceiling)
    return floor, ceiling


def _fold(points: Floats, floor: Floats, ceiling: Floats) -> Floats:
    """Reflect each point into its [floor, ceiling] (either may be infinite): a triangle wave between both."""
    with np.errstate(invalid="ignore"):
        above = floor + np.abs(points - floor)
        below = ceiling - np.abs(ceiling - points)
        width = ceiling - floor
        both = floor + width - np.abs(np.mod(points - floor, 2 * width) - width)
    folded = np.where(
        np.isinf(floor), np.where(np.isinf(ceiling), points, below), np.where(np.isinf(ceiling), above, both)
    )
    return np.where(width <= 0, floor, folded)


def _piecewise_linear(x: Floats, row: Ints, xs: Floats, ys: Floats) -> Floats:
    """Non-decreasing interpolation of each x through its row's sorted anchors (xs[row], ys[row]: 4 each); exactly
    ys[row, i] at xs[row, i], ys[row, 0] below the first and ys[row, 3] above the last."""
    flat_x, flat_y = xs.ravel(), ys.ravel()
    base = row * 4
    # The piece holding x: the first i with x <= xs[i + 1], so that an x on an anchor ends on that anchor.
    lo = base + (x > flat_x.take(base + 1)) + (x > flat_x.take(base + 2))
    x0, x1 = flat_x.take(lo), flat_x.take(lo + 1)
    y0, y1 = flat_y.take(lo), flat_y.take(lo + 1)
    width = np.where(x1 > x0, x1 - x0, 1.0)
    inside = np.where(x >= x1, y1, y0 + (x - x0) * (y1 - y0) / width)
    return np.where(x <= flat_x.take(base), flat_y.take(base), inside)

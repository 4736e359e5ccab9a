"""The stylized facts of returns (Cont 2001) measured on a feed's bars: for tests/market/test_stylized_facts.py,
which asserts their signs and orderings, and bench/fidelity.py, which prints them.

Log returns are closes over the previous bar's closes (a stock's overnight gap belongs to the first bar of the
session); each fact is measured per instrument and averaged over an instrument class.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Sequence
from dataclasses import astuple, dataclass

from app.market.bars import Bar
from app.market.instruments import INSTRUMENTS, AssetClass
from app.market.resolutions import DAY, Resolution
from app.market.simulation import SimulatedFeed

HORIZON = 5
ABS_LAGS = range(1, 11)
LEVERAGE_DAYS = 5


def correlation(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Pearson correlation of two equally long series (0.0 when either is constant)."""
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    return sxy / math.sqrt(sxx * syy) if sxx and syy else 0.0


def autocorrelation(xs: Sequence[float], lag: int) -> float:
    """Correlation of a series with itself `lag` steps later."""
    return correlation(xs[:-lag], xs[lag:])


def excess_kurtosis(xs: Sequence[float]) -> float:
    """Fourth standardised moment minus 3 (0 for a normal distribution)."""
    m = statistics.fmean(xs)
    m2 = statistics.fmean([(x - m) ** 2 for x in xs])
    m4 = statistics.fmean([(x - m) ** 4 for x in xs])
    return m4 / (m2 * m2) - 3.0


def sums(xs: Sequence[float], horizon: int) -> list[float]:
    """Sums of consecutive non-overlapping runs of `horizon` values (an incomplete last run is dropped)."""
    return [math.fsum(xs[i : i + horizon]) for i in range(0, len(xs) - horizon + 1, horizon)]


@dataclass(frozen=True)
class Facts:
    """The stylized facts of one series of bars (or their mean over instruments)."""

    lag1: float
    kurtosis_1: float
    kurtosis_5: float
    abs_autocorrelation: float
    volume_abs: float
    leverage: float


def facts(bars: Sequence[Bar]) -> Facts:
    """The facts of consecutive bars (oldest first; at least a few dozen of them)."""
    returns = [math.log(b.close / a.close) for a, b in itertools.pairwise(bars)]
    absolute = [abs(r) for r in returns]
    future = [statistics.fmean(absolute[t + 1 : t + 1 + LEVERAGE_DAYS]) for t in range(len(returns) - LEVERAGE_DAYS)]
    return Facts(
        lag1=autocorrelation(returns, 1),
        kurtosis_1=excess_kurtosis(returns),
        kurtosis_5=excess_kurtosis(sums(returns, HORIZON)),
        abs_autocorrelation=statistics.fmean([autocorrelation(absolute, lag) for lag in ABS_LAGS]),
        volume_abs=correlation([b.volume for b in bars[1:]], absolute),
        leverage=correlation(returns[: len(future)], future),
    )


def mean_facts(many: Sequence[Facts]) -> Facts:
    """The mean of each fact over several instruments."""
    return Facts(*(statistics.fmean(column) for column in zip(*(astuple(f) for f in many), strict=True)))


def class_facts(feed: SimulatedFeed, asset_class: AssetClass, resolution: Resolution) -> Facts:
    """The facts of every instrument of a class at a resolution over all the history served, averaged."""
    end = int(feed.now()) // DAY * DAY  # closed bars only: today's is still forming
    start = feed.history_start(resolution)
    return mean_facts(
        [
            facts(feed.history(i.symbol, resolution, start, end, 0).bars)
            for i in INSTRUMENTS
            if i.asset_class is asset_class
        ]
    )

"""One instrument's price path: a daily random walk refined top-down to one-second bars.

Days come from a mean-reverting walk, generated in order from the epoch, whose volatility follows
an EGARCH-like recursion (see `_Volatility`): heavy-tailed daily shocks, moderate clustering and, for
stocks, the leverage effect, so the returns show the stylized facts of real ones (Cont 2001). Each day
is then split into 4-hour bars, those into hours, and so on down to seconds
(see `subdivide`). A bar at any resolution is a node of that tree, so it is by construction the
aggregate of the minute bars it covers; and every node is a pure function of (symbol, node start),
so any process computes the same bars without shared state.
"""

from __future__ import annotations

import math
import threading
from functools import lru_cache
from itertools import pairwise

from app.market.bars import TickBar, merge
from app.market.instruments import AssetClass, Instrument
from app.market.resolutions import DAY
from app.market.rng import Rng, seed_for
from app.market.subdivide import subdivide

# Node lengths in seconds, each dividing the one before: 1D, 240, 60, 30, 15, 5, 1 minutes, 1 s.
LEVELS = (DAY, 14_400, 3_600, 1_800, 900, 300, 60, 1)
_CHILD = dict(pairwise(LEVELS))
_PARENT = {child: parent for parent, child in _CHILD.items()}

# A cached bar: the fields of a TickBar in a plain tuple. The garbage collector stops tracking a plain tuple of
# ints (not a NamedTuple), and every object it tracks lengthens its full collections, which stop all threads.
_Cached = tuple[int, int, int, int, int]


def _cached(bar: TickBar | None) -> _Cached | None:
    return None if bar is None else (bar.open, bar.high, bar.low, bar.close, bar.volume)


def _bar(cached: _Cached | None) -> TickBar | None:
    return None if cached is None else TickBar._make(cached)


# Degrees of freedom of the daily shocks (Student's t, excess kurtosis 6 / (NU - 4) = 3): the heavy tails of
# daily returns are mostly in the shocks themselves, which sums over several days average out.
_SHOCK_NU = 6
# E|shock| of the unit-variance t with _SHOCK_NU degrees of freedom.
_MEAN_ABS_SHOCK = 0.75
# The log-volatility recursion (EGARCH-like): a day's |shock| raises the following days' volatility and its
# sign moves it by _LEVERAGE[class] (negative: falls raise it), decaying at _VOL_PERSISTENCE a day, plus a
# small shock of its own. Moderate persistence and small coefficients keep the volatility from forming
# regimes: a very persistent, widely swinging volatility made every horizon's sums as heavy-tailed as the days.
_VOL_PERSISTENCE = 0.95
_VOL_FROM_SIZE = 0.05
_VOL_OWN_SHOCK = 0.02
# Equities fall into volatility (the leverage effect); currencies and coins show no such asymmetry.
_LEVERAGE = {AssetClass.STOCK: -0.045, AssetClass.CRYPTO: 0.0, AssetClass.FOREX: 0.0}
# Pull of the log price back to the instrument's base level, per day (half-life about 230 trading days).
_MEAN_REVERSION = 0.003


def _student_t(rng: Rng) -> float:
    """A draw of Student's t with _SHOCK_NU (even) degrees of freedom, scaled to unit variance."""
    chi_square = -2.0 * sum(math.log(rng.uniform()) for _ in range(_SHOCK_NU // 2))
    return rng.gauss() * math.sqrt((_SHOCK_NU - 2) / chi_square)


class _Volatility:
    """One instrument's daily volatility, updated by each trading day's shock.

    sigma = base * exp(state - v), where `state` is the recursion above and v its stationary variance, so the
    mean of sigma squared stays about base squared whatever the coefficients.
    """

    __slots__ = ("_base", "_leverage", "_state")

    def __init__(self, base: float, leverage: float) -> None:
        variance = (_VOL_FROM_SIZE**2 * (1 - _MEAN_ABS_SHOCK**2) + leverage**2 + _VOL_OWN_SHOCK**2) / (
            1 - _VOL_PERSISTENCE**2
        )
        self._base = base * math.exp(-variance)
        self._leverage = leverage
        self._state = 0.0

    @property
    def sigma(self) -> float:
        return self._base * math.exp(self._state)

    def update(self, shock: float, rng: Rng) -> None:
        """Tomorrow's volatility from today's unit shock."""
        self._state = (
            _VOL_PERSISTENCE * self._state
            + _VOL_FROM_SIZE * (abs(shock) - _MEAN_ABS_SHOCK)
            + self._leverage * shock
            + _VOL_OWN_SHOCK * rng.gauss()
        )


class PricePath:
    """The deterministic bars of one instrument from `epoch` (a UTC midnight) on."""

    def __init__(self, instrument: Instrument, epoch: int, cache_size: int = 4096) -> None:
        self.instrument = instrument
        self.epoch = epoch
        self._days: list[_Cached | None] = []
        # Days are generated in order, each from the state the one before left: one thread at a time.
        self._days_lock = threading.Lock()
        self._last_close: int | None = None
        self._closed_before = True
        # A full session's seconds in a UTC day (the longest in a week): a shorter day moves less.
        hours = instrument.hours
        self._full_day = max(hours.active_seconds(epoch + d * DAY, epoch + (d + 1) * DAY) for d in range(7))
        self._volatility = _Volatility(instrument.daily_volatility, _LEVERAGE[instrument.asset_class])
        self._children = lru_cache(maxsize=cache_size)(self._split)

    def _tick(self, price: float) -> int:
        minmov = self.instrument.minmov
        return max(minmov, round(price / minmov) * minmov)

    def day(self, index: int) -> TickBar | None:
        """The bar of the `index`-th day after the epoch (None: no trading that day)."""
        if index < 0:
            return None
        if index >= len(self._days):
            with self._days_lock:
                while len(self._days) <= index:
                    self._days.append(_cached(self._next_day(len(self._days))))
        return _bar(self._days[index])

    def days_ready(self, at: float) -> bool:
        """True when every day up to the one containing `at` (UTC seconds) is generated, so bars are cheap."""
        return len(self._days) > (at - self.epoch) // DAY

    def prepare_days(self, at: float) -> None:
        """Generate every day up to the one containing `at` (UTC seconds), traded yet or not."""
        self.day(int((at - self.epoch) // DAY))

    def _next_day(self, index: int) -> TickBar | None:
        inst = self.instrument
        day_start = self.epoch + index * DAY
        active = inst.hours.active_seconds(day_start, day_start + DAY)
        if not active:
            self._closed_before = True
            return None
        rng = Rng(seed_for(inst.symbol, "day", index))
        sigma = self._volatility.sigma * math.sqrt(active / self._full_day)
        base = math.log(inst.base_price * inst.pricescale)

        gap = inst.gap_ratio * sigma * rng.gauss() if self._closed_before else 0.0
        if self._last_close is None:
            open_ = self._tick(math.exp(base))
        elif gap:
            open_ = self._tick(self._last_close * math.exp(gap))
        else:
            open_ = self._last_close
        log_open = math.log(open_)
        shock = _student_t(rng)
        move = -_MEAN_REVERSION * (log_open - base) + sigma * shock
        variance = sigma * sigma
        up = (move + math.sqrt(move * move - 2 * variance * math.log(rng.uniform()))) / 2
        down = (move - math.sqrt(move * move - 2 * variance * math.log(rng.uniform()))) / 2
        close = self._tick(math.exp(log_open + move))
        high = max(self._tick(math.exp(log_open + up)), open_, close)
        low = min(self._tick(math.exp(log_open + down)), open_, close)
        # Busy days are volatile days: volume rises with the size of the move.
        surprise = abs(move) / sigma
        volume = inst.daily_volume * inst.volume_scale * (active / DAY) ** 0.5 * (0.6 + 0.4 * surprise)
        volume *= math.exp(0.25 * rng.gauss())
        self._volatility.update(shock, rng)

        self._last_close = close
        self._closed_before = active < DAY
        return TickBar(open_, high, low, close, max(1, round(volume)))

    def node(self, length: int, start: int) -> TickBar | None:
        """The complete bar of the tree node of `length` seconds starting at `start`."""
        if length == DAY:
            return self.day((start - self.epoch) // DAY)
        parent_length = _PARENT[length]
        parent_start = start - start % parent_length
        return _bar(self._children(parent_length, parent_start)[(start - parent_start) // length])

    def _split(self, length: int, start: int) -> tuple[_Cached | None, ...]:
        child = _CHILD[length]
        starts = range(start, start + length, child)
        parent = self.node(length, start)
        if parent is None:
            return (None,) * len(starts)
        hours = self.instrument.hours
        active = [hours.active_seconds(s, s + child) for s in starts]
        trading = [i for i, seconds in enumerate(active) if seconds]
        # Busy hours move more and trade more: both the variance and the volume follow the activity.
        activity = [hours.activity(self._trading_middle(starts[i], child, active[i])) * active[i] for i in trading]
        pieces = subdivide(
            parent,
            activity,
            activity,
            self.instrument.minmov,
            Rng(seed_for(self.instrument.symbol, length, start)),
        )
        children: list[_Cached | None] = [None] * len(starts)
        for i, piece in zip(trading, pieces, strict=True):
            children[i] = _cached(piece)
        return tuple(children)

    def _trading_middle(self, start: int, length: int, active: int) -> float:
        """The middle of the trading part of [start, start + length), `active` seconds long.

        A node that the open or the close cuts trades at one end only; its nominal middle may lie outside the
        session, where the intensity of the session's edges is meaningless.
        """
        if active == length or self.instrument.hours.active_seconds(start, start + 1):
            return start + active / 2
        return start + length - active / 2

    def partial(self, length: int, start: int, at: float) -> TickBar | None:
        """The node's bar as it stands at time `at`: only its seconds that have begun count."""
        if start > at:
            return None
        if length == 1 or start + length <= at:
            return self.node(length, start)
        child = _CHILD[length]
        current = int((at - start) // child)
        children = self._children(length, start)[:current]
        return merge(
            [TickBar._make(c) for c in children if c is not None]
            + self._partial_list(child, start + current * child, at)
        )

    def _partial_list(self, length: int, start: int, at: float) -> list[TickBar]:
        bar = self.partial(length, start, at)
        return [] if bar is None else [bar]

    def span(self, start: int, end: int, at: float) -> TickBar | None:
        """Aggregate of the days in [start, end) as they stand at `at` (weeks and months)."""
        days = []
        for day_start in range(start, end, DAY):
            bar = self.partial(DAY, day_start, at)
            if bar is not None:
                days.append(bar)
        return merge(days)

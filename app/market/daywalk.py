"""One instrument's trading days: a mean-reverting random walk with stochastic volatility.

Trading days are generated in order from the epoch, each from the state the one before left, so the walk is
sequential; as a pure function of the instrument it is computed once per process and shared by every feed
(`day_walk`). Its volatility follows an EGARCH-like recursion (see `_Volatility`): heavy-tailed daily shocks,
moderate clustering and, for stocks, the leverage effect, so the returns show the stylized facts of real ones
(Cont 2001). The random draws of a chunk of days are made together (`_DayDraws`); the loop that turns them into
bars is the only per-day work.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from functools import cache

import numpy as np

from app.market.bars import TickBar
from app.market.instruments import AssetClass, Instrument
from app.market.resolutions import DAY
from app.market.rng import normals, seed_for, uniforms
from app.market.trading_hours import day_of_number

# A generated day: the fields of a TickBar in a plain tuple. The garbage collector stops tracking a plain tuple
# of ints (not a NamedTuple), and every object it tracks lengthens its full collections, which stop all threads.
_Cached = tuple[int, int, int, int, int]

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


# Trading days whose random draws are made together.
_DAY_CHUNK = 1024


@dataclass(frozen=True, slots=True)
class _DayDraws:
    """The random draws of consecutive trading days (one list entry per day), made in one vectorised pass."""

    gap: list[float]
    shock: list[float]
    log_up: list[float]
    log_down: list[float]
    volume: list[float]
    volatility: list[float]

    @classmethod
    def make(cls, symbol: str, first: int, count: int) -> _DayDraws:
        days = np.arange(first, first + count, dtype=np.uint64)

        def key(name: str) -> int:
            return seed_for(symbol, "day", name)

        # Student's t with _SHOCK_NU (even) degrees of freedom, scaled to unit variance.
        chi_square = -2.0 * sum(np.log(uniforms(key(f"chi{i}"), days)) for i in range(_SHOCK_NU // 2))
        shock = normals(key("shock"), days) * np.sqrt((_SHOCK_NU - 2) / chi_square)
        return cls(
            normals(key("gap"), days).tolist(),
            shock.tolist(),
            np.log(uniforms(key("up"), days)).tolist(),
            np.log(uniforms(key("down"), days)).tolist(),
            normals(key("volume"), days).tolist(),
            normals(key("volatility"), days).tolist(),
        )


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

    def update(self, shock: float, own_shock: float) -> None:
        """Tomorrow's volatility from today's unit shock and a standard normal draw of its own."""
        self._state = (
            _VOL_PERSISTENCE * self._state
            + _VOL_FROM_SIZE * (abs(shock) - _MEAN_ABS_SHOCK)
            + self._leverage * shock
            + _VOL_OWN_SHOCK * own_shock
        )


class DayWalk:
    """The trading days of one instrument from the trading day `epoch` (days since 1970-01-01) on."""

    def __init__(self, instrument: Instrument, epoch: int) -> None:
        self.instrument = instrument
        self.epoch = epoch
        self._days: list[_Cached | None] = []
        # Days are generated in order, each from the state the one before left: one thread at a time.
        self._days_lock = threading.Lock()
        self._last_close: int | None = None
        self._last_session_end: int | None = None
        hours = instrument.hours
        # A full session's length (the longest in a week): a shorter session moves less.
        sessions = (hours.session_bounds(day_of_number(epoch + d)) for d in range(7))
        self._full_session = max(close - open_ for open_, close in filter(None, sessions))
        self._volatility = _Volatility(instrument.daily_volatility, _LEVERAGE[instrument.asset_class])

    def _tick(self, price: float) -> int:
        minmov = self.instrument.minmov
        return max(minmov, round(price / minmov) * minmov)

    def day(self, number: int) -> TickBar | None:
        """The whole trading day `number` (days since 1970-01-01): None before the epoch or on a day off.
        Generates every day up to it first (about 10 us a day)."""
        index = number - self.epoch
        if index < 0:
            return None
        if index >= len(self._days):
            with self._days_lock:
                while len(self._days) <= index:
                    first = len(self._days)
                    draws = _DayDraws.make(self.instrument.symbol, first, _DAY_CHUNK)
                    self._days.extend(self._next_day(first + i, draws, i) for i in range(_DAY_CHUNK))
        cached = self._days[index]
        return None if cached is None else TickBar._make(cached)

    def span(self, first: int, after: int) -> TickBar | None:
        """Trading days [first, after) merged, whole (weeks and months that have ended): None if none traded."""
        self.day(after - 1)
        days = [day for day in self._days[max(first - self.epoch, 0) : max(after - self.epoch, 0)] if day is not None]
        if not days:
            return None
        return TickBar(
            days[0][0],
            max(day[1] for day in days),
            min(day[2] for day in days),
            days[-1][3],
            sum(day[4] for day in days),
        )

    def ready(self, number: int) -> bool:
        """True when every trading day up to `number` is generated, so its bars are cheap."""
        return len(self._days) > number - self.epoch

    def _next_day(self, index: int, draws: _DayDraws, i: int) -> _Cached | None:
        """Trading day `index` (from the epoch) after the one before, from draws[i]."""
        inst = self.instrument
        session = inst.hours.session_bounds(day_of_number(self.epoch + index))
        if session is None:
            return None
        opens, closes = session
        sigma = self._volatility.sigma * math.sqrt((closes - opens) / self._full_session)
        base = math.log(inst.base_price * inst.pricescale)

        # The price gaps over a pause in trading (a night, a weekend), never between sessions that touch.
        pause = self._last_session_end is None or self._last_session_end < opens
        gap = inst.gap_ratio * sigma * draws.gap[i] if pause else 0.0
        if self._last_close is None:
            open_ = self._tick(math.exp(base))
        elif gap:
            open_ = self._tick(self._last_close * math.exp(gap))
        else:
            open_ = self._last_close
        log_open = math.log(open_)
        shock = draws.shock[i]
        move = -_MEAN_REVERSION * (log_open - base) + sigma * shock
        variance = sigma * sigma
        up = (move + math.sqrt(move * move - 2 * variance * draws.log_up[i])) / 2
        down = (move - math.sqrt(move * move - 2 * variance * draws.log_down[i])) / 2
        close = self._tick(math.exp(log_open + move))
        high = max(self._tick(math.exp(log_open + up)), open_, close)
        low = min(self._tick(math.exp(log_open + down)), open_, close)
        # Busy days are volatile days: volume rises with the size of the move.
        surprise = abs(move) / sigma
        volume = inst.daily_volume * inst.volume_scale * ((closes - opens) / DAY) ** 0.5 * (0.6 + 0.4 * surprise)
        volume *= math.exp(0.25 * draws.volume[i])
        self._volatility.update(shock, draws.volatility[i])

        self._last_close = close
        self._last_session_end = closes
        return (open_, high, low, close, max(1, round(volume)))


@cache
def day_walk(instrument: Instrument, epoch: int) -> DayWalk:
    """The process's one walk of `instrument` from `epoch` (instruments are few and fixed)."""
    return DayWalk(instrument, epoch)

"""Trades as a publisher posts them, and the rules a trade must meet to be applied (pure: no I/O).

Prices are counted in ticks (integer counts of 1/pricescale, a multiple of minmov: the instrument's tick grid),
sizes in volume units (integer counts of 1/10**volume_precision), times in UTC milliseconds. A trade is refused when
its price is above EXACT_LIMIT ticks or off the grid, its size above EXACT_LIMIT units or not a whole number of them,
or its time outside the window `check` is given: not before the forming 1-minute bar's start (`tape.Tape.floor`,
the clock read CLOSE_GRACE seconds late), at most FUTURE_TOLERANCE seconds past the clock.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from app.market.grid import grid_for
from app.market.instruments import Instrument
from app.market.resolutions import DAY, Resolution
from app.market.trading_hours import TradingHours, day_of_number

# Seconds a trade's time may lie ahead of the server's clock (publishers' clocks are not exactly the server's).
FUTURE_TOLERANCE = 2.0
# Seconds after its period's end that a bar closes by the clock alone: a trade stamped just before the end may still be
# on its way (a publisher's batch, the network). A trade of a later period closes it at once.
CLOSE_GRACE = 2.0
# Ticks and volume units above this are not exact as doubles (prices and volumes leave the server as JSON numbers).
EXACT_LIMIT = 2**53
Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True, eq=False)
class Posted:
    """Trades as a publisher posted them, in arrival order: symbols as given, prices and sizes as numbers in the
    instrument's units, times in UTC milliseconds."""

    symbols: Sequence[str]
    prices: Floats
    sizes: Floats
    times: Ints

    def __len__(self) -> int:
        return len(self.times)


class RefusedTradesError(Exception):
    """Trades of a batch that cannot be applied, so none of the batch is: per item index, per field, the messages
    (for a person)."""

    def __init__(self, problems: dict[int, dict[str, str]], count: int) -> None:
        self.problems = problems
        self.count = count
        super().__init__(f"{len(problems)} of {count} trades refused")


@dataclass(frozen=True, slots=True, eq=False)
class Trades:
    """One instrument's trades in the order they apply: `times` ascending (UTC ms), trades of equal time in arrival
    order; `ticks` prices in ticks, `units` sizes in volume units."""

    times: Ints
    ticks: Ints
    units: Ints

    @classmethod
    def in_order(cls, times: Ints, ticks: Ints, units: Ints) -> Trades:
        """The trades sorted by time, keeping arrival order among equal times."""
        order = apply_order(times)
        return cls(times[order], ticks[order], units[order])

    def __len__(self) -> int:
        return len(self.times)


@dataclass(frozen=True, slots=True)
class Overfill:
    """A bar that a trade would bring past EXACT_LIMIT volume units: its resolution, its bar time (UTC seconds) and
    the volume it would hold (volume units)."""

    resolution: Resolution
    stamp: int
    volume: int


# The trades (positions in the order they apply) that would overfill a bar, the finest such bar for each.
Overfills = Callable[[Trades], dict[int, Overfill]]


def apply_order(times: Ints) -> Ints:
    """The positions of trades in the order they apply: by time, arrival order among equal times (a stable sort)."""
    return np.argsort(times, kind="stable")


def period_end(hours: TradingHours, resolution: Resolution, stamp: int) -> int:
    """The end (UTC seconds) of the period of the bar of `resolution` stamped `stamp` (UTC seconds: an intraday bar's
    period start; 00:00 UTC of the first trading day of a daily, weekly or monthly one)."""
    grid = grid_for(hours, resolution)
    if resolution.is_intraday:
        return grid.bounds(grid.index(stamp))[1]
    return grid.bounds(grid.index(hours.day_start(day_of_number(stamp // DAY))))[1]


def check(
    instrument: Instrument, floor: int, now: float, posted: Posted, indexes: Ints, overfills: Overfills
) -> tuple[Trades, dict[int, dict[str, str]]]:
    """The trades of `posted` at `indexes` (one instrument's, in arrival order) in ticks and volume units, in the order
    they apply; and what is wrong with each that breaks a rule (by index, by field): a price above EXACT_LIMIT ticks
    or off the tick grid, a size above EXACT_LIMIT volume units or with more decimals than the instrument's volume
    precision, a time before `floor` (UTC ms, the forming minute's start) or more than FUTURE_TOLERANCE seconds after
    `now` (UTC seconds). When each trade keeps those rules, a trade that would bring a bar past EXACT_LIMIT volume
    units (`overfills`, the instrument's bars as they stand)."""
    prices, sizes, times = posted.prices[indexes], posted.sizes[indexes], posted.times[indexes]
    scale, volume_scale = instrument.pricescale, instrument.volume_scale
    ticks, price_too_large = _counted(prices, scale)
    units, size_too_large = _counted(sizes, volume_scale)
    on_grid = ~price_too_large & (ticks / scale == prices)
    on_grid &= np.where(on_grid, ticks, 0).astype(np.int64) % instrument.minmov == 0
    whole = ~size_too_large & (units / volume_scale == sizes) & (units >= 1)
    latest = int((now + FUTURE_TOLERANCE) * 1000)
    problems: dict[int, dict[str, str]] = {}
    symbol = instrument.symbol
    tick = f"{Decimal(instrument.minmov) / scale} (minmov {instrument.minmov} / pricescale {scale})"
    unit = f"{Decimal(1) / volume_scale} (volume_precision {instrument.volume_precision})"
    for at in np.flatnonzero(~on_grid | ~whole | (times < floor) | (times > latest)).tolist():
        found = problems.setdefault(int(indexes[at]), {})
        if price_too_large[at]:
            found["price"] = f"{float(prices[at])!r} is too large for {symbol}: at most {largest_price(instrument)}"
        elif not on_grid[at]:
            found["price"] = f"{float(prices[at])!r} is not on the tick grid of {symbol}: multiples of {tick}"
        if size_too_large[at]:
            found["size"] = f"{float(sizes[at])!r} is too large for {symbol}: at most {largest_size(instrument)}"
        elif not whole[at]:
            found["size"] = f"{float(sizes[at])!r} is not a whole number of {symbol}'s volume units of {unit}"
        when = int(times[at])
        if when < floor:
            found["time"] = (
                f"{when} ({_iso(when)}) is older than the forming 1-minute bar of {symbol}, which began at "
                f"{_iso(floor)}: the bars before it are closed"
            )
        elif when > latest:
            found["time"] = (
                f"{when} ({_iso(when)}) is more than {FUTURE_TOLERANCE:g} s ahead of the server's clock "
                f"({_iso(int(now * 1000))})"
            )
    # Counts of a number too large are left out (0): no cast overflows.
    fit = ~price_too_large & ~size_too_large
    order = apply_order(times)
    trades = Trades(
        times[order], np.where(fit, ticks, 0)[order].astype(np.int64), np.where(fit, units, 0)[order].astype(np.int64)
    )
    if not problems:
        for position, overfill in overfills(trades).items():
            at = int(order[position])
            problems[int(indexes[at])] = {
                "size": f"{float(sizes[at])!r} would bring the volume of {symbol}'s bar at resolution "
                f"{overfill.resolution} ({_iso(overfill.stamp * 1000)}) to "
                f"{_decimal(overfill.volume, volume_scale)}: a bar holds at most {largest_size(instrument)}"
            }
    return trades, problems


def largest_price(instrument: Instrument) -> str:
    """The largest price on `instrument`'s tick grid within EXACT_LIMIT ticks, with the limit: `90,071,992,547,409.92
    (2**53 ticks of 0.01)`."""
    scale = instrument.pricescale
    largest = EXACT_LIMIT // instrument.minmov * instrument.minmov
    return f"{_decimal(largest, scale)} (2**53 ticks of {_decimal(1, scale)})"


def largest_size(instrument: Instrument) -> str:
    """EXACT_LIMIT volume units in `instrument`'s units, with the limit: `900,719,925,474.0992 (2**53 volume units
    of 0.0001)`."""
    scale = instrument.volume_scale
    return f"{_decimal(EXACT_LIMIT, scale)} (2**53 volume units of {_decimal(1, scale)})"


def _counted(numbers: Floats, scale: int) -> tuple[Floats, npt.NDArray[np.bool_]]:
    """`numbers` (positive) in whole counts of 1/`scale` (the nearest, as doubles), and whether each is more than
    EXACT_LIMIT of them (its count then 0)."""
    # Compared before scaling: a huge number times the scale would overflow to infinity.
    huge = numbers > 2 * EXACT_LIMIT / scale
    counts = np.rint(np.where(huge, 0.0, numbers) * scale)
    return counts, huge | (counts > EXACT_LIMIT)


def _decimal(count: int, scale: int) -> str:
    """`count / scale` written out in full, thousands grouped: `90,071,992,547,409.92`."""
    return f"{Decimal(count) / scale:,f}"


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")

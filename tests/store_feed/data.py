"""Known bars for the stored feed's tests, and the aggregates they must give, re-computed the plain way.

ACME is a NASDAQ-like stock (0930-1600 New York) stored at 1 minute for three trading days around the 2024 spring
daylight-saving change, from 08:00 to 17:30 local time (so half its minutes are outside the session), a few minutes
missing, and at 1 day from December 2023 to March 2024 (the NYSE holidays left out, as an export has them).
FXAB is a forex pair (1700-1700:23456 New York) stored at 1 minute only, every 7 minutes across a weekend, so its
days and weeks are made of minutes. The re-computation below works on wall-clock times with `zoneinfo`, one bar at
a time, without the code under test.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import holidays
import numpy as np
import numpy.typing as npt

from app.market.instruments import AssetClass
from app.market.resolutions import Resolution
from app.store.base import BarRows, BarStore, InstrumentSpec

NEW_YORK = ZoneInfo("America/New_York")
ACME = InstrumentSpec(
    "ACME", AssetClass.STOCK, "NASDAQ", "America/New_York", "0930-1600", "Acme Corporation", pricescale=100
)
FXAB = InstrumentSpec(
    "FXAB", AssetClass.FOREX, "FX", "America/New_York", "1700-1700:23456", "Alpha / Beta", pricescale=10_000
)
DAILY_ONLY = InstrumentSpec(
    "DAYS", AssetClass.STOCK, "NYSE", "America/New_York", "0930-1600", "Daily Bars Inc.", pricescale=100
)
ACME_MINUTE_DAYS = (date(2024, 3, 8), date(2024, 3, 11), date(2024, 3, 12))
Row = tuple[int, int, int, int, int, float]
Bar = dict[str, Any]


def _rows(times: list[int], seed: int, base: int, whole_volumes: bool) -> list[Row]:
    """Consistent OHLCV rows at `times` (ticks around `base`)."""
    rng = np.random.default_rng(seed)
    rows = []
    price = base
    for t in times:
        opens = price + int(rng.integers(-5, 6))
        closes = opens + int(rng.integers(-30, 31))
        highs = max(opens, closes) + int(rng.integers(0, 12))
        lows = min(opens, closes) - int(rng.integers(0, 12))
        volume = float(rng.integers(1, 5000)) if whole_volumes else round(float(rng.random() * 1000), 3)
        rows.append((t, opens, highs, lows, closes, volume))
        price = closes
    return rows


def _local(day: date, hour: int, minute: int = 0) -> int:
    return int(datetime.combine(day, time(hour, minute), NEW_YORK).timestamp())


def acme_minutes() -> list[Row]:
    times = []
    for day in ACME_MINUTE_DAYS:
        start = _local(day, 8)
        # 08:00 to 17:29 local, without 10:10-10:14 (a quiet spell leaves no bars).
        times += [start + 60 * k for k in range(570) if not 130 <= k < 135]
    return _rows(times, seed=1, base=18_000, whole_volumes=True)


def acme_days() -> list[Row]:
    closed = holidays.financial_holidays("NYSE", years=(2023, 2024))
    days = []
    day = date(2023, 12, 1)
    while day <= date(2024, 3, 12):
        if day.weekday() < 5 and day not in closed:
            days.append(int(datetime.combine(day, time(), UTC).timestamp()))
        day += timedelta(days=1)
    return _rows(days, seed=2, base=17_000, whole_volumes=True)


def fxab_minutes() -> list[Row]:
    # Thursday 2024-11-07 12:00 to Tuesday 2024-11-12 12:00 New York, every 7 minutes, skipping the weekend's
    # closed hours (Friday 17:00 to Sunday 17:00): the Sunday evening belongs to Monday's trading day.
    start, end = _local(date(2024, 11, 7), 12), _local(date(2024, 11, 12), 12)
    friday_close, sunday_open = _local(date(2024, 11, 8), 17), _local(date(2024, 11, 10), 17)
    times = [t for t in range(start, end, 420) if not friday_close <= t < sunday_open]
    return _rows(times, seed=3, base=11_000, whole_volumes=False)


def bar_rows(rows: list[Row]) -> BarRows:
    times, opens, highs, lows, closes, volumes = zip(*rows, strict=True)

    def ticks(column: tuple[int, ...]) -> npt.NDArray[np.int64]:
        return np.array(column, dtype=np.int64)

    return BarRows(ticks(times), ticks(opens), ticks(highs), ticks(lows), ticks(closes), np.array(volumes, dtype=float))


def rows_of(rows: BarRows) -> list[Row]:
    """Columns of bars as rows."""
    columns = (rows.times, rows.opens, rows.highs, rows.lows, rows.closes)
    return [
        (int(t), int(o), int(h), int(low), int(c), float(v))
        for t, o, h, low, c, v in zip(*(column.tolist() for column in columns), rows.volumes.tolist(), strict=True)
    ]


def fill(store: BarStore) -> None:
    """Put ACME, FXAB and DAYS into `store`."""
    for spec in (ACME, FXAB, DAILY_ONLY):
        store.put_instrument(spec)
    store.write_bars("ACME", Resolution.M1, bar_rows(acme_minutes()))
    store.write_bars("ACME", Resolution.DAY, bar_rows(acme_days()))
    store.write_bars("FXAB", Resolution.M1, bar_rows(fxab_minutes()))
    store.write_bars("DAYS", Resolution.DAY, bar_rows(acme_days()[-30:]))


def as_bars(rows: list[Row], pricescale: int) -> list[Bar]:
    """Rows as `/bars` serves them (time in ms, prices divided by the pricescale)."""
    return [
        {
            "time": t * 1000,
            "open": o / pricescale,
            "high": h / pricescale,
            "low": low / pricescale,
            "close": c / pricescale,
            "volume": v,
        }
        for t, o, h, low, c, v in rows
    ]


# The plain re-computation: a key and a stamp per row, then first open, max high, min low, last close, sum.


def _trading_day(spec: InstrumentSpec, t: int) -> date:
    local = datetime.fromtimestamp(t, NEW_YORK)
    # The forex day begins at 17:00 the evening before.
    return (local + timedelta(hours=7)).date() if spec.asset_class is AssetClass.FOREX else local.date()


def _period_start(spec: InstrumentSpec, t: int, minutes: int) -> int:
    """The start of the `minutes`-long period holding `t`: on the grid through the session open (09:30, or 17:00
    the evening before), cut at the trading day's start."""
    day = _trading_day(spec, t)
    if spec.asset_class is AssetClass.FOREX:
        anchor = day_start = _local(day - timedelta(days=1), 17)
    else:
        anchor, day_start = _local(day, 9, 30), _local(day, 0)
    return max(day_start, anchor + (t - anchor) // (60 * minutes) * 60 * minutes)


def _utc_midnight(day: date) -> int:
    return int(datetime.combine(day, time(), UTC).timestamp())


def _stored_day(t: int) -> date:
    return datetime.fromtimestamp(t, UTC).date()


def _key_and_stamp(spec: InstrumentSpec, t: int, resolution: str, daily_rows: bool) -> tuple[Any, int]:
    """Which bar of `resolution` the row at `t` belongs to, and that bar's time (UTC seconds)."""
    if resolution not in ("1D", "1W", "1M"):
        start = _period_start(spec, t, int(resolution))
        return start, start
    day = _stored_day(t) if daily_rows else _trading_day(spec, t)
    # A week's or month's bar is stamped with its first trading day by the calendar, whichever days have rows.
    if resolution == "1W":
        return day.isocalendar()[:2], _utc_midnight(_first_trading_day(spec, day - timedelta(days=day.weekday()), 7))
    if resolution == "1M":
        first = day.replace(day=1)
        length = ((first + timedelta(days=31)).replace(day=1) - first).days
        return (day.year, day.month), _utc_midnight(_first_trading_day(spec, first, length))
    return day, _utc_midnight(day)


def _first_trading_day(spec: InstrumentSpec, first: date, length: int) -> date:
    """The first of the `length` days from `first` on that has a session: a weekday (both sessions here trade
    Monday to Friday), for a stock not an NYSE holiday; `first` when none has."""
    closed = holidays.financial_holidays("NYSE", years=(first.year, first.year + 1))
    for day in (first + timedelta(days=k) for k in range(length)):
        if day.weekday() < 5 and not (spec.asset_class is AssetClass.STOCK and day in closed):
            return day
    return first


def expected(spec: InstrumentSpec, rows: list[Row], resolution: str, *, daily_rows: bool = False) -> list[Bar]:
    """The bars of `resolution` that `rows` (minute rows, or daily ones with `daily_rows`) make."""
    groups: defaultdict[Any, list[Row]] = defaultdict(list)
    stamps: dict[Any, int] = {}
    for row in rows:
        key, stamp = _key_and_stamp(spec, row[0], resolution, daily_rows)
        groups[key].append(row)
        stamps.setdefault(key, stamp)
    merged = [
        (
            stamps[key],
            group[0][1],
            max(row[2] for row in group),
            min(row[3] for row in group),
            group[-1][4],
            sum(row[5] for row in group),
        )
        for key, group in groups.items()
    ]
    return as_bars(sorted(merged), spec.pricescale)

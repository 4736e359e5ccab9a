"""Exact aggregation onto a coarser grid: which stored resolution serves which, nesting, and the rows a request
needs (properties over random bars of several sessions, daylight saving changes included)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.market.aggregate import TickColumns, aggregate, nests, served, source_for, source_span
from app.market.grid import grid_for
from app.market.resolutions import DAY, Resolution
from app.market.sessions import trading_hours
from app.market.trading_hours import TradingHours

R = Resolution
SESSIONS = [
    trading_hours("0930-1600", "America/New_York"),
    trading_hours("1700-1700:23456", "America/New_York"),
    trading_hours("24x7", "Etc/UTC"),
    trading_hours("0930-1200,1300-1600", "Asia/Hong_Kong"),
]
# 2024-03-01 to 2024-04-10 UTC: the spring daylight saving change of New York inside.
SPAN = (1_709_251_200, 1_712_707_200)


def test_which_stored_resolution_serves_which() -> None:
    assert source_for([R.M1, R.DAY], R.H1) is R.M1
    assert source_for([R.M1, R.M5, R.DAY], R.H4) is R.M5
    assert source_for([R.M1, R.DAY], R.WEEK) is R.DAY
    assert source_for([R.M1, R.WEEK], R.MONTH) is R.M1
    assert source_for([R.WEEK], R.MONTH) is None
    assert source_for([R.H1], R.M5) is None
    assert served([R.H1]) == (R.H1, R.H4, R.DAY, R.WEEK, R.MONTH)
    assert served([R.WEEK]) == (R.WEEK,)
    assert served([R.DAY]) == (R.DAY, R.WEEK, R.MONTH)
    assert not nests(R.DAY, R.H4)


@st.composite
def minute_bars(draw: st.DrawFn) -> tuple[TradingHours, TickColumns]:
    """A session and random one-minute bars on it: sparse, over weeks, at any time of day."""
    hours = draw(st.sampled_from(SESSIONS))
    count = draw(st.integers(1, 400))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    minutes = np.unique(rng.integers(SPAN[0] // 60, SPAN[1] // 60, count))
    opens = rng.integers(9_000, 11_000, len(minutes))
    closes = rng.integers(9_000, 11_000, len(minutes))
    highs = np.maximum(opens, closes) + rng.integers(0, 50, len(minutes))
    lows = np.minimum(opens, closes) - rng.integers(0, 50, len(minutes))
    volumes = rng.integers(0, 1000, len(minutes)).astype(np.float64)
    return hours, TickColumns(minutes * 60, opens, highs, lows, closes, volumes)


def same(first: TickColumns, second: TickColumns) -> bool:
    fields = ("times", "opens", "highs", "lows", "closes", "volumes")
    return all(np.array_equal(getattr(first, name), getattr(second, name)) for name in fields)


@pytest.mark.parametrize(
    ("finer", "middle", "coarser"),
    [(R.M1, R.M5, R.H1), (R.M1, R.M30, R.H4), (R.M1, R.H4, R.DAY), (R.M1, R.DAY, R.WEEK), (R.M1, R.DAY, R.MONTH)],
)
@settings(max_examples=40, deadline=None)
@given(bars=minute_bars())
def test_aggregates_nest(bars: tuple[TradingHours, TickColumns], finer: R, middle: R, coarser: R) -> None:
    """A coarse bar made of the middle bars is the coarse bar made of the fine ones: the periods nest."""
    hours, minutes = bars
    direct = aggregate(hours, finer, coarser, minutes)
    assert same(aggregate(hours, middle, coarser, aggregate(hours, finer, middle, minutes)), direct)
    assert int(direct.volumes.sum()) == int(minutes.volumes.sum())


@pytest.mark.parametrize("target", [R.WEEK, R.MONTH])
@settings(max_examples=40, deadline=None)
@given(bars=minute_bars())
def test_weeks_and_months_are_stamped_at_their_first_trading_day_by_the_calendar(
    bars: tuple[TradingHours, TickColumns], target: R
) -> None:
    """A week's or month's bar is stamped where the grid (and the importer) stamps its period, whichever of its days
    have data: earlier rows imported later never move it."""
    hours, minutes = bars
    grid = grid_for(hours, target)
    stamps = sorted({grid.stamp(grid.index(t)) for t in minutes.times.tolist()})
    assert aggregate(hours, R.M1, target, minutes).times.tolist() == stamps
    days = aggregate(hours, R.M1, R.DAY, minutes)
    assert aggregate(hours, R.DAY, target, days).times.tolist() == stamps


@pytest.mark.parametrize("target", [R.M15, R.H1, R.H4, R.DAY, R.WEEK, R.MONTH])
@settings(max_examples=40, deadline=None)
@given(bars=minute_bars(), cut=st.tuples(st.integers(*SPAN), st.integers(0, 20 * DAY)))
def test_a_requests_rows_make_exactly_its_bars(
    bars: tuple[TradingHours, TickColumns], cut: tuple[int, int], target: R
) -> None:
    """The rows `source_span` names make the bars stamped in [start, end) exactly as all the rows do."""
    hours, minutes = bars
    start, end = cut[0], cut[0] + cut[1]
    lo, hi = source_span(hours, R.M1, target, start, end)
    wanted = aggregate(hours, R.M1, target, minutes).between(start, end)
    assert same(aggregate(hours, R.M1, target, minutes.between(lo, hi)).between(start, end), wanted)


def test_bars_outside_the_session_fall_on_the_grid_extended_through_the_day() -> None:
    hours = trading_hours("0930-1600", "America/New_York")
    # 2024-03-08 (EST): 08:05, 09:29, 09:30, 16:10 New York.
    times = np.array([1709903100, 1709908140, 1709908200, 1709932200], dtype=np.int64)
    ticks = np.array([100, 101, 102, 103], dtype=np.int64)
    bars = TickColumns(times, ticks, ticks + 5, ticks - 5, ticks + 1, np.array([1.0, 2.0, 3.0, 4.0]))
    hourly = aggregate(hours, R.M1, R.H1, bars)
    # 07:30, 08:30, 09:30, 15:30 New York.
    assert hourly.times.tolist() == [1709901000, 1709904600, 1709908200, 1709929800]
    four_hourly = aggregate(hours, R.M1, R.H4, bars)
    # 05:30-09:30 holds 08:05 and 09:29; 09:30-13:30; 13:30-17:30 holds 16:10.
    assert four_hourly.times.tolist() == [1709893800, 1709908200, 1709922600]
    assert four_hourly.opens.tolist() == [100, 102, 103]
    assert four_hourly.closes.tolist() == [102, 103, 104]
    assert four_hourly.volumes.tolist() == [3.0, 3.0, 4.0]
    daily = aggregate(hours, R.M1, R.DAY, bars)
    assert (daily.times.tolist(), daily.highs.tolist(), daily.lows.tolist()) == ([1709856000], [108], [95])

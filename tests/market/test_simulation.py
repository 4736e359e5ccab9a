"""Properties of the market simulation: invariants, determinism, one price path, history depth."""

from __future__ import annotations

import itertools
import json
import math
import subprocess
import sys
from datetime import UTC, datetime

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.market.bars import Bar, TickBar, merge
from app.market.grid import Grid, grid_for
from app.market.instruments import INSTRUMENTS, AssetClass, Instrument
from app.market.resolutions import DAY, Resolution
from app.market.simulation import HISTORY_EPOCH, SimulatedFeed
from app.market.subdivide import Segments, subdivide
from tests.conftest import FROZEN_NOW

SYMBOLS = [i.symbol for i in INSTRUMENTS]
INTRADAY = [r for r in Resolution if r.is_intraday]
FEED = SimulatedFeed(clock=lambda: FROZEN_NOW)
# Times at which every resolution has history, stepped far enough back to cover closed periods.
intraday_times = st.integers(FEED.history_start(Resolution.M1) + DAY, FROZEN_NOW)
any_times = st.integers(HISTORY_EPOCH + 40 * DAY, FROZEN_NOW)


def instrument(symbol: str) -> Instrument:
    found = FEED.instrument(symbol)
    assert found is not None
    return found


def as_ticks(bar: Bar, inst: Instrument) -> TickBar:
    """A bar back in integer ticks, asserting every price sits on the instrument's grid."""
    ticks = []
    for price in (bar.open, bar.high, bar.low, bar.close):
        scaled = price * inst.pricescale
        assert math.isclose(scaled, round(scaled), abs_tol=1e-6), (price, inst.symbol)
        assert round(scaled) % inst.minmov == 0
        ticks.append(round(scaled))
    volume = round(bar.volume * inst.volume_scale)
    assert math.isclose(volume, bar.volume * inst.volume_scale, abs_tol=1e-6)
    return TickBar(ticks[0], ticks[1], ticks[2], ticks[3], volume)


def bars_between(symbol: str, resolution: Resolution, start: int, end: int, feed: SimulatedFeed = FEED) -> list[Bar]:
    return feed.history(symbol, resolution, start, end, 0).bars


def merged(bars: list[Bar], inst: Instrument) -> TickBar | None:
    return merge(as_ticks(b, inst) for b in bars)


def grid(symbol: str, resolution: Resolution) -> Grid:
    return grid_for(instrument(symbol).hours, resolution)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(symbol=st.sampled_from(SYMBOLS), resolution=st.sampled_from(list(Resolution)), at=any_times)
def test_bars_keep_ohlc_invariants_on_the_tick_grid(symbol: str, resolution: Resolution, at: int) -> None:
    inst = instrument(symbol)
    history = FEED.history(symbol, resolution, at, at + 1, 40)
    for bar in history.bars:
        ticks = as_ticks(bar, inst)
        assert ticks.low <= min(ticks.open, ticks.close) <= max(ticks.open, ticks.close) <= ticks.high
        assert ticks.low > 0
        assert ticks.volume >= 0
        start = bar.time // 1000
        periods = grid(symbol, resolution)
        assert periods.stamp(periods.first_at_or_after(start)) == start, "bars are stamped as their periods"
    times = [b.time for b in history.bars]
    assert times == sorted(set(times))


def closed_periods(resolutions: list[Resolution], since: int) -> st.SearchStrategy[tuple[str, Resolution, int]]:
    """A symbol, a resolution and one of its closed periods that lies wholly after `since`."""

    def periods(symbol: str, resolution: Resolution) -> st.SearchStrategy[tuple[str, Resolution, int]]:
        # A day after `since`: a forex trading day begins the evening before its date.
        periods = grid(symbol, resolution)
        first, last = periods.first_at_or_after(since + DAY), periods.index(FROZEN_NOW) - 1
        # The numbers past a trading day's last period name empty periods, which hold no bar.
        indices = st.integers(first, last).filter(lambda i: len(set(periods.bounds(i))) == 2)
        return st.tuples(st.just(symbol), st.just(resolution), indices)

    return st.tuples(st.sampled_from(SYMBOLS), st.sampled_from(resolutions)).flatmap(lambda pair: periods(*pair))


# Every example checks a whole period (a month is 44,640 minutes), so fewer are needed than before.
@settings(max_examples=40, deadline=None)
@given(period=closed_periods([r for r in Resolution if r is not Resolution.M1], FEED.history_start(Resolution.M1)))
def test_every_resolution_is_the_aggregate_of_its_minutes(period: tuple[str, Resolution, int]) -> None:
    """Periods are drawn whole and inside minute history, so every example compares a bar with its minutes."""
    symbol, resolution, index = period
    inst = instrument(symbol)
    periods = grid(symbol, resolution)
    stamp = periods.stamp(index)
    bars = bars_between(symbol, resolution, stamp, stamp + 1)
    minutes = bars_between(symbol, Resolution.M1, *periods.bounds(index))
    # A period with no minute (the market closed throughout) has no bar either.
    assert [as_ticks(bar, inst) for bar in bars] == ([merged(minutes, inst)] if minutes else [])


@settings(max_examples=40, deadline=None)
@given(symbol=st.sampled_from(SYMBOLS), resolution=st.sampled_from([Resolution.WEEK, Resolution.MONTH]), at=any_times)
def test_weeks_and_months_are_the_aggregate_of_their_days(symbol: str, resolution: Resolution, at: int) -> None:
    inst = instrument(symbol)
    periods = grid(symbol, resolution)
    index = periods.index(at)
    start, end = periods.stamp(index), periods.stamp(index + 1)
    [bar] = bars_between(symbol, resolution, start, start + 1)
    days = bars_between(symbol, Resolution.DAY, start, end)
    assert as_ticks(bar, inst) == merged(days, inst)


@pytest.mark.parametrize("symbol", ["AAPL", "EURUSD", "BTCUSD"])
def test_weekly_and_monthly_bars_are_stamped_at_00_00_utc_of_their_first_daily_bar(symbol: str) -> None:
    for resolution, days_back in ((Resolution.WEEK, 200), (Resolution.MONTH, 800)):
        bars = FEED.history(symbol, resolution, FROZEN_NOW - days_back * DAY, FROZEN_NOW, 0).bars
        assert len(bars) > 20
        for bar, following in itertools.pairwise(bars):
            days = bars_between(symbol, Resolution.DAY, bar.time // 1000, following.time // 1000)
            assert days[0].time == bar.time
            moment = datetime.fromtimestamp(bar.time / 1000, UTC)
            assert (moment.hour, moment.minute, moment.weekday() < 5 or symbol == "BTCUSD") == (0, 0, True)


def test_aapls_february_2026_bar_is_stamped_monday_2_february() -> None:
    [february] = FEED.history("AAPL", Resolution.MONTH, 1_769_904_000, 1_772_323_200, 0).bars  # Feb 1 to Mar 1
    assert february.time == 1_769_990_400_000  # 2026-02-02T00:00:00Z


def test_independent_feeds_agree_whatever_order_they_are_asked_in() -> None:
    recent_first = SimulatedFeed(clock=lambda: FROZEN_NOW)
    oldest_first = SimulatedFeed(clock=lambda: FROZEN_NOW)
    oldest_first.history("ETHUSD", Resolution.DAY, HISTORY_EPOCH, HISTORY_EPOCH + 30 * DAY, 0)
    for resolution in Resolution:
        a = recent_first.history("ETHUSD", resolution, FROZEN_NOW - 3 * DAY, FROZEN_NOW, 50).bars
        b = oldest_first.history("ETHUSD", resolution, FROZEN_NOW - 3 * DAY, FROZEN_NOW, 50).bars
        assert a == b
        assert len(a) >= 50


def test_bars_are_the_same_in_another_process() -> None:
    script = (
        "import json;from app.market.simulation import SimulatedFeed;from app.market.resolutions import Resolution;"
        f"f=SimulatedFeed(clock=lambda:{FROZEN_NOW});"
        f"print(json.dumps([[b.time,b.open,b.high,b.low,b.close,b.volume] for r in Resolution "
        f"for b in f.history('TSLA',r,{FROZEN_NOW - 2 * DAY},{FROZEN_NOW},5).bars]))"
    )
    output = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    here = [
        [b.time, b.open, b.high, b.low, b.close, b.volume]
        for r in Resolution
        for b in FEED.history("TSLA", r, FROZEN_NOW - 2 * DAY, FROZEN_NOW, 5).bars
    ]
    assert json.loads(output) == here


def test_the_forming_bar_grows_into_the_closed_bar() -> None:
    """The bar as it stands just before its period ends equals the closed bar served afterwards."""
    start = grid("BTCUSD", Resolution.M5).stamp(grid("BTCUSD", Resolution.M5).index(FROZEN_NOW))
    clock = [float(start + 10)]
    feed = SimulatedFeed(clock=lambda: clock[0])
    early = feed.live_bar("BTCUSD", Resolution.M5)
    clock[0] = start + 300 - 0.5
    last_update = feed.live_bar("BTCUSD", Resolution.M5)
    clock[0] = start + 900
    [closed] = feed.history("BTCUSD", Resolution.M5, start, start + 1, 0).bars
    assert early is not None
    assert last_update is not None
    assert last_update == closed
    assert early.time == closed.time
    assert early.open == closed.open
    assert closed.low <= early.low
    assert early.high <= closed.high
    assert early.volume <= closed.volume


@pytest.mark.parametrize("symbol", ["BTCUSD", "AAPL"])
@pytest.mark.parametrize("resolution", [r for r in Resolution if r is not Resolution.M1])
def test_the_forming_bar_is_the_aggregate_of_the_finer_bars_so_far(symbol: str, resolution: Resolution) -> None:
    """History up to now ends with the forming bar: the minutes (days, for 1W and 1M) of its period so far."""
    # 21 minutes into an hour, so every forming bar already spans several closed finer bars.
    now = FROZEN_NOW + 21 * 60 + 4
    feed = SimulatedFeed(clock=lambda: now)
    inst = instrument(symbol)
    periods = grid(symbol, resolution)
    index = periods.index(now)
    start = periods.stamp(index)
    [forming] = bars_between(symbol, resolution, start, now + DAY, feed)
    if resolution in (Resolution.WEEK, Resolution.MONTH):
        parts = bars_between(symbol, Resolution.DAY, start, now + 1, feed)
    else:
        parts = bars_between(symbol, Resolution.M1, periods.bounds(index)[0], now + 1, feed)
    assert forming.time == start * 1000
    assert len(parts) > 1
    assert as_ticks(forming, inst) == merged(parts, inst)


def test_history_depth_and_no_data_before_it() -> None:
    ten_years = FROZEN_NOW - 10 * 365 * DAY
    for resolution in (Resolution.DAY, Resolution.WEEK, Resolution.MONTH):
        first = FEED.history("BTCUSD", resolution, 0, HISTORY_EPOCH + 40 * DAY, 0).bars[0]
        assert first.time // 1000 <= ten_years
        assert FEED.history("BTCUSD", resolution, 0, HISTORY_EPOCH, 10).no_data
    depths = {Resolution.M1: 60, Resolution.M5: 180, Resolution.M15: 180}
    for resolution in INTRADAY:
        start = FEED.history_start(resolution)
        assert start <= FROZEN_NOW - depths.get(resolution, 730) * DAY
        earliest = FEED.history("BTCUSD", resolution, start, start + DAY, 0).bars[0]
        assert earliest.time // 1000 == start
        before = FEED.history("BTCUSD", resolution, start - 10 * DAY, start, 100)
        assert before.no_data
        assert before.bars == []


@pytest.mark.parametrize("resolution", [Resolution.M30, Resolution.H1, Resolution.H4])
def test_a_stock_has_two_years_of_30_to_240_minute_bars(resolution: Resolution) -> None:
    """A chart's first request at 60 minutes is 300 bars: 60 days of a stock's sessions held only 294."""
    history = FEED.history("AAPL", resolution, FROZEN_NOW - 2 * 365 * DAY, FROZEN_NOW, 0)
    sessions_in_two_years = 2 * 250
    assert len(history.bars) >= sessions_in_two_years * math.ceil(6.5 * 3600 / resolution.seconds)
    assert history.bars[0].time // 1000 < FROZEN_NOW - 729 * DAY


@pytest.mark.parametrize(("resolution", "page"), [(Resolution.DAY, 1000), (Resolution.H1, 400), (Resolution.WEEK, 200)])
def test_paging_back_with_count_back_ends_in_no_data(resolution: Resolution, page: int) -> None:
    seen: list[Bar] = []
    end = FROZEN_NOW + 1
    for _ in range(100):
        history = FEED.history("EURUSD", resolution, end, end, page)
        if history.no_data:
            break
        assert len(history.bars) <= page
        assert all(b.time // 1000 < end for b in history.bars)
        seen = history.bars + seen
        end = history.bars[0].time // 1000
    else:
        pytest.fail("paging never reached no_data")
    times = [b.time for b in seen]
    assert times == sorted(set(times))
    assert times[0] // 1000 >= FEED.history_start(resolution)
    assert seen == FEED.history("EURUSD", resolution, 0, FROZEN_NOW + 1, 0).bars


def test_prices_gap_only_over_a_pause_in_trading() -> None:
    """A day opens where the day before closed when their sessions touch (crypto every day, forex from Monday to
    Friday); a stock opens away from the last close after its night, and forex after its weekend, now and then."""
    days = FEED.history("BTCUSD", Resolution.DAY, FROZEN_NOW - 400 * DAY, FROZEN_NOW, 0).bars
    assert all(after.open == before.close for before, after in itertools.pairwise(days))
    forex = FEED.history("EURUSD", Resolution.DAY, FROZEN_NOW - 400 * DAY, FROZEN_NOW, 0).bars
    continued: dict[bool, list[bool]] = {True: [], False: []}  # by whether the day is a Monday
    for before, after in itertools.pairwise(forex):
        monday = datetime.fromtimestamp(after.time / 1000, UTC).weekday() == 0
        continued[monday].append(after.open == before.close)
    assert all(continued[False])
    assert continued[True].count(False) > len(continued[True]) / 2
    stock = FEED.history("AAPL", Resolution.DAY, FROZEN_NOW - 400 * DAY, FROZEN_NOW, 0).bars
    overnight = [after.open == before.close for before, after in itertools.pairwise(stock)]
    assert overnight.count(False) > len(overnight) / 2


def test_trading_hours_differ_by_asset_class() -> None:
    saturday = FROZEN_NOW - FROZEN_NOW % DAY + 3 * DAY  # FROZEN_NOW is a Wednesday in November (EST, UTC-5)
    week_ago = saturday - 7 * DAY
    sunday_17_00_new_york = week_ago + DAY + 22 * 3600
    for inst in INSTRUMENTS:
        weekend = [b.time // 1000 for b in bars_between(inst.symbol, Resolution.H1, week_ago, week_ago + 2 * DAY)]
        if inst.asset_class is AssetClass.CRYPTO:
            assert len(weekend) == 48
        elif inst.asset_class is AssetClass.FOREX:
            assert weekend == [sunday_17_00_new_york, sunday_17_00_new_york + 3600]
        else:
            assert weekend == []
    wednesday = FROZEN_NOW - FROZEN_NOW % DAY - 7 * DAY
    stock_hours = [b.time // 1000 - wednesday for b in bars_between("AAPL", Resolution.H1, wednesday, wednesday + DAY)]
    assert stock_hours == [14 * 3600 + 1800 + k * 3600 for k in range(7)]  # 09:30 to 15:30 New York
    assert len(bars_between("EURUSD", Resolution.H1, wednesday, wednesday + DAY)) == 24


def test_asset_classes_have_their_own_volatility() -> None:
    def realised(symbol: str) -> float:
        days = bars_between(symbol, Resolution.DAY, FROZEN_NOW - 720 * DAY, FROZEN_NOW - DAY)
        returns = [math.log(b.close / a.close) for a, b in itertools.pairwise(days)]
        return math.sqrt(sum(r * r for r in returns) / len(returns))

    forex = max(realised(s) for s in ("EURUSD", "GBPUSD", "USDJPY"))
    stocks = [realised(s) for s in ("AAPL", "MSFT", "GOOGL")]
    crypto = min(realised(s) for s in ("BTCUSD", "ETHUSD"))
    assert forex < min(stocks)
    assert max(stocks) < crypto


@settings(max_examples=300, deadline=None)
@given(
    parents=st.lists(
        st.tuples(st.lists(st.integers(1, 10_000_000), min_size=4, max_size=4), st.integers(0, 10**12)),
        min_size=1,
        max_size=6,
    ),
    weights=st.lists(st.lists(st.floats(0.01, 10), min_size=1, max_size=60), min_size=6, max_size=6),
    key=st.integers(0, 2**64 - 1),
    minmov=st.sampled_from([1, 5]),
)
def test_subdivided_bars_aggregate_exactly_to_their_parent(
    parents: list[tuple[list[int], int]], weights: list[list[float]], key: int, minmov: int
) -> None:
    """Each parent of a level, split with the others in one pass, is exactly the aggregate of its children."""
    rows = [
        TickBar(prices[0] * minmov, max(prices) * minmov, min(prices) * minmov, prices[1] * minmov, volume)
        for prices, volume in parents
    ]
    counts = [len(w) for w in weights[: len(rows)]]
    group = np.repeat(np.arange(len(rows)), counts)
    children = subdivide(
        np.array(rows, dtype=np.int64),
        Segments.of(group),
        np.array([w for ws in weights[: len(rows)] for w in ws]),
        minmov,
        key,
        np.arange(len(group), dtype=np.uint64),
    )
    for parent, child_rows in zip(rows, np.split(children, np.cumsum(counts)[:-1]), strict=True):
        kids = [TickBar._make(int(x) for x in row) for row in child_rows]
        assert merge(kids) == parent
        for child in kids:
            assert child.low <= min(child.open, child.close)
            assert max(child.open, child.close) <= child.high
            assert all(p % minmov == 0 for p in child[:4])
        for before, after in itertools.pairwise(kids):
            assert before.close == after.open


def test_the_bar_cache_keeps_within_its_bytes_and_still_serves_the_same_bars() -> None:
    """Forty days of BTCUSD minutes (about 9 MB cached) through a 1 MB cache: the oldest blocks go, and what is
    served again is the same."""
    feed = SimulatedFeed(clock=lambda: FROZEN_NOW, cache_bytes=1 << 20)
    windows = [("BTCUSD", Resolution.M1, FROZEN_NOW - (n + 1) * DAY, FROZEN_NOW - n * DAY, 0) for n in range(40)]
    first = [feed.history(*window) for window in windows]
    held = sum(block.nbytes for block in feed._blocks.values())
    assert 0 < held <= 1 << 20
    assert held == feed._blocks_bytes
    assert [feed.history(*window) for window in windows] == first

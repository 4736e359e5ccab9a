"""TradingView's data-integration tests (tradingview/rest_integrations_docs, `source/data_tests/`), as UDF tests.

Each test names the TradingView test whose intent it carries over. Taken: historyFromEqTo,
historyCountbackMinutes, historyBeyondLeftBoundary, historyOutsideBarsInclusion, historyRepeatability,
historySeveralShortQueriesEqualsLargeQuery, historyNoDataWithNb, historyNoDataChanges,
historyTimeCorrectness, historyDailyHistoryAvailability, historyFutureDaily, historyFutureMinutes,
historyPriceMatch, symbolsResponseFieldsCorrectness (for UDF `/symbols` and the REST `/resolve`).
Not applicable: the auth* and *UnauthorizedRequest tests (the API has no authorization), the groups*
tests (`supports_group_request` is false), and the streaming* tests (UDF has no streaming endpoint;
the WebSocket's own tests cover ordering and agreement with history).
"""

from __future__ import annotations

import re
from itertools import pairwise
from typing import Any
from zoneinfo import available_timezones

import pytest

from app.market.grid import grid_for
from app.market.resolutions import Resolution
from app.market.simulation import SimulatedFeed
from app.schemas.limits import MAX_BARS
from tests.api.test_udf import get_json
from tests.conftest import FROZEN_NOW, Client, Connect, fetch_bars

MINUTE = 60
DAY = 86_400
# The minute and the day FROZEN_NOW falls in (a Wednesday, every market trading).
NOW_MINUTE = FROZEN_NOW - FROZEN_NOW % MINUTE
TODAY = FROZEN_NOW - FROZEN_NOW % DAY
TYPES = {"stock", "fund", "dr", "right", "bond", "warrant", "structured", "index", "forex", "futures", "crypto"}
CURRENCIES = {
    **dict.fromkeys(("AAPL", "MSFT", "GOOGL", "AMZN", "TSLA", "NVDA", "META"), "USD"),
    "BTCUSD": "USD",
    "ETHUSD": "USD",
    "EURUSD": "USD",
    "GBPUSD": "USD",
    "USDJPY": "JPY",
}


async def history(client: Client, symbol: str, resolution: str, start: int, end: int, countback: int = 0) -> Any:
    """UDF `/history` (200), with `countback` only when given."""
    extra = {"countback": countback} if countback else {}
    return await get_json(client, "/history", symbol=symbol, resolution=resolution, from_=start, to=end, **extra)


def rows(body: dict[str, Any]) -> list[tuple[Any, ...]]:
    """A columnar answer as (t, o, h, l, c, v) rows."""
    return list(zip(*(body[key] for key in "tohlcv"), strict=True))


@pytest.mark.parametrize(
    ("symbol", "resolution", "bar_time"),
    [
        ("BTCUSD", "1", NOW_MINUTE - 10 * MINUTE),
        ("BTCUSD", "1", NOW_MINUTE),
        ("EURUSD", "60", TODAY + 9 * 3600),
        ("AAPL", "1D", TODAY - DAY),
        ("ETHUSD", "1W", None),
    ],
)
async def test_from_equal_to_a_bars_time_returns_that_bar(
    client: Client, symbol: str, resolution: str, bar_time: int | None
) -> None:
    """historyFromEqTo: `to` is inclusive, so from = to = a bar's time gives exactly that bar."""
    if bar_time is None:
        weeks = await history(client, symbol, resolution, FROZEN_NOW - 30 * DAY, FROZEN_NOW)
        bar_time = weeks["t"][-2]
    around = await history(client, symbol, resolution, bar_time - 3 * DAY, bar_time + 3 * DAY)
    expected = [row for row in rows(around) if row[0] == bar_time]
    assert len(expected) == 1, "the bar exists"
    body = await history(client, symbol, resolution, bar_time, bar_time)
    assert rows(body) == expected


@pytest.mark.parametrize("countback", [1, 5, 300, MAX_BARS])
async def test_countback_gives_exactly_that_many_minute_bars_ending_at_to(client: Client, countback: int) -> None:
    """historyCountbackMinutes: `countback` takes priority over `from`; never more bars, and no fewer while
    history goes on."""
    end = NOW_MINUTE - 7 * MINUTE
    for start in (end - DAY, end - MINUTE, end):
        body = await history(client, "BTCUSD", "1", start, end, countback)
        assert body["s"] == "ok"
        assert len(body["t"]) == countback
        assert body["t"][-1] == end, "`to` is inclusive"
        assert body["t"] == list(range(end - (countback - 1) * MINUTE, end + 1, MINUTE))


async def test_countback_stops_where_history_begins(client: Client, frozen_feed: SimulatedFeed) -> None:
    """historyCountbackMinutes: fewer bars than `countback` only when none exist before the oldest."""
    left = frozen_feed.history_start(Resolution.M1)
    body = await history(client, "BTCUSD", "1", left, left + 3 * MINUTE, countback=10)
    assert body["t"] == [left, left + MINUTE, left + 2 * MINUTE, left + 3 * MINUTE]
    assert await history(client, "BTCUSD", "1", left - DAY, left - 1, countback=10) == {"s": "no_data"}


async def test_no_data_beyond_the_left_boundary_names_no_next_bar(client: Client, frozen_feed: SimulatedFeed) -> None:
    """historyBeyondLeftBoundary: `to` = left - 10 minutes is `no_data` without a next bar time."""
    end = frozen_feed.history_start(Resolution.M1) - 10 * MINUTE
    for symbol in ("BTCUSD", "AAPL", "EURUSD"):
        assert await history(client, symbol, "1", end - 3600, end) == {"s": "no_data"}


async def test_a_fifty_minute_window_holds_fifty_bars(client: Client) -> None:
    """historyOutsideBarsInclusion: to = now - 30 min - 1 s, from = to - 50 min + 1 s: 50 minute bars, the
    first in from's minute, the last in to's."""
    end = NOW_MINUTE - 30 * MINUTE - 1
    start = end - 50 * MINUTE + 1
    body = await history(client, "BTCUSD", "1", start, end)
    assert len(body["t"]) == 50
    assert body["t"][0] == start
    assert body["t"][-1] == end - end % MINUTE


async def test_the_same_request_gives_the_same_bars(client: Client, make_client: Connect) -> None:
    """historyRepeatability: in one process and in another one built afresh."""
    start, end = TODAY - DAY + 14 * 3600, TODAY - DAY + 20 * 3600
    first = await history(client, "TSLA", "5", start, end)
    again = await history(client, "TSLA", "5", start, end)
    other = await history(await make_client(), "TSLA", "5", start, end)
    assert first["s"] == "ok"
    assert first == again == other


@pytest.mark.parametrize("symbol", ["AAPL", "BTCUSD"])
async def test_short_queries_together_equal_one_large_query(client: Client, symbol: str) -> None:
    """historySeveralShortQueriesEqualsLargeQuery: 200 minutes at once, or as ten 20-minute queries."""
    large = rows(await history(client, symbol, "1", TODAY - DAY + 15 * 3600, TODAY - DAY + 15 * 3600 + 200 * MINUTE))
    pieces: list[tuple[Any, ...]] = []
    for start in range(TODAY - DAY + 15 * 3600, TODAY - DAY + 15 * 3600 + 200 * MINUTE, 20 * MINUTE):
        body = await history(client, symbol, "1", start, start + 20 * MINUTE - 1)
        pieces += rows(body) if body["s"] == "ok" else []
    assert len(large) > 150
    assert pieces == large[: len(pieces)]
    assert large[len(pieces) :] == [row for row in large if row[0] == TODAY - DAY + 15 * 3600 + 200 * MINUTE]


async def test_a_missing_bar_alone_is_no_data_naming_the_bar_before(client: Client) -> None:
    """historyNoDataWithNb: a gap in a day of minute bars, asked for alone, is `no_data` with `nextTime`
    the bar before the gap."""
    day = rows(await history(client, "AAPL", "1", TODAY - DAY, TODAY - 1, countback=0))
    times = [row[0] for row in day]
    gaps = [(before, after) for before, after in pairwise(times) if after - before > MINUTE]
    assert gaps or times[-1] < TODAY - MINUTE, "a stock's day has a session's end"
    before = gaps[0][0] if gaps else times[-1]
    missing = before + MINUTE
    body = await history(client, "AAPL", "1", missing, missing)
    assert body == {"s": "no_data", "nextTime": before}


async def test_later_requests_with_the_same_from_begin_with_the_earlier_bars(make_client: Connect) -> None:
    """historyNoDataChanges: two minutes later, the same `from` gives the earlier bars first (the one
    forming then with its final values)."""
    clock = [float(FROZEN_NOW)]
    client = await make_client(SimulatedFeed(clock=lambda: clock[0]))
    start = NOW_MINUTE - 30 * MINUTE
    first = rows(await history(client, "ETHUSD", "1", start, FROZEN_NOW))
    clock[0] += 2 * MINUTE
    second = rows(await history(client, "ETHUSD", "1", start, int(clock[0])))
    assert len(second) == len(first) + 2
    assert second[: len(first) - 1] == first[:-1]
    assert second[len(first) - 1][0] == first[-1][0]


@pytest.mark.parametrize("resolution", ["1", "5", "15", "30", "60", "240", "1D", "1W", "1M"])
async def test_bar_times_increase(client: Client, resolution: str) -> None:
    """historyTimeCorrectness: strictly increasing, on the resolution's grid for the daily ones."""
    for symbol in ("AAPL", "BTCUSD", "USDJPY"):
        body = await history(client, symbol, resolution, FROZEN_NOW, FROZEN_NOW, countback=60)
        times = body["t"]
        assert len(times) == 60
        assert all(a < b for a, b in pairwise(times))
        if resolution.endswith("D"):
            assert all(t % DAY == 0 for t in times), "daily bars at 00:00 UTC of the trading day"


async def test_daily_history_is_available_and_no_data_only_before_it(client: Client) -> None:
    """historyDailyHistoryAvailability: daily bars exist; `no_data` without `nextTime` only when no earlier
    bar exists; with `nextTime`, it is before `from`."""
    body = await history(client, "MSFT", "1D", TODAY - 400 * DAY, FROZEN_NOW)
    assert body["s"] == "ok"
    assert len(body["t"]) > 250
    oldest = (await history(client, "MSFT", "1D", 0, FROZEN_NOW, countback=MAX_BARS))["t"][0]
    assert await history(client, "MSFT", "1D", oldest - 30 * DAY, oldest - DAY) == {"s": "no_data"}
    assert (await history(client, "MSFT", "1D", 0, oldest))["t"] == [oldest]
    saturday = TODAY - 4 * DAY
    weekend = await history(client, "MSFT", "1D", saturday, saturday + DAY)
    assert weekend == {"s": "no_data", "nextTime": saturday - DAY}


async def test_a_future_to_gives_no_bar_after_now(client: Client) -> None:
    """historyFutureDaily: `to` a year ahead gives bars up to today's, none later."""
    body = await history(client, "NVDA", "1D", TODAY - 30 * DAY, FROZEN_NOW + 365 * DAY)
    assert body["t"][-1] == TODAY
    assert all(t <= FROZEN_NOW for t in body["t"])


async def test_a_future_to_ends_with_the_forming_minute(client: Client) -> None:
    """historyFutureMinutes: with `to` in the future the last minute bar is the open one."""
    body = await history(client, "BTCUSD", "1", NOW_MINUTE - 3600, FROZEN_NOW + 3600)
    assert body["t"][-1] == NOW_MINUTE
    assert len(body["t"]) == 61


@pytest.mark.parametrize("symbol", ["AAPL", "BTCUSD", "GBPUSD"])
async def test_a_daily_bar_opens_and_closes_with_its_minutes(client: Client, symbol: str) -> None:
    """historyPriceMatch: a daily bar's open is its first minute's open, its close the last minute's close."""
    day = TODAY - DAY
    [daily] = rows(await history(client, symbol, "1D", day, day))
    instrument = SimulatedFeed().instrument(symbol)
    assert instrument is not None
    # A trading day's minutes: a forex day begins at 17:00 New York on the day before its date.
    grid = grid_for(instrument.hours, Resolution.DAY)
    start, end = grid.bounds(grid.first_at_or_after(day))
    minutes = rows(await history(client, symbol, "1", start, end - 1))
    assert minutes, "the day traded"
    assert daily[1] == minutes[0][1]
    assert daily[4] == minutes[-1][4]
    assert daily[2] == max(row[2] for row in minutes)
    assert daily[3] == min(row[3] for row in minutes)


def check_symbol_info(info: dict[str, Any]) -> None:
    """symbolsResponseFieldsCorrectness, for one LibrarySymbolInfo."""
    assert info["exchange"] == info["exchange"].upper() != ""
    assert info["listed_exchange"] == info["listed_exchange"].upper() != ""
    assert isinstance(info["minmov"], int)
    assert info["minmov"] >= 1
    assert isinstance(info["pricescale"], int)
    assert re.fullmatch(r"10*", str(info["pricescale"])), "a power of ten"
    assert info["currency_code"] == CURRENCIES[info["name"]]
    assert info["type"] in TYPES
    assert info["timezone"] in available_timezones()
    assert re.fullmatch(r"24x7|\d{4}-\d{4}(,\d{4}-\d{4})*(:[1-7]+)?(\|.+)*", info["session"]), info["session"]
    assert "," not in info["ticker"]
    assert all(isinstance(r, str) for r in info["supported_resolutions"])
    assert all(isinstance(r, str) for r in info["intraday_multipliers"])
    for flag in ("has_intraday", "has_daily", "has_weekly_and_monthly"):
        assert isinstance(info[flag], bool)


@pytest.mark.parametrize("symbol", sorted(CURRENCIES))
async def test_symbol_info_fields_are_correct_and_name_the_currency(client: Client, symbol: str) -> None:
    """symbolsResponseFieldsCorrectness: on UDF `/symbols` and the REST `/resolve`, alike, with the
    currency the prices are quoted in (a pair's second currency)."""
    udf = await get_json(client, "/symbols", symbol=symbol.lower())
    response = await client.get(f"/api/v1/datafeed/resolve/{symbol}")
    assert response.content_type == "application/json"
    rest = await response.json()
    assert udf == rest
    check_symbol_info(udf)


async def test_the_rest_bars_keep_the_js_apis_half_open_range(client: Client) -> None:
    """Only UDF's `to` is inclusive: `/bars` serves [from_time, to_time), as the JS Datafeed API asks."""
    bar_time = NOW_MINUTE - 10 * MINUTE
    assert await fetch_bars(client, "BTCUSD", "1", bar_time, bar_time) == []
    [bar] = await fetch_bars(client, "BTCUSD", "1", bar_time, bar_time + 1)
    assert bar["time"] == bar_time * 1000
    assert len(await fetch_bars(client, "BTCUSD", "1", bar_time - 9 * MINUTE, bar_time, count_back=3)) == 9

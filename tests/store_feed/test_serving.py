"""Stored instruments through every interface of a server built as `python -m app` builds it, over real HTTP and
WebSocket, with each engine: exact stored bars, exact aggregates, symbol info, search and quotes."""

from __future__ import annotations

from typing import Any

import pytest

from app.paths import DATAFEED_PREFIX, UDF_PREFIX, WS_PATH
from tests.conftest import Client, Frame, fetch_bars, receive, send
from tests.store_feed.data import (
    ACME,
    FXAB,
    Bar,
    acme_days,
    acme_minutes,
    as_bars,
    expected,
    fxab_minutes,
)

# Far beyond the data (2026-01-01): a range that ends here holds every stored bar.
LATER = 1_767_225_600
# The days of ACME's minutes and of FXAB's (a request spans at most 5,000 periods of its resolution).
ACME_DAYS = (1_709_856_000, 1_710_288_000)
FXAB_DAYS = (1_730_851_200, 1_731_456_000)


def assert_bars(served: list[Frame], wanted: list[Bar]) -> None:
    """The same bars: times and prices exactly, volumes to float precision (fractional ones are summed)."""
    assert [bar["time"] for bar in served] == [bar["time"] for bar in wanted]
    for got, want in zip(served, wanted, strict=True):
        assert {k: got[k] for k in ("open", "high", "low", "close")} == {
            k: want[k] for k in ("open", "high", "low", "close")
        }
        assert got["volume"] == pytest.approx(want["volume"], rel=1e-12)


async def get_json(client: Client, path: str, status: int = 200, **params: str | int) -> Any:
    query = {key.rstrip("_"): str(value) for key, value in params.items()}
    response = await client.get(path, params=query)
    assert response.status == status, await response.text()
    return await response.json()


async def test_stored_resolutions_are_served_exactly_as_stored(served: Client) -> None:
    minutes = acme_minutes()
    # A day at a time (a request spans at most 5,000 minutes).
    for day in range(3):
        rows = minutes[day * 565 : (day + 1) * 565]
        assert await fetch_bars(served, "ACME", "1", rows[0][0], rows[-1][0] + 60) == as_bars(rows, 100)
    assert await fetch_bars(served, "acme", "D", 0, LATER) == as_bars(acme_days(), 100)
    # [from, to): the bar at `to` is left out.
    first = minutes[0][0]
    assert await fetch_bars(served, "ACME", "1", first, first + 180) == as_bars(minutes[:3], 100)


@pytest.mark.parametrize("resolution", ["5", "60", "240"])
async def test_intraday_aggregates_lie_on_the_session_grid_extended_through_the_day(
    served: Client, resolution: str
) -> None:
    """08:00-09:29 and 16:00-17:29 are outside the session: their bars are those of the grid through 09:30."""
    bars = await fetch_bars(served, "ACME", resolution, *ACME_DAYS)
    assert_bars(bars, expected(ACME, acme_minutes(), resolution))
    if resolution == "240":
        # 05:30-09:30, 09:30-13:30, 13:30-17:30 New York, each trading day (EST, then EDT from 2024-03-10).
        hours = [bar["time"] // 1000 % 86400 / 3600 for bar in bars]
        assert hours == [10.5, 14.5, 18.5] + [9.5, 13.5, 17.5] * 2


@pytest.mark.parametrize("resolution", ["60", "1D", "1W"])
async def test_days_and_weeks_of_an_overnight_session_are_made_of_minutes(served: Client, resolution: str) -> None:
    """FXAB's trading day begins at 17:00 New York the evening before: Sunday evening is Monday's. (Its first week
    is stamped Monday 2024-11-04, before its data: the request begins a week earlier.)"""
    bars = await fetch_bars(served, "FXAB", resolution, FXAB_DAYS[0] - 7 * 86_400, FXAB_DAYS[1])
    assert_bars(bars, expected(FXAB, fxab_minutes(), resolution))
    if resolution == "1D":
        assert [bar["time"] // 1000 for bar in bars] == [1730937600 + 86400 * k for k in (0, 1, 4, 5)]


@pytest.mark.parametrize("resolution", ["1W", "1M"])
async def test_weeks_and_months_are_made_of_stored_days_stamped_at_their_first_trading_day(
    served: Client, resolution: str
) -> None:
    bars = await fetch_bars(served, "ACME", resolution, 0, LATER)
    assert_bars(bars, expected(ACME, acme_days(), resolution, daily_rows=True))
    days = {bar["time"] // 1000 for bar in bars}
    if resolution == "1W":
        # Martin Luther King Day, Monday 2024-01-15, was a holiday: that week's bar is stamped Tuesday.
        assert 1705363200 in days
    else:
        # 2024-01-01 was a holiday: January's bar is stamped Tuesday 2 January.
        assert 1704153600 in days


async def test_count_back_and_no_data_at_a_coarser_resolution(served: Client) -> None:
    hourly = expected(ACME, acme_minutes(), "60")
    first = hourly[0]["time"] // 1000
    # Fewer than count_back in the range: earlier bars are added until there are count_back.
    assert_bars(await fetch_bars(served, "ACME", "60", LATER, LATER, count_back=5), hourly[-5:])
    assert_bars(await fetch_bars(served, "ACME", "60", first + 10800, first + 14400, count_back=4), hourly[:4])
    # Before the first bar: no_data.
    path = f"{DATAFEED_PREFIX}/bars"
    before = await get_json(served, path, symbol="ACME", resolution="60", from_time=0, to_time=first)
    assert before == {"bars": [], "no_data": True}
    # A gap after bars (the weekend): no bars, but no_data is false.
    weekend = await get_json(served, path, symbol="ACME", resolution="60", from_time=1709942400, to_time=1710115200)
    assert weekend == {"bars": [], "no_data": False}


async def test_udf_history_to_is_inclusive_countback_exact_and_no_data_before_the_first_bar(served: Client) -> None:
    hourly = expected(ACME, acme_minutes(), "60")
    path = f"{UDF_PREFIX}/history"
    one = hourly[7]["time"] // 1000
    body = await get_json(served, path, symbol="ACME", resolution="60", from_=one, to=one)
    assert body["t"] == [one]
    assert body["c"] == [hourly[7]["close"]]
    body = await get_json(served, path, symbol="ACME", resolution="60", from_=0, to=one, countback=6)
    assert body["t"] == [bar["time"] // 1000 for bar in hourly[2:8]]
    assert body["v"] == pytest.approx([bar["volume"] for bar in hourly[2:8]])
    before = hourly[0]["time"] // 1000 - 1
    assert await get_json(served, path, symbol="ACME", resolution="60", from_=0, to=before) == {"s": "no_data"}
    # Inside the weekend: no_data, and nextTime names the last bar before it.
    friday_last = [bar for bar in hourly if bar["time"] < 1_710_000_000_000][-1]["time"] // 1000
    body = await get_json(served, path, symbol="ACME", resolution="60", from_=1709942400, to=1710115200)
    assert body == {"s": "no_data", "nextTime": friday_last}


async def test_a_resolution_finer_than_the_stored_one_is_refused(served: Client) -> None:
    path = f"{DATAFEED_PREFIX}/bars"
    body = await get_json(served, path, 422, symbol="DAYS", resolution="60", from_time=0, to_time=LATER)
    assert "resolution" in body["errors"]
    body = await get_json(served, f"{UDF_PREFIX}/history", 422, symbol="DAYS", resolution="1", from_=0, to=LATER)
    assert body["s"] == "error"


async def test_symbol_info_describes_the_stored_instrument(served: Client) -> None:
    info = await get_json(served, f"{DATAFEED_PREFIX}/resolve/acme")
    assert {key: info[key] for key in ("name", "session", "timezone", "pricescale", "exchange", "description")} == {
        "name": "ACME",
        "session": "0930-1600",
        "timezone": "America/New_York",
        "pricescale": 100,
        "exchange": "NASDAQ",
        "description": "Acme Corporation",
    }
    assert info["has_intraday"] is True
    assert info["supported_resolutions"] == ["1", "5", "15", "30", "60", "240", "1D", "1W", "1M"]
    days = await get_json(served, f"{UDF_PREFIX}/symbols", symbol="DAYS")
    assert days["has_intraday"] is False
    assert days["supported_resolutions"] == ["1D", "1W", "1M"]
    assert days["intraday_multipliers"] == []
    assert days["exchange"] == "NYSE"
    forex = await get_json(served, f"{DATAFEED_PREFIX}/resolve/FX:FXAB")
    assert (forex["session"], forex["pricescale"], forex["type"]) == ("1700-1700:23456", 10_000, "forex")


async def test_search_and_config_list_stored_and_simulated_instruments(served: Client) -> None:
    found = await get_json(served, f"{DATAFEED_PREFIX}/search", user_input="acm")
    assert found == [
        {
            "symbol": "ACME",
            "full_name": "NASDAQ:ACME",
            "description": "Acme Corporation",
            "exchange": "NASDAQ",
            "ticker": "ACME",
            "type": "stock",
        }
    ]
    everything = await get_json(served, f"{UDF_PREFIX}/search", query="", type="", exchange="", limit=100)
    symbols = {result["symbol"]: result["description"] for result in everything}
    assert {"ACME", "FXAB", "DAYS", "AAPL", "BTCUSD"} <= symbols.keys()
    assert symbols["AAPL"].endswith("(simulated)")
    assert not symbols["DAYS"].endswith("(simulated)")
    config = await get_json(served, f"{DATAFEED_PREFIX}/config")
    assert "NYSE" in [exchange["value"] for exchange in config["exchanges"]]


async def test_quotes_come_from_the_latest_bars(served: Client) -> None:
    days = acme_days()
    response = await served.post(f"{DATAFEED_PREFIX}/quotes", json={"symbols": ["ACME", "FXAB"]})
    acme, fxab = await response.json()
    last, previous = days[-1], days[-2]
    assert acme == {
        "s": "ok",
        "n": "ACME",
        "v": {
            "lp": last[4] / 100,
            "open_price": last[1] / 100,
            "high_price": last[2] / 100,
            "low_price": last[3] / 100,
            "volume": last[5],
            "prev_close_price": previous[4] / 100,
            "ch": (last[4] - previous[4]) / 100,
            "chp": round(100 * (last[4] - previous[4]) / previous[4], 2),
            "short_name": "ACME",
            "exchange": "NASDAQ",
            "description": "Acme Corporation",
            "original_name": "NASDAQ:ACME",
        },
    }
    # No order book behind bars: no bid, ask or spread. FXAB's day is made of its minutes.
    fx_days = expected(FXAB, fxab_minutes(), "1D")
    assert "bid" not in fxab["v"]
    assert fxab["v"]["lp"] == fx_days[-1]["close"]
    assert fxab["v"]["prev_close_price"] == fx_days[-2]["close"]
    udf = await get_json(served, f"{UDF_PREFIX}/quotes", symbols="ACME")
    assert udf["d"][0]["v"] == acme["v"]


async def test_the_websocket_sends_the_newest_bar_then_every_bar_since(served: Client) -> None:
    hourly = expected(ACME, acme_minutes(), "60")
    async with served.ws_connect(WS_PATH) as ws:
        await send(ws, "bars.subscribe", symbol="acme", resolution="60")
        assert (await receive(ws))["payload"]["status"] == "ok"
        update = await receive(ws)
        assert update["topic"] == "bars:ACME:60"
        assert_bars([update["payload"]], hourly[-1:])
    async with served.ws_connect(WS_PATH) as ws:
        await send(ws, "bars.subscribe", symbol="ACME", resolution="60", since=hourly[-4]["time"])
        assert (await receive(ws))["payload"]["status"] == "ok"
        assert_bars([(await receive(ws))["payload"] for _ in range(4)], hourly[-4:])
        await send(ws, "bars.subscribe", symbol="DAYS", resolution="1")
        refused = await receive(ws)
        while refused["type"] == "bars.update":
            refused = await receive(ws)
        assert refused["payload"]["status"] == "error"

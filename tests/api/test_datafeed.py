"""The REST datafeed over real HTTP: shapes, range semantics, units and errors."""

from __future__ import annotations

from typing import Any

import pytest

from app.market.grid import grid_for
from app.market.resolutions import DAY, Resolution
from app.market.simulation import SimulatedFeed
from tests.api.conftest import assert_quote_agrees_with_bars
from tests.conftest import BARS_PATH, FROZEN_NOW, Client, Connect, aggregate, fetch_bars


async def get_json(client: Client, path: str, status: int = 200, **params: Any) -> Any:
    response = await client.get(path, params={k: str(v) for k, v in params.items()})
    assert response.status == status, await response.text()
    assert response.content_type == "application/json"
    return await response.json()


async def test_config(client: Client) -> None:
    body = await get_json(client, "/api/v1/datafeed/config")
    assert body["supported_resolutions"] == ["1", "5", "15", "30", "60", "240", "1D", "1W", "1M"]
    assert body["supports_time"] is True
    assert body["supports_marks"] is False
    assert body["supports_timescale_marks"] is False
    assert {e["value"] for e in body["exchanges"]} >= {"NASDAQ", "CRYPTO", "FX"}
    assert {t["value"] for t in body["symbols_types"]} >= {"stock", "crypto", "forex"}


async def test_search_is_case_insensitive_on_symbol_and_description(client: Client) -> None:
    by_symbol = await get_json(client, "/api/v1/datafeed/search", user_input="aap")
    assert by_symbol[0]["symbol"] == "AAPL"
    assert set(by_symbol[0]) == {"symbol", "full_name", "description", "exchange", "ticker", "type"}
    by_name = await get_json(client, "/api/v1/datafeed/search", user_input="bitcoin")
    assert [r["symbol"] for r in by_name] == ["BTCUSD"]
    usd = await get_json(client, "/api/v1/datafeed/search", user_input="usd", symbol_type="forex")
    assert {r["symbol"] for r in usd} == {"EURUSD", "GBPUSD", "USDJPY"}
    nasdaq = await get_json(client, "/api/v1/datafeed/search", exchange="NASDAQ", max_results=3)
    assert len(nasdaq) == 3
    assert all(r["exchange"] == "NASDAQ" for r in nasdaq)
    everything = await get_json(client, "/api/v1/datafeed/search")
    assert len(everything) >= 12


async def test_resolve_returns_symbol_info_in_canonical_case(client: Client) -> None:
    info = await get_json(client, "/api/v1/datafeed/resolve/btcusd")
    assert info["name"] == info["ticker"] == "BTCUSD"
    assert info["type"] == "crypto"
    assert "simulated" in info["description"]
    assert info["session"] == "24x7"
    assert info["pricescale"] == 100
    assert info["minmov"] == 1
    assert info["has_intraday"]
    assert info["has_daily"]
    assert info["has_weekly_and_monthly"]
    assert info["intraday_multipliers"] == ["1", "5", "15", "30", "60", "240"]
    for field in ("timezone", "exchange", "listed_exchange", "format", "volume_precision", "data_status"):
        assert field in info


# Each class's session and timezone in TradingView's notation: New York hours with daylight saving, UTC for crypto.
SESSIONS = {
    "AAPL": ("0930-1600", "America/New_York"),
    "EURUSD": ("1700-1700:23456", "America/New_York"),
    "BTCUSD": ("24x7", "Etc/UTC"),
}


@pytest.mark.parametrize("symbol", SESSIONS)
async def test_symbol_info_names_the_exchange_session_and_timezone(client: Client, symbol: str) -> None:
    resolved = await get_json(client, f"/api/v1/datafeed/resolve/{symbol}")
    udf = await get_json(client, "/api/v1/udf/symbols", symbol=symbol)
    assert (resolved["session"], resolved["timezone"]) == (udf["session"], udf["timezone"]) == SESSIONS[symbol]


async def test_resolve_unknown_symbol_is_404(client: Client) -> None:
    body = await get_json(client, "/api/v1/datafeed/resolve/NOPE", status=404)
    assert "NOPE" in body["detail"]


async def test_bars_of_an_unknown_symbol_are_a_json_404(client: Client) -> None:
    body = await get_json(
        client, BARS_PATH, status=404, symbol="nope", resolution="1D", from_time=0, to_time=FROZEN_NOW
    )
    assert body == {"detail": "Unknown symbol: NOPE"}


async def test_bars_cover_from_inclusive_to_exclusive_in_milliseconds(client: Client) -> None:
    start = FROZEN_NOW - FROZEN_NOW % 3600 - 10 * 3600
    body = await get_json(
        client, BARS_PATH, symbol="btcusd", resolution="60", from_time=start, to_time=start + 5 * 3600
    )
    assert [b["time"] for b in body["bars"]] == [(start + i * 3600) * 1000 for i in range(5)]
    assert body["no_data"] is False
    assert set(body["bars"][0]) == {"time", "open", "high", "low", "close", "volume"}


async def test_count_back_adds_earlier_bars(client: Client) -> None:
    start = FROZEN_NOW - FROZEN_NOW % 3600 - 10 * 3600
    narrow = await get_json(client, BARS_PATH, symbol="BTCUSD", resolution="60", from_time=start, to_time=start + 7200)
    extended = await get_json(
        client, BARS_PATH, symbol="BTCUSD", resolution="60", from_time=start, to_time=start + 7200, count_back=5
    )
    assert len(narrow["bars"]) == 2
    assert extended["bars"][-2:] == narrow["bars"]
    assert [b["time"] for b in extended["bars"]] == [(start + i * 3600) * 1000 for i in range(-3, 2)]
    wide = await get_json(
        client, BARS_PATH, symbol="BTCUSD", resolution="60", from_time=start - 86400, to_time=start, count_back=5
    )
    assert len(wide["bars"]) == 24, "count_back never trims a range that already has enough bars"


@pytest.mark.parametrize(("alias", "name"), [("D", "1D"), ("W", "1W"), ("M", "1M"), ("d", "1D")])
async def test_resolution_aliases(client: Client, alias: str, name: str) -> None:
    by_alias = await get_json(client, BARS_PATH, symbol="MSFT", resolution=alias, from_time=0, to_time=FROZEN_NOW)
    by_name = await get_json(client, BARS_PATH, symbol="MSFT", resolution=name, from_time=0, to_time=FROZEN_NOW)
    assert by_alias == by_name
    assert len(by_alias["bars"]) > 100


async def test_no_data_only_when_nothing_exists_before_to_time(client: Client, frozen_feed: SimulatedFeed) -> None:
    start = frozen_feed.history_start(Resolution.M5)
    before = await get_json(client, BARS_PATH, symbol="AAPL", resolution="5", from_time=start - DAY, to_time=start)
    assert before == {"bars": [], "no_data": True}
    saturday = FROZEN_NOW - FROZEN_NOW % DAY - 4 * DAY
    weekend = await get_json(
        client, BARS_PATH, symbol="AAPL", resolution="5", from_time=saturday, to_time=saturday + DAY
    )
    assert weekend == {"bars": [], "no_data": False}, "an empty weekend is not the end of history"
    filled = await get_json(
        client, BARS_PATH, symbol="AAPL", resolution="5", from_time=saturday, to_time=saturday + DAY, count_back=3
    )
    assert len(filled["bars"]) == 3
    assert filled["bars"][-1]["time"] < saturday * 1000


@pytest.mark.parametrize(
    ("symbol", "resolution", "finer"),
    [
        ("ETHUSD", "5", "1"),
        ("BTCUSD", "15", "1"),
        ("AAPL", "60", "1"),
        ("EURUSD", "240", "1"),
        ("AAPL", "1D", "1"),
        ("USDJPY", "1D", "1"),
        ("BTCUSD", "1W", "1D"),
        ("AAPL", "1M", "1D"),
    ],
)
async def test_the_forming_bar_is_the_aggregate_of_the_finer_bars_so_far(
    make_client: Connect, symbol: str, resolution: str, finer: str
) -> None:
    """The newest bar, still forming, aggregates the finer bars `/bars` serves for its period so far."""
    # 21 minutes into an hour, so every forming bar already spans several closed finer bars.
    now = FROZEN_NOW + 21 * 60 + 4
    client = await make_client(feed=SimulatedFeed(clock=lambda: now))
    [forming] = await fetch_bars(client, symbol, resolution, now + 1, now + 1, count_back=1)
    instrument = SimulatedFeed().instrument(symbol)
    assert instrument is not None
    grid = grid_for(instrument.hours, Resolution(resolution))
    period = grid.index(now)
    assert forming["time"] == grid.stamp(period) * 1000
    # Days are stamped at 00:00 UTC of their date; a forex day's minutes begin at 17:00 New York the day before.
    since = grid.stamp(period) if finer == "1D" else grid.bounds(period)[0]
    parts = await fetch_bars(client, symbol, finer, since, now + 1)
    assert len(parts) > 1
    expected = aggregate(parts, forming["time"])
    assert forming == expected | {"volume": pytest.approx(expected["volume"])}


async def test_quotes_state_the_trading_day_that_bars_serve(client: Client) -> None:
    response = await client.post("/api/v1/datafeed/quotes", json={"symbols": ["aapl", "BTCUSD", "EURUSD", "nope"]})
    assert response.status == 200
    aapl, btc, eur, unknown = await response.json()
    assert [aapl["n"], btc["n"], eur["n"]] == ["AAPL", "BTCUSD", "EURUSD"]
    await assert_quote_agrees_with_bars(client, aapl, "NASDAQ")
    await assert_quote_agrees_with_bars(client, btc, "CRYPTO")
    await assert_quote_agrees_with_bars(client, eur, "FX")
    assert unknown == {"s": "error", "n": "NOPE", "v": {"error": "Unknown symbol: NOPE"}}


async def test_datafeed_health(client: Client) -> None:
    body = await get_json(client, "/api/v1/datafeed/health")
    assert body["status"] == "ok"
    assert body["symbols_loaded"] == 12
    assert body["simulated"] is True
    assert body["subscribers"] == 0
    assert body["broadcaster"]["interval"] == 1.0


async def test_the_real_clock_serves_current_bars(live_client: Client) -> None:
    response = await live_client.get("/api/v1/udf/time")
    now = int(await response.text())
    body = await get_json(
        live_client, BARS_PATH, symbol="BTCUSD", resolution="1", from_time=now - 600, to_time=now + 60
    )
    assert body["bars"][-1]["time"] // 1000 >= now - 60

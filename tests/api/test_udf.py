"""TradingView's UDF protocol, as the stock UDFCompatibleDatafeed calls it."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import assert_quote_agrees_with_bars
from tests.conftest import FROZEN_NOW, Client

UDF = "/api/v1/udf"


async def get_json(client: Client, path: str, status: int = 200, **params: Any) -> Any:
    """GET a UDF path; `from_` stands for the reserved word `from`."""
    query = {k.rstrip("_"): str(v) for k, v in params.items()}
    response = await client.get(UDF + path, params=query)
    assert response.status == status, await response.text()
    return await response.json()


async def test_config_declares_what_the_adapter_checks(client: Client) -> None:
    body = await get_json(client, "/config")
    assert body["supports_search"] is True
    assert body["supports_group_request"] is False
    assert body["supports_time"] is True
    assert "1D" in body["supported_resolutions"]


async def test_symbols(client: Client) -> None:
    body = await get_json(client, "/symbols", symbol="eurusd")
    assert body["name"] == "EURUSD"
    assert body["pricescale"] == 100_000
    assert body["type"] == "forex"


async def test_unknown_symbol_is_a_udf_error(client: Client) -> None:
    body = await get_json(client, "/symbols", status=404, symbol="NOPE")
    assert body["s"] == "error"
    assert "NOPE" in body["errmsg"]
    assert body["detail"] == body["errmsg"]


async def test_history_of_an_unknown_symbol_is_a_udf_error(client: Client) -> None:
    body = await get_json(client, "/history", status=404, symbol="nope", resolution="D", from_=0, to=FROZEN_NOW)
    assert body == {"s": "error", "errmsg": "Unknown symbol: NOPE", "detail": "Unknown symbol: NOPE"}


async def test_search(client: Client) -> None:
    body = await get_json(client, "/search", query="eth", type="", exchange="", limit=5)
    assert [r["symbol"] for r in body] == ["ETHUSD"]


async def test_history_matches_the_rest_datafeed_in_seconds(client: Client) -> None:
    start = FROZEN_NOW - 40 * 86400
    udf = await get_json(client, "/history", symbol="NVDA", resolution="D", from_=start, to=FROZEN_NOW)
    query = {"symbol": "NVDA", "resolution": "D", "from_time": str(start), "to_time": str(FROZEN_NOW)}
    rest = (await (await client.get("/api/v1/datafeed/bars", params=query)).json())["bars"]
    assert udf["s"] == "ok"
    assert udf["t"] == [b["time"] // 1000 for b in rest]
    for key, field in zip("ohlcv", ("open", "high", "low", "close", "volume"), strict=True):
        assert udf[key] == [b[field] for b in rest]


async def test_history_countback(client: Client) -> None:
    body = await get_json(
        client, "/history", symbol="BTCUSD", resolution="60", from_=FROZEN_NOW, to=FROZEN_NOW, countback=7
    )
    assert len(body["t"]) == 7
    assert body["t"][-1] < FROZEN_NOW


async def test_history_no_data_says_where_earlier_bars_are(client: Client) -> None:
    saturday = FROZEN_NOW - FROZEN_NOW % 86400 - 4 * 86400
    body = await get_json(client, "/history", symbol="AAPL", resolution="5", from_=saturday, to=saturday + 86400)
    assert body["s"] == "no_data"
    assert saturday - 3 * 86400 < body["nextTime"] < saturday
    ancient = await get_json(client, "/history", symbol="AAPL", resolution="1D", from_=0, to=86400)
    assert ancient == {"s": "no_data"}


async def test_history_of_an_exchange_prefixed_symbol_with_no_bars_says_where_earlier_bars_are(client: Client) -> None:
    # Was a 500: the no-data branch looked the raw `NASDAQ:AAPL` up again.
    saturday = FROZEN_NOW - FROZEN_NOW % 86400 - 4 * 86400
    plain = await get_json(client, "/history", symbol="AAPL", resolution="1", from_=saturday, to=saturday + 3600)
    prefixed = await get_json(
        client, "/history", symbol="NASDAQ:AAPL", resolution="1", from_=saturday, to=saturday + 3600
    )
    assert prefixed == plain
    assert plain["s"] == "no_data"
    assert saturday - 3 * 86400 < plain["nextTime"] < saturday


async def test_history_invalid_input_is_a_udf_error(client: Client) -> None:
    body = await get_json(client, "/history", status=422, symbol="AAPL", resolution="7", from_=1, to=2)
    assert body["s"] == "error"
    assert "resolution" in body["errors"]
    assert body["errmsg"]


async def test_quotes_state_the_trading_day_that_bars_serve(client: Client) -> None:
    body = await get_json(client, "/quotes", symbols="AAPL,btcusd,gbpusd,NOPE")
    assert body["s"] == "ok"
    assert [q["n"] for q in body["d"]] == ["AAPL", "BTCUSD", "GBPUSD", "NOPE"]
    aapl, btc, gbp, unknown = body["d"]
    await assert_quote_agrees_with_bars(client, aapl, "NASDAQ")
    await assert_quote_agrees_with_bars(client, btc, "CRYPTO")
    await assert_quote_agrees_with_bars(client, gbp, "FX")
    assert unknown == {"s": "error", "n": "NOPE", "v": {"error": "Unknown symbol: NOPE"}}


async def test_time_is_plain_seconds(client: Client) -> None:
    response = await client.get(UDF + "/time")
    assert response.content_type == "text/plain"
    assert await response.text() == str(FROZEN_NOW)

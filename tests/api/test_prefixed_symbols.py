"""An exchange-prefixed symbol (`NASDAQ:AAPL`, as TradingView sends a `full_name`) is the plain symbol on every
endpoint and every branch of it; a prefix naming another exchange is an unknown symbol, never a 500."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import FROZEN_NOW, Client

DAY = 86_400
SATURDAY = FROZEN_NOW - FROZEN_NOW % DAY - 4 * DAY
# (path, query) pairs where {s} is the symbol: each branch of each endpoint that takes one.
GETS: list[tuple[str, dict[str, Any]]] = [
    ("/api/v1/datafeed/resolve/{s}", {}),
    ("/api/v1/udf/symbols", {"symbol": "{s}"}),
    ("/api/v1/udf/quotes", {"symbols": "{s},BTCUSD"}),
    ("/api/v1/datafeed/bars", {"resolution": "60", "from_time": FROZEN_NOW - 2 * DAY, "to_time": FROZEN_NOW}),
    ("/api/v1/datafeed/bars", {"resolution": "1", "from_time": SATURDAY, "to_time": SATURDAY + 3600}),
    ("/api/v1/datafeed/bars", {"resolution": "1", "from_time": SATURDAY, "to_time": SATURDAY + 60, "count_back": 3}),
    ("/api/v1/datafeed/bars", {"resolution": "1D", "from_time": 0, "to_time": DAY}),
    ("/api/v1/udf/history", {"resolution": "60", "from": FROZEN_NOW - 2 * DAY, "to": FROZEN_NOW}),
    ("/api/v1/udf/history", {"resolution": "1", "from": SATURDAY, "to": SATURDAY + 3600}),
    ("/api/v1/udf/history", {"resolution": "1", "from": SATURDAY, "to": SATURDAY + 60, "countback": 3}),
    ("/api/v1/udf/history", {"resolution": "1D", "from": 0, "to": DAY}),
]


async def answer(client: Client, path: str, query: dict[str, Any], symbol: str) -> tuple[int, Any]:
    params = {key: str(value).format(s=symbol) for key, value in query.items()}
    if "{s}" not in path and "symbols" not in params and "symbol" not in params:
        params["symbol"] = symbol
    response = await client.get(path.format(s=symbol), params=params)
    return response.status, await response.json()


@pytest.mark.parametrize(("path", "query"), GETS)
@pytest.mark.parametrize(("prefixed", "plain"), [("NASDAQ:AAPL", "AAPL"), ("fx:eurusd", "EURUSD")])
async def test_a_prefixed_symbol_is_the_plain_one(
    client: Client, path: str, query: dict[str, Any], prefixed: str, plain: str
) -> None:
    expected = await answer(client, path, query, plain)
    assert expected[0] == 200
    got = await answer(client, path, query, prefixed)
    if "quotes" in path:
        # TradingView matches a quote to its request by `n`: the name as requested (canonical upper case).
        assert got[1]["d"][0]["n"] == prefixed.upper()
        got[1]["d"][0]["n"] = plain
    assert got == expected


@pytest.mark.parametrize(("path", "query"), GETS)
async def test_a_prefix_naming_another_exchange_is_an_unknown_symbol(
    client: Client, path: str, query: dict[str, Any]
) -> None:
    status, body = await answer(client, path, query, "FX:AAPL")
    unknown = "Unknown symbol: FX:AAPL"
    if "quotes" in path:
        assert (status, body["d"][0]) == (200, {"s": "error", "n": "FX:AAPL", "v": {"error": unknown}})
    else:
        assert (status, body["detail"]) == (404, unknown)


async def test_posted_quotes_of_prefixed_symbols_are_the_plain_ones(client: Client) -> None:
    quotes = "/api/v1/datafeed/quotes"
    plain = await (await client.post(quotes, json={"symbols": ["AAPL", "USDJPY"]})).json()
    prefixed = await (await client.post(quotes, json={"symbols": ["nasdaq:aapl", "FX:USDJPY", "CRYPTO:AAPL"]})).json()
    assert [quote["n"] for quote in prefixed] == ["NASDAQ:AAPL", "FX:USDJPY", "CRYPTO:AAPL"]
    assert [quote | {"n": name} for quote, name in zip(prefixed[:2], ["AAPL", "USDJPY"], strict=True)] == plain
    assert prefixed[2] == {"s": "error", "n": "CRYPTO:AAPL", "v": {"error": "Unknown symbol: CRYPTO:AAPL"}}

"""POST /api/v1/ingest/trades as a publisher meets it: 404 while ingest is off, 401 without the right bearer token
(compared in constant time), 422 naming each trade that breaks a rule with nothing of the request applied, and the
operation documented in the OpenAPI document."""

from __future__ import annotations

import hmac
from typing import Any

import pytest

from tests.conftest import Client, receive, reply, send
from tests.ingest.conftest import INGEST_PATH, MINUTE, START, TOKEN, MakeClient, accepted, bars, post, trade

NOW_MS = START * 1000


async def test_ingest_is_off_without_a_token(make_client: MakeClient, ingest_url: str) -> None:
    client = await make_client(ingest_url, ingest_token="")
    response = await post(client, [trade(100.0, 1, NOW_MS)])
    assert response.status == 404
    assert "INGEST_TOKEN" in (await response.json())["detail"]
    assert response.headers["X-API-Version"] == "v1"
    # Without credentials a client is asked for them, and learns nothing of the configuration.
    assert (await post(client, [trade(100.0, 1, NOW_MS)], token=None)).status == 401


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer ", "Basic dGVzdDp0ZXN0", f"Token {TOKEN}"],
    ids=["none", "empty", "no-token", "blank-token", "basic", "other-scheme"],
)
async def test_no_bearer_token_is_401(client: Client, authorization: str | None) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    response = await client.post(INGEST_PATH, json={"trades": [trade(100.0, 1, NOW_MS)]}, headers=headers)
    assert response.status == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="ingest"'
    assert "Bearer" in (await response.json())["detail"]


async def test_a_wrong_token_is_401_whatever_its_length_through_one_constant_time_comparison(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    compared: list[tuple[int, int]] = []
    original = hmac.compare_digest

    def compare_digest(a: bytes, b: bytes) -> bool:
        compared.append((len(a), len(b)))
        return original(a, b)

    monkeypatch.setattr(hmac, "compare_digest", compare_digest)
    wrong = [TOKEN[:-1] + "x", TOKEN[:5], TOKEN + "0" * 100, TOKEN.upper()]
    for token in wrong:
        response = await post(client, [trade(100.0, 1, NOW_MS)], token=token)
        assert response.status == 401
        assert response.headers["WWW-Authenticate"] == 'Bearer realm="ingest", error="invalid_token"'
    # Digests of equal length are compared, however long the token given: neither its length nor the place of its
    # first wrong character changes the work done.
    assert compared == [(32, 32)] * len(wrong)
    assert (await post(client, [trade(100.0, 1, NOW_MS)], token=f"  {TOKEN} ")).status == 200
    assert (await bars(client, "1", MINUTE, MINUTE + 60))[0]["close"] == 100.0


async def refused(client: Client, trades: list[dict[str, Any]]) -> dict[str, Any]:
    """POST trades that must be refused with 422; the answer."""
    response = await post(client, trades)
    assert response.status == 422, await response.text()
    answer: dict[str, Any] = await response.json()
    assert set(answer) == {"detail", "errors"}
    return answer


async def test_each_trade_that_breaks_a_rule_is_named_and_nothing_is_applied(client: Client) -> None:
    ws = await client.ws_connect("/api/v1/ws")
    await send(ws, "bars.subscribe", symbol="COIN", resolution="1")
    assert (await reply(ws, "bars.subscribe.response"))["payload"]["status"] == "ok"
    good = trade(100.25, 0.5, NOW_MS)
    batch = [
        good,
        trade(100.0, 1, NOW_MS, symbol="NOPE"),
        # Simulated instruments do not take trades.
        trade(65_000.0, 1, NOW_MS, symbol="BTCUSD"),
        trade(100.005, 1, NOW_MS),
        trade(100.0, 0.00001, NOW_MS),
        trade(100.0, 1, (MINUTE - 1) * 1000),
        trade(100.0, 1, NOW_MS + 2_001),
        good,
    ]
    answer = await refused(client, batch)
    errors = answer["errors"]
    assert set(errors) == {
        "trades.1.symbol",
        "trades.2.symbol",
        "trades.3.price",
        "trades.4.size",
        "trades.5.time",
        "trades.6.time",
    }
    assert "Unknown symbol NOPE" in errors["trades.1.symbol"][0]
    assert "Unknown symbol BTCUSD" in errors["trades.2.symbol"][0]
    assert "0.01" in errors["trades.3.price"][0]
    assert "volume units" in errors["trades.4.size"][0]
    assert "older than the forming 1-minute bar" in errors["trades.5.time"][0]
    assert "ahead of the server's clock" in errors["trades.6.time"][0]
    assert answer["detail"].startswith("6 of 8 trades refused, so none was applied. trades.1.symbol: Unknown symbol")
    # Nothing of the request was applied: no bar in history, none on the WebSocket (a pong comes first).
    assert await bars(client, "1", MINUTE - 3600, MINUTE + 3600) == []
    await send(ws, "ping")
    assert (await receive(ws))["type"] == "pong"
    await accepted(client, [good])
    assert [bar["close"] for bar in await bars(client, "1", MINUTE, MINUTE + 60)] == [100.25]
    await ws.close()


async def test_a_batch_of_many_bad_trades_is_not_echoed_back_whole(client: Client) -> None:
    answer = await refused(client, [trade(100.001, 1, NOW_MS)] * 150)
    assert len(answer["errors"]) == 101
    assert answer["errors"]["trades"] == ["50 more problems not listed"]
    assert answer["detail"].startswith("150 of 150 trades refused, so none was applied. trades.0.price: 100.001 is not")
    assert answer["detail"].endswith("; and 145 more")


async def test_symbols_are_case_insensitive_and_may_name_their_exchange(client: Client) -> None:
    await accepted(client, [trade(10.0, 1, NOW_MS, "coin"), trade(11.0, 2, NOW_MS + 1, "CRYPTO:Coin")])
    assert await bars(client, "1", MINUTE, MINUTE + 60) == [
        {"time": MINUTE * 1000, "open": 10.0, "high": 11.0, "low": 10.0, "close": 11.0, "volume": 3.0}
    ]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"not json", "body"),
        (b"[]", "_schema"),
        (b'{"trades": []}', "trades"),
        (b'{"trades": [], "more": 1}', "more"),
        (b'{"trades": [{"symbol": "COIN", "price": "1.5", "size": 1, "time": 1}]}', "trades.0.price"),
        (b'{"trades": [{"symbol": "COIN", "price": 1.5, "size": 1, "time": 1.5}]}', "trades.0.time"),
        (b'{"trades": [{"symbol": "COIN", "price": 1.5, "size": 1, "time": true}]}', "trades.0.time"),
        (b'{"trades": [{"symbol": "COIN", "price": -1.5, "size": 1, "time": 1}]}', "trades.0.price"),
        (b'{"trades": [{"symbol": "COIN", "price": 1.5, "size": 0, "time": 1}]}', "trades.0.size"),
        (b'{"trades": [{"symbol": "COIN", "price": 1.5, "size": 1}]}', "trades.0.time"),
        (b'{"trades": [{"symbol": "CO IN", "price": 1.5, "size": 1, "time": 1}]}', "trades.0.symbol"),
        (b'{"trades": [{"symbol": "COIN", "price": 1, "size": 1, "time": 1, "side": "buy"}]}', "trades.0.side"),
        (b'{"trades": [{"symbol": "COIN", "price": 1, "size": 1, "time": 99999999999999999999}]}', "trades.0.time"),
        (b'{"trades": [7]}', "trades.0"),
    ],
)
async def test_a_body_off_the_schema_is_422_naming_the_field(client: Client, body: bytes, field: str) -> None:
    response = await client.post(
        INGEST_PATH, data=body, headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    )
    assert response.status == 422, await response.text()
    answer = await response.json()
    assert field in answer["errors"] or (field == "_schema" and "request" in answer["errors"]), answer


async def test_too_many_trades_and_a_body_not_declared_json_are_422(client: Client) -> None:
    many = [trade(100.0, 1, NOW_MS)] * 10_001
    response = await post(client, many)
    assert response.status == 422
    assert "trades" in (await response.json())["errors"]
    response = await client.post(INGEST_PATH, data=b"{}", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status == 422
    assert "application/json" in (await response.json())["errors"]["body"][0]


async def test_ten_thousand_trades_in_one_request_are_accepted(client: Client) -> None:
    await accepted(client, [trade(100.0 + i % 7 / 100, 0.0001, NOW_MS + i % 1000) for i in range(10_000)])
    (bar,) = await bars(client, "1", MINUTE, MINUTE + 60)
    assert (bar["open"], bar["high"], bar["low"], bar["volume"]) == (100.0, 100.06, 100.0, 1.0)


async def test_the_operation_is_documented_with_every_answer(client: Client) -> None:
    spec = await (await client.get("/api/v1/openapi.json")).json()
    operation = spec["paths"][INGEST_PATH]["post"]
    assert {"200", "400", "401", "404", "405", "413", "422", "503"} <= set(operation["responses"])
    parameters = {parameter["name"]: parameter for parameter in operation["parameters"]}
    assert parameters["Authorization"]["in"] == "header"
    assert parameters["body"]["required"] is True
    body = spec["definitions"][parameters["body"]["schema"]["$ref"].rsplit("/", 1)[1]]
    trades = body["properties"]["trades"]
    assert (trades["minItems"], trades["maxItems"]) == (1, 10_000)
    trade_schema = spec["definitions"][trades["items"]["$ref"].rsplit("/", 1)[1]]
    assert set(trade_schema["required"]) == {"symbol", "price", "size", "time"}


@pytest.mark.parametrize(
    ("price", "size", "field", "said"),
    [
        (
            99999999999999999999,
            1,
            "price",
            "1e+20 is too large for COIN: at most 90,071,992,547,409.92 (2**53 ticks of 0.01)",
        ),
        (1e308, 1, "price", "1e+308 is too large for COIN: at most 90,071,992,547,409.92"),
        (
            100.0,
            1e38,
            "size",
            "1e+38 is too large for COIN: at most 900,719,925,474.0992 (2**53 volume units of 0.0001)",
        ),
        (100.0, 1e308, "size", "1e+308 is too large for COIN: at most 900,719,925,474.0992"),
        (100.0, 900_719_925_474.1, "size", "900719925474.1 is too large for COIN: at most 900,719,925,474.0992"),
    ],
)
async def test_a_number_too_large_is_refused_as_too_large_naming_the_limit(
    client: Client, price: float, size: float, field: str, said: str
) -> None:
    # The suite turns warnings into errors: a cast that overflows in the handler would answer 500, not 422.
    answer = await refused(client, [trade(price, size, NOW_MS)])
    assert list(answer["errors"]) == [f"trades.0.{field}"]
    assert answer["errors"][f"trades.0.{field}"][0].startswith(said)
    assert await bars(client, "1", MINUTE - 3600, MINUTE + 3600) == []


async def test_the_largest_price_and_size_are_taken(client: Client) -> None:
    await accepted(client, [trade(90_071_992_547_409.92, 900_719_925_474.0992, NOW_MS)])
    (bar,) = await bars(client, "1", MINUTE, MINUTE + 60)
    assert (bar["close"], bar["volume"]) == (90_071_992_547_409.92, 900_719_925_474.0992)

"""Abuse cases: every bad input gets a clear JSON error, and nothing else breaks."""

from __future__ import annotations

import io
import logging

import pytest

from app.schemas.limits import MAX_BARS
from tests.conftest import FROZEN_NOW, Client

BARS = "/api/v1/datafeed/bars"
GOOD = {"symbol": "AAPL", "resolution": "1D", "from_time": "1700000000", "to_time": "1700900000"}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"symbol": None}, "symbol"),
        ({"resolution": "2H"}, "resolution"),
        ({"resolution": ""}, "resolution"),
        ({"from_time": "yesterday"}, "from_time"),
        ({"from_time": "-1"}, "from_time"),
        ({"to_time": "1e309"}, "to_time"),
        ({"to_time": "99999999999999999999999"}, "to_time"),
        ({"to_time": "NaN"}, "to_time"),
        ({"count_back": "-3"}, "count_back"),
        ({"count_back": str(MAX_BARS + 1)}, "count_back"),
        ({"symbol": "A" * 500}, "symbol"),
        ({"to_time": "1600000000"}, "to_time"),
        ({"resolution": "1", "from_time": "0", "to_time": str(FROZEN_NOW)}, "from_time"),
    ],
)
async def test_invalid_bars_queries_are_422_with_the_field_named(
    client: Client, params: dict[str, str | None], field: str
) -> None:
    query = {k: v for k, v in (GOOD | params).items() if v is not None}
    response = await client.get(BARS, params=query)
    assert response.status == 422
    body = await response.json()
    assert field in body["errors"], body
    assert field in body["detail"]
    assert all(isinstance(m, str) for messages in body["errors"].values() for m in messages)


async def test_whole_history_of_daily_bars_is_allowed(client: Client) -> None:
    response = await client.get(BARS, params=GOOD | {"from_time": "0", "to_time": str(FROZEN_NOW)})
    body = await response.json()
    assert response.status == 200
    assert len(body["bars"]) > 3000


@pytest.mark.parametrize("symbol", ["%F0%9F%92%A5", "..%2F..%2Fetc%2Fpasswd", "AAPL%00", "%20", "a%22b", "<script>"])
async def test_odd_symbols_are_404_or_422_never_500(client: Client, symbol: str) -> None:
    response = await client.get(f"/api/v1/datafeed/resolve/{symbol}")
    assert response.status in (404, 422)
    assert (await response.json())["detail"]


@pytest.mark.parametrize(
    ("body", "content_type", "fields"),
    [
        (b'{"symbols": [', "application/json", {"body"}),
        (b"[1, 2]", "application/json", {"request"}),
        (b'{"symbols": []}', "application/json", {"symbols"}),
        (b'{"symbols": "AAPL"}', "application/json", {"symbols"}),
        (b'{"symbols": [1, null]}', "application/json", {"symbols.0", "symbols.1"}),
        (b'{"symbols": ["AAPL"], "extra": 1}', "application/json", {"extra"}),
        (b'{"symbols": ["AAPL"]}', "text/plain", {"body"}),  # a body not declared JSON is named as such
        (b"\xff\xfe", "application/json", {"body"}),
        (b'{"symbols": [' + b'"AAPL",' * 60 + b'"AAPL"]}', "application/json", {"symbols"}),
        # What a JSON parser can choke on: nesting past the recursion limit, integers past Python's
        # 4,300-digit conversion limit, numbers that overflow a float, and the non-JSON NaN/Infinity.
        (b"[" * 100_000, "application/json", {"body"}),
        (b'{"a": ' * 100_000, "application/json", {"body"}),
        (b'{"symbols": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "application/json", {"body"}),
        (b"9" * 100_000, "application/json", {"body"}),
        (b'{"symbols": [' + b"1" * 100_000 + b"]}", "application/json", {"body"}),
        (b'{"symbols": [1e999]}', "application/json", {"body"}),
        (b'{"symbols": [NaN]}', "application/json", {"body"}),
        (b'{"symbols": ["AAPL"], "x": -Infinity}', "application/json", {"body"}),
        (b'{"symbols": ["\xff"]}', "application/json", {"body"}),
        (b'{"symbols": ["\\ud800"]}', "application/json", {"symbols.0"}),
        (b'"AAPL"', "application/json", {"request"}),
        (b"null", "application/json", {"request"}),
        (b'{"symbols": ["AAPL"]}', "application/x-www-form-urlencoded", {"body"}),
        (b'{"symbols": ["AAPL"]}', "multipart/form-data; boundary=x", {"body"}),
    ],
)
async def test_bad_quote_bodies_are_422_with_the_field_named(
    client: Client, body: bytes, content_type: str, fields: set[str]
) -> None:
    response = await client.post("/api/v1/datafeed/quotes", data=body, headers={"Content-Type": content_type})
    assert response.status == 422
    answer = await response.json()
    assert set(answer["errors"]) == fields, answer
    for field, messages in answer["errors"].items():
        assert messages
        assert all(isinstance(m, str) and m for m in messages)
        assert field in answer["detail"]


async def test_oversized_body_is_a_json_413(client: Client) -> None:
    response = await client.post(
        "/api/v1/datafeed/quotes",
        data=io.BytesIO(b"x" * (2 * 1024 * 1024)),
        headers={"Content-Type": "application/json"},
    )
    assert response.status == 413
    assert (await response.json())["detail"]


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
async def test_a_body_that_does_not_decode_is_a_json_400_not_an_error(
    client: Client, encoding: str, caplog: pytest.LogCaptureFixture
) -> None:
    response = await client.post(
        "/api/v1/datafeed/quotes",
        data=b"junk, not compressed",
        headers={"Content-Type": "application/json", "Content-Encoding": encoding},
    )
    assert response.status == 400
    assert "body" in (await response.json())["detail"].lower()
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/v1/udf/history", {"symbol": "AAPL", "resolution": "1", "from": "x", "to": "1"}),
        ("/api/v1/udf/quotes", {"symbols": ""}),
        ("/api/v1/udf/quotes", {"symbols": ",".join(["AAPL"] * 51)}),
        ("/api/v1/udf/search", {"limit": "0"}),
        ("/api/v1/udf/symbols", {}),
        ("/api/v1/datafeed/search", {"max_results": "1000"}),
    ],
)
async def test_other_invalid_queries_are_422(client: Client, path: str, params: dict[str, str]) -> None:
    response = await client.get(path, params=params)
    assert response.status == 422
    body = await response.json()
    assert body["detail"]
    assert body["errors"]
    if path.startswith("/api/v1/udf"):
        assert body["s"] == "error"
        assert body["errmsg"] == body["detail"]


async def test_unknown_query_parameters_are_ignored(client: Client) -> None:
    response = await client.get(BARS, params=GOOD | {"currencyCode": "USD"})
    assert response.status == 200


async def test_static_files_cannot_escape_their_folder(client: Client) -> None:
    response = await client.get("/static/..%2F..%2Fpyproject.toml")
    assert response.status in (403, 404)
    assert "dependencies" not in await response.text()


async def test_the_server_still_answers_after_abuse(client: Client) -> None:
    for _ in range(3):
        await client.get(BARS, params={"symbol": "x" * 10_000})
        await client.post("/api/v1/datafeed/quotes", data=b"{")
    response = await client.get(BARS, params=GOOD)
    assert response.status == 200
    assert (await response.json())["bars"]


# Missing files, a folder, and an absolute path smuggled after the prefix; then the npm packages' folders.
MISSING_STATIC = ("/static/nope.js", "/static/js/nope.js", "/static/js", "/static//etc/passwd")
MISSING_VENDOR = ("/vendor/lightweight-charts/nope.mjs", "/vendor/swagger-ui/nope.css")


@pytest.mark.parametrize("path", MISSING_STATIC + MISSING_VENDOR)
async def test_missing_static_files_are_a_json_404_like_every_other_path(client: Client, path: str) -> None:
    response = await client.get(path)
    assert response.status == 404
    assert response.content_type == "application/json"
    assert await response.json() == {"detail": f"Not Found: GET {path}"}


async def test_static_files_are_still_served(client: Client) -> None:
    response = await client.get("/static/js/datafeed.js")
    assert response.status == 200
    assert response.content_type in ("text/javascript", "application/javascript")
    assert "export" in await response.text()
    vendor = await client.get("/vendor/lightweight-charts/lightweight-charts.standalone.production.mjs")
    assert vendor.status == 200
    assert "createChart" in await vendor.text()


async def test_api_index_answers_with_a_trailing_slash_too(client: Client) -> None:
    plain = await client.get("/api/v1")
    slash = await client.get("/api/v1/")
    assert slash.status == plain.status == 200
    assert slash.headers["X-API-Version"] == "v1"
    assert await slash.json() == await plain.json()
    assert (await plain.json())["datafeed"] == "/api/v1/datafeed"

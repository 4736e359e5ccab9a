"""CORS for the REST and UDF APIs and the static files (the datafeed module), through the real app."""

from __future__ import annotations

import pytest
from aiohttp import ClientResponse

from app.cli import setting_docs
from app.paths import API_PREFIX, DATAFEED_PREFIX, UDF_PREFIX, WS_PATH
from app.settings import load_settings
from tests.conftest import Client, Connect

ALLOWED = "https://charts.example.com"
FOREIGN = "https://evil.example"
ALLOW_ORIGIN = "Access-Control-Allow-Origin"
# What a cross-origin page fetches: the datafeed module, the REST and UDF APIs.
CROSS_ORIGIN_PATHS = [
    "/static/js/datafeed.js",
    f"{DATAFEED_PREFIX}/config",
    f"{DATAFEED_PREFIX}/resolve/AAPL",
    f"{UDF_PREFIX}/history?symbol=AAPL&resolution=1D&from=1767225600&to=1767830400",
]


async def preflight(client: Client, path: str, origin: str, method: str = "GET", headers: str = "") -> ClientResponse:
    """The browser's OPTIONS request before a cross-origin `method` to `path` with `headers`."""
    asked = {"Origin": origin, "Access-Control-Request-Method": method}
    if headers:
        asked["Access-Control-Request-Headers"] = headers
    return await client.options(path, headers=asked)


@pytest.mark.parametrize("path", CROSS_ORIGIN_PATHS)
async def test_a_listed_origin_may_read_answers(make_client: Connect, path: str) -> None:
    client = await make_client(cors_origins=(ALLOWED,))
    response = await client.get(path, headers={"Origin": ALLOWED})
    assert response.status == 200
    assert response.headers[ALLOW_ORIGIN] == ALLOWED
    if path.startswith(DATAFEED_PREFIX):
        assert "X-API-Version" in response.headers["Access-Control-Expose-Headers"].split(",")


@pytest.mark.parametrize("path", CROSS_ORIGIN_PATHS)
async def test_a_listed_origin_gets_its_preflight_answered(make_client: Connect, path: str) -> None:
    client = await make_client(cors_origins=(ALLOWED, "http://localhost:3000"))
    response = await preflight(client, path, ALLOWED, headers="X-Requested-With")
    assert response.status == 200
    assert response.headers[ALLOW_ORIGIN] == ALLOWED
    assert "GET" in response.headers["Access-Control-Allow-Methods"]
    assert response.headers["Access-Control-Allow-Headers"].upper() == "X-REQUESTED-WITH"


async def test_a_json_post_is_preflighted_and_allowed(make_client: Connect) -> None:
    client = await make_client(cors_origins=(ALLOWED,))
    path = f"{DATAFEED_PREFIX}/quotes"
    answer = await preflight(client, path, ALLOWED, "POST", "Content-Type")
    assert answer.status == 200
    assert answer.headers["Access-Control-Allow-Methods"] == "POST"
    response = await client.post(path, json={"symbols": ["AAPL"]}, headers={"Origin": ALLOWED})
    assert response.status == 200
    assert response.headers[ALLOW_ORIGIN] == ALLOWED
    assert (await response.json())[0]["n"] == "AAPL"


async def test_a_foreign_origin_gets_no_permission(make_client: Connect) -> None:
    client = await make_client(cors_origins=(ALLOWED,))
    path = f"{DATAFEED_PREFIX}/config"
    response = await client.get(path, headers={"Origin": FOREIGN})
    # The answer is sent (CORS is enforced by the browser), without the header that lets the page read it.
    assert response.status == 200
    assert ALLOW_ORIGIN not in response.headers
    refused = await preflight(client, path, FOREIGN)
    assert refused.status == 403
    assert ALLOW_ORIGIN not in refused.headers
    assert "detail" in await refused.json()


async def test_no_origin_is_allowed_by_default(client: Client) -> None:
    assert load_settings({}).cors_origins == ()
    path = f"{DATAFEED_PREFIX}/config"
    response = await client.get(path, headers={"Origin": ALLOWED})
    assert response.status == 200
    assert ALLOW_ORIGIN not in response.headers
    refused = await preflight(client, path, ALLOWED)
    assert refused.status == 405
    assert ALLOW_ORIGIN not in refused.headers


async def test_a_star_allows_every_origin(make_client: Connect) -> None:
    client = await make_client(cors_origins=("*",))
    for origin in (ALLOWED, FOREIGN):
        # aiohttp-cors names the asking origin, which the browser accepts as it would `*`.
        response = await client.get("/static/js/datafeed.js", headers={"Origin": origin})
        assert response.headers[ALLOW_ORIGIN] == origin
        answer = await preflight(client, f"{UDF_PREFIX}/config", origin)
        assert answer.status == 200
        assert answer.headers[ALLOW_ORIGIN] == origin
    # No credentials: `*` must never hand a page the user's cookies.
    assert "Access-Control-Allow-Credentials" not in response.headers


async def test_the_websocket_keeps_its_own_origin_check(make_client: Connect) -> None:
    client = await make_client(cors_origins=(ALLOWED,))
    async with client.ws_connect(WS_PATH, headers={"Origin": ALLOWED}) as ws:
        assert not ws.closed
    refused = await client.get(WS_PATH, headers={"Origin": FOREIGN, "Upgrade": "websocket"})
    assert refused.status == 403


@pytest.mark.parametrize("origins", [(ALLOWED,), ("*",)])
async def test_every_answer_of_a_cors_path_varies_by_origin(make_client: Connect, origins: tuple[str, ...]) -> None:
    # The allowed origin is named in the answer, so a shared cache must not give one origin's answer to another.
    client = await make_client(cors_origins=origins)
    answers = [
        await client.get(f"{DATAFEED_PREFIX}/config", headers={"Origin": ALLOWED}),
        await client.get(f"{DATAFEED_PREFIX}/config", headers={"Origin": FOREIGN}),
        await client.get(f"{DATAFEED_PREFIX}/config"),
        await client.get("/static/js/datafeed.js", headers={"Origin": ALLOWED}),
        await client.get(f"{UDF_PREFIX}/nope", headers={"Origin": ALLOWED}),
        await preflight(client, f"{UDF_PREFIX}/config", ALLOWED),
    ]
    for response in answers:
        vary = [token.strip().lower() for token in response.headers.get("Vary", "").split(",")]
        assert "origin" in vary, (response.url, response.status, response.headers)


async def test_the_index_and_json_errors_under_the_api_are_readable_cross_origin(make_client: Connect) -> None:
    client = await make_client(cors_origins=(ALLOWED,))
    index = await client.get(API_PREFIX, headers={"Origin": ALLOWED})
    assert index.status == 200
    assert index.headers[ALLOW_ORIGIN] == ALLOWED
    for method, path, status in [
        ("GET", f"{DATAFEED_PREFIX}/no-such-thing", 404),
        ("DELETE", f"{DATAFEED_PREFIX}/config", 405),
    ]:
        response = await client.request(method, path, headers={"Origin": ALLOWED})
        assert response.status == status
        assert response.headers[ALLOW_ORIGIN] == ALLOWED
        assert (await response.json())["detail"]
        foreign = await client.request(method, path, headers={"Origin": FOREIGN})
        assert foreign.status == status
        assert ALLOW_ORIGIN not in foreign.headers
    # Outside the CORS paths nothing changes: the page and the metrics are not for other origins.
    assert ALLOW_ORIGIN not in (await client.get("/no-such-page", headers={"Origin": ALLOWED})).headers


def test_the_help_says_cors_origins_opens_the_apis_not_only_the_websocket() -> None:
    explained = next(doc.description for doc in setting_docs() if doc.name == "CORS_ORIGINS")
    assert "CORS" in explained
    assert "REST" in explained
    assert "WebSocket" in explained

"""API index, health, versions, the version header and unknown paths."""

from __future__ import annotations

import io
import re

import pytest

from tests.conftest import Client

VERSION_FIELDS = {"version", "release_date", "status", "breaking_changes", "deprecation_notice", "sunset_date"}


async def test_api_index_lists_every_entry_point(client: Client) -> None:
    response = await client.get("/api/v1")
    assert response.status == 200
    body = await response.json()
    assert body["current_api_version"] == "v1"
    assert body["documentation"] == "/api/v1/docs"
    assert body["health"] == "/api/v1/health"
    assert body["versions"] == "/api/v1/versions"
    assert body["datafeed"] == "/api/v1/datafeed"
    bars = body["websockets"]["bars"]
    assert bars["endpoint"] == "/api/v1/ws"
    assert bars["spec"] == "/api/v1/ws/asyncapi.json"
    assert bars["docs"] == "/api/v1/ws/asyncapi"
    assert set(bars["operations"]) >= {"bars.subscribe", "bars.unsubscribe", "bars.update"}
    assert {"name", "version"} <= body.keys()


async def test_root_answers_json_clients_with_the_index(client: Client) -> None:
    response = await client.get("/", headers={"Accept": "application/json"})
    assert response.content_type == "application/json"
    assert (await response.json()) == await (await client.get("/api/v1")).json()


@pytest.mark.parametrize(
    "accept",
    ["text/html", "*/*", "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8"],
)
async def test_root_serves_html_to_browsers(client: Client, accept: str) -> None:
    response = await client.get("/", headers={"Accept": accept})
    assert response.status == 200
    assert response.content_type == "text/html"
    assert "Simulated data" in await response.text()


async def test_health(client: Client) -> None:
    body = await (await client.get("/api/v1/health")).json()
    assert body["status"] == "ok"
    assert body["api_version"] == "v1"
    assert body["message"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", body["timestamp"])
    assert set(body["version_info"]) == VERSION_FIELDS


async def test_versions(client: Client) -> None:
    body = await (await client.get("/api/v1/versions")).json()
    assert body["current_version"] == "v1"
    versions = {v["version"]: v for v in body["available_versions"]}
    assert versions["v1"]["status"] == "stable"
    assert all(v["status"] in {"stable", "beta", "deprecated", "sunset", "planned"} for v in versions.values())
    assert body["documentation_url"]
    assert body["support_contact"]


async def test_version(client: Client) -> None:
    body = await (await client.get("/api/v1/version")).json()
    assert set(body) == VERSION_FIELDS
    assert body["version"] == "v1"
    assert body["status"] == "stable"
    assert body["breaking_changes"] == []


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1",
        "/api/v1/health",
        "/api/v1/datafeed/config",
        "/api/v1/udf/time",
        "/api/v1/openapi.json",
        "/api/v1/no-such-thing",
        "/api/v1/datafeed/resolve/NOPE",
        "/api/v1/datafeed/bars",
    ],
)
async def test_every_api_answer_names_the_version(client: Client, path: str) -> None:
    response = await client.get(path)
    assert response.headers["X-API-Version"] == "v1"


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("POST", "/api/v1/datafeed/quotes", b'{"symbols": ["AAPL"]}', 200),
        ("POST", "/api/v1/datafeed/quotes", b'{"symbols": []}', 422),
        ("POST", "/api/v1/datafeed/quotes", b"[" * (2 * 1024 * 1024), 413),
        ("GET", "/api/v1/datafeed/quotes", b"", 405),
        ("DELETE", "/api/v1/health", b"", 405),
    ],
)
async def test_answers_to_other_methods_and_bodies_name_the_version(
    client: Client, method: str, path: str, body: bytes, status: int
) -> None:
    # A stream, as aiohttp warns that a large body of raw bytes would hold up the event loop.
    data = io.BytesIO(body) if body else None
    response = await client.request(method, path, data=data, headers={"Content-Type": "application/json"})
    assert response.status == status
    assert response.headers["X-API-Version"] == "v1"
    assert response.content_type == "application/json"


async def test_unknown_path_is_a_json_404(client: Client) -> None:
    response = await client.get("/definitely/not/here")
    assert response.status == 404
    assert "/definitely/not/here" in (await response.json())["detail"]


async def test_wrong_method_is_a_json_405_with_allow(client: Client) -> None:
    response = await client.delete("/api/v1/health")
    assert response.status == 405
    assert "GET" in response.headers["Allow"]
    assert (await response.json())["detail"]

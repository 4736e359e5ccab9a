"""The OpenAPI (Swagger 2.0) document and the Swagger UI page that renders it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

import pytest
from openapi_spec_validator import OpenAPIV2SpecValidator, validate

from app.paths import API_PREFIX, ASYNCAPI_JSON_PATH, ASYNCAPI_PAGE_PATH, DOCS_PATH, OPENAPI_PATH, WS_PATH
from app.schemas.limits import MAX_BARS
from tests.conftest import Client

HTTP_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch"})
INPUT_PREFIXES = ("/api/v1/datafeed/", "/api/v1/udf/")
SYMBOL_PATHS = {
    "/api/v1/datafeed/resolve/{symbol}",
    "/api/v1/datafeed/bars",
    "/api/v1/udf/symbols",
    "/api/v1/udf/history",
}
# The documents and their pages, and the WebSocket (which the AsyncAPI document describes).
# The documents themselves, the WebSocket (AsyncAPI's), and the index's trailing-slash spelling.
UNDOCUMENTED_PATHS = {OPENAPI_PATH, DOCS_PATH, WS_PATH, ASYNCAPI_JSON_PATH, ASYNCAPI_PAGE_PATH, f"{API_PREFIX}/"}
ABSOLUTE_URL = re.compile(r"""https?://[^\s"'<>()]+""", re.IGNORECASE)
PROTOCOL_RELATIVE_URL = re.compile(r"""(?:src|href|url)\s*[=:]\s*["']//""", re.IGNORECASE)

Operation = dict[str, Any]


@pytest.fixture
async def spec(client: Client) -> dict[str, Any]:
    """The document exactly as the server serves it."""
    response = await client.get(OPENAPI_PATH)
    assert response.status == 200
    assert response.content_type == "application/json"
    document: dict[str, Any] = await response.json()
    return document


def operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, Operation]]:
    """Every (path, method, operation object) of the document."""
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield path, method, operation


def label(path: str, method: str) -> str:
    """How a failure message names an operation."""
    return f"{method.upper()} {path}"


class AssetCollector(HTMLParser):
    """Collects the URLs of the scripts, stylesheets and icons a page loads."""

    def __init__(self) -> None:
        super().__init__()
        self.assets: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Record `<script src>` and `<link href>`."""
        attributes = dict(attrs)
        url = attributes.get("src") if tag == "script" else attributes.get("href") if tag == "link" else None
        if url:
            self.assets.append(url)


def test_openapi_document_is_valid_swagger_2(spec: dict[str, Any]) -> None:
    """The document is Swagger 2.0 and passes the v2 validator."""
    assert spec["swagger"] == "2.0"
    validate(spec, cls=OpenAPIV2SpecValidator)


def test_document_covers_every_api_area(spec: dict[str, Any]) -> None:
    """The meta, datafeed and UDF endpoints are all documented."""
    paths = set(spec["paths"])
    assert {"/api/v1", "/api/v1/health", "/api/v1/datafeed/config", "/api/v1/udf/config"} <= paths
    assert paths >= SYMBOL_PATHS


def test_every_operation_has_summary_tags_and_success_response(spec: dict[str, Any]) -> None:
    """Each operation has a summary, a known tag and a documented 200."""
    known_tags = {tag["name"] for tag in spec["tags"]}
    problems = []
    for path, method, operation in operations(spec):
        if not operation.get("summary"):
            problems.append(f"{label(path, method)}: no summary")
        tags = operation.get("tags") or []
        if not tags or not set(tags) <= known_tags:
            problems.append(f"{label(path, method)}: tags {tags!r} not among {sorted(known_tags)}")
        if "200" not in operation.get("responses", {}):
            problems.append(f"{label(path, method)}: no 200 response")
    assert not problems


async def test_every_api_route_is_documented(client: Client, spec: dict[str, Any]) -> None:
    """Each method and path the server routes under /api/v1 is an operation of the document.

    Not the documents themselves, nor the WebSocket, which the AsyncAPI document describes.
    """
    documented = {(path, method) for path, method, _ in operations(spec)}
    routed = {
        (route.resource.canonical, route.method.lower())
        for route in client.app.router.routes()
        if route.resource is not None
        and route.resource.canonical.startswith(API_PREFIX)
        and route.resource.canonical not in UNDOCUMENTED_PATHS
        and route.method != "HEAD"
    }
    assert len(routed) >= 15
    assert routed - documented == set()


def test_quotes_document_every_error_answer(spec: dict[str, Any]) -> None:
    """POST /quotes answers 405 to other methods on its path, 413 to a body too large, 422 to a bad one."""
    responses = spec["paths"]["/api/v1/datafeed/quotes"]["post"]["responses"]
    assert {"200", "405", "413", "422"} <= set(responses)


def test_operations_taking_input_document_422(spec: dict[str, Any]) -> None:
    """Every datafeed and UDF operation with parameters documents its validation error."""
    with_input = [
        (path, method, operation)
        for path, method, operation in operations(spec)
        if path.startswith(INPUT_PREFIXES) and operation.get("parameters")
    ]
    assert with_input
    missing = [label(path, method) for path, method, operation in with_input if "422" not in operation["responses"]]
    assert not missing


def test_operations_taking_a_symbol_document_404(spec: dict[str, Any]) -> None:
    """Resolve, bars, UDF symbols and UDF history document the unknown-symbol answer."""
    taking_symbol = {
        (path, method): operation
        for path, method, operation in operations(spec)
        if any(parameter.get("name") == "symbol" for parameter in operation.get("parameters", []))
    }
    assert {path for path, _ in taking_symbol} == SYMBOL_PATHS
    missing = [
        label(path, method)
        for (path, method), operation in taking_symbol.items()
        if "404" not in operation["responses"]
    ]
    assert not missing


@pytest.mark.parametrize(
    ("path", "count_parameter"), [("/api/v1/datafeed/bars", "count_back"), ("/api/v1/udf/history", "countback")]
)
def test_history_operations_state_their_limits(spec: dict[str, Any], path: str, count_parameter: str) -> None:
    """The bar endpoints' descriptions name the most bars one request may ask for."""
    description = spec["paths"][path]["get"]["description"]
    assert str(MAX_BARS) in description
    assert count_parameter in description


async def test_swagger_ui_loads_the_document(client: Client) -> None:
    """The docs page is HTML pointing Swagger UI at the served document."""
    response = await client.get(DOCS_PATH)
    assert response.status == 200
    assert response.content_type == "text/html"
    html = await response.text()
    assert f'"{OPENAPI_PATH}"' in html
    assert (await client.get(OPENAPI_PATH)).status == 200


async def test_swagger_ui_assets_are_served_by_us(client: Client) -> None:
    """Every script, stylesheet and icon of the docs page comes from this server."""
    html = await (await client.get(DOCS_PATH)).text()
    collector = AssetCollector()
    collector.feed(html)
    collector.close()
    scripts = [url for url in collector.assets if url.endswith(".js")]
    stylesheets = [url for url in collector.assets if url.endswith(".css")]
    assert scripts
    assert stylesheets
    # A data: URL (the empty favicon) is inline: the browser fetches nothing for it.
    fetched = [url for url in collector.assets if urlsplit(url).scheme != "data"]
    for url in fetched:
        parts = urlsplit(url)
        assert not parts.scheme
        assert not parts.netloc
        assert parts.path.startswith(("/vendor/swagger-ui/", "/static/docs/"))
        asset = await client.get(url)
        assert asset.status == 200, url
        assert await asset.read(), url
    for url in scripts:
        assert "javascript" in (await client.get(url)).content_type, url
    for url in stylesheets:
        assert (await client.get(url)).content_type == "text/css", url


async def test_swagger_ui_page_works_offline(client: Client) -> None:
    """The docs page names no other host, so it renders without the internet."""
    html = await (await client.get(DOCS_PATH)).text()
    own_host = f"{client.host}:{client.port}"
    foreign = [url for url in ABSOLUTE_URL.findall(html) if urlsplit(url).netloc != own_host]
    assert not foreign
    assert not PROTOCOL_RELATIVE_URL.findall(html)

"""The REST and WebSocket documentation pages render in a real browser, from this server alone."""

from __future__ import annotations

import pytest

from app.paths import ASYNCAPI_JSON_PATH, ASYNCAPI_PAGE_PATH, DATAFEED_PREFIX, DOCS_PATH, OPENAPI_PATH
from tests.e2e.conftest import OpenPage


def test_swagger_ui_lists_our_operations_offline(open_page: OpenPage, server: str) -> None:
    watched = open_page(f"{server}{DOCS_PATH}")
    page = watched.page
    bars = page.locator(f".opblock-get:has(.opblock-summary-path[data-path='{DATAFEED_PREFIX}/bars'])")
    bars.wait_for()
    quotes = page.locator(f".opblock-post:has(.opblock-summary-path[data-path='{DATAFEED_PREFIX}/quotes'])")
    assert quotes.count() == 1
    assert "Trading Pro API" in page.locator(".information-container .title").inner_text()
    bars.locator(".opblock-summary").click()
    # The operation's answers as documented: 200 with the bars, 404 for an unknown symbol, 422 for bad input.
    codes = bars.locator(".responses-table .response-col_status").all_inner_texts()
    assert {"200", "404", "422"} <= {code.strip() for code in codes}, codes
    watched.screenshot("swagger-ui")
    assert watched.requests
    assert watched.foreign(server) == []
    assert watched.errors == []


def test_asyncapi_viewer_shows_our_channel_and_messages_offline(open_page: OpenPage, server: str) -> None:
    watched = open_page(f"{server}{ASYNCAPI_PAGE_PATH}")
    page = watched.page
    page.get_by_text("bars.subscribe", exact=True).first.wait_for()
    text = page.locator("#asyncapi").inner_text()
    assert "Trading Pro WebSocket bar feed" in text
    for message in ("bars.subscribe", "bars.unsubscribe", "bars.update", "ping", "pong"):
        assert message in text, message
    watched.screenshot("asyncapi")
    assert watched.requests
    assert watched.foreign(server) == []
    assert watched.errors == []


@pytest.mark.parametrize(
    ("path", "library", "spec"),
    [
        (DOCS_PATH, "**/vendor/swagger-ui/**", OPENAPI_PATH),
        (ASYNCAPI_PAGE_PATH, "**/vendor/asyncapi/**", ASYNCAPI_JSON_PATH),
    ],
)
def test_a_missing_viewer_is_explained_with_a_link_to_the_document(
    open_page: OpenPage, server: str, path: str, library: str, spec: str
) -> None:
    watched = open_page(f"{server}{path}", block=(library,))
    alert = watched.page.get_by_role("alert")
    alert.wait_for()
    assert "npm ci" in alert.inner_text()
    assert alert.locator("a").get_attribute("href") == spec
    assert not any("is not defined" in error for error in watched.errors), watched.errors

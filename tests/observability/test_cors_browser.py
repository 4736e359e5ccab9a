"""The README's cross-origin example in a real browser (chromium): a page on another origin imports the datafeed
module and resolves a symbol when its origin is in CORS_ORIGINS, and is refused otherwise."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import Browser

from tests.e2e.conftest import browser
from tests.live_server import HOST, LiveServer, serving

# The other site's page, served from another port of loopback (another origin, and, unlike a routed page, in the
# same address space as the API, so the browser's private-network rules stay out of the way).
PAGE = """<!doctype html><title>another site</title><script type="module">
const base = new URLSearchParams(location.search).get("api");
try {
  const { Datafeed } = await import(`${base}/static/js/datafeed.js`);
  new Datafeed({ baseUrl: base }).resolveSymbol(
    "AAPL", (info) => { window.outcome = "resolved " + info.name; }, (error) => { window.outcome = "error " + error; });
} catch (error) {
  window.outcome = "import failed";
}
</script>"""

__all__ = ["browser"]  # the chromium fixture of the browser tests, shared


class _Page(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = PAGE.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the test reads what the page did, not this server's log."""


@pytest.fixture(scope="module")
def page_origin() -> Iterator[str]:
    """The other site: `http://127.0.0.1:PORT` serving PAGE."""
    site = ThreadingHTTPServer((HOST, 0), _Page)
    thread = threading.Thread(target=site.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{HOST}:{site.server_address[1]}"
    finally:
        site.shutdown()
        site.server_close()
        thread.join()


@pytest.fixture(scope="module")
def servers(page_origin: str) -> Iterator[tuple[LiveServer, LiveServer]]:
    """A server that lists the page's origin, and one with the default (no origin)."""
    quiet = {"LOG_LEVEL": "WARNING"}
    with serving(quiet | {"CORS_ORIGINS": page_origin}) as listing, serving(quiet) as default:
        yield listing, default


def outcome(browser: Browser, page_origin: str, server: LiveServer) -> str:
    """What the page on `page_origin` achieved with `server`: resolved, an error, or a failed import."""
    context = browser.new_context()
    try:
        tab = context.new_page()
        tab.goto(f"{page_origin}/chart.html?api={server.base_url}")
        tab.wait_for_function("() => window.outcome !== undefined", timeout=20_000)
        result: str = tab.evaluate("() => window.outcome")
        return result
    finally:
        context.close()


def test_a_listed_origin_imports_the_datafeed_module_and_uses_the_api(
    browser: Browser, page_origin: str, servers: tuple[LiveServer, LiveServer]
) -> None:
    assert outcome(browser, page_origin, servers[0]) == "resolved AAPL"


def test_without_the_origin_listed_the_browser_refuses_the_module(
    browser: Browser, page_origin: str, servers: tuple[LiveServer, LiveServer]
) -> None:
    assert outcome(browser, page_origin, servers[1]) == "import failed"

"""The chart page in a real browser (Debian's chromium driven by Playwright) against a real server."""

from __future__ import annotations

import itertools
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.live_server import ROOT, serving

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# As root and with no network but loopback: no sandbox, and none of chromium's own background traffic.
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = ROOT / "build" / "e2e"
BARS_LOADED = "n => window.tradingPro && window.tradingPro.view.shown && window.tradingPro.view.bars.length >= n"
SHOWN = "shown => window.tradingPro.view.shown === shown"


@dataclass
class Watched:
    """A page with what it logged and requested."""

    page: Page
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def bars(self) -> list[dict[str, Any]]:
        bars: list[dict[str, Any]] = self.page.evaluate("() => window.tradingPro.view.bars")
        return bars

    def wait_for_new_last_bar(self) -> dict[str, Any]:
        """Wait until a live update changes the last candle; the new last bar."""
        last = json.dumps(self.bars()[-1], separators=(",", ":"))
        self.page.wait_for_function(
            "last => { const b = window.tradingPro.view.bars; return JSON.stringify(b[b.length - 1]) !== last }",
            arg=last,
        )
        return self.bars()[-1]

    def screenshot(self, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=SCREENSHOTS / f"{name}.png")


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with serving({"BAR_BROADCASTER_INTERVAL": "0.2", "LOG_LEVEL": "WARNING"}) as live:
        yield live.base_url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert Path(CHROMIUM).exists(), "chromium is missing: `make test` installs it with apt-get"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield launched
        launched.close()


def open_page(browser: Browser, url: str, width: int = 1280, height: int = 800) -> Watched:
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    watched = Watched(page)
    page.on("console", lambda message: watched.errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: watched.errors.append(str(error)))
    page.on("request", lambda request: watched.requests.append(request.url))
    page.goto(url)
    return watched


def test_page_draws_candles_with_no_errors_and_no_foreign_requests(browser: Browser, server: str) -> None:
    watched = open_page(browser, f"{server}/?symbol=BTCUSD&resolution=5")
    watched.page.wait_for_function(BARS_LOADED, arg=300)
    drawn = watched.page.evaluate("() => window.tradingPro.view.candles.data().length")
    assert drawn >= 300
    assert all(bar["time"] % 300_000 == 0 for bar in watched.bars())
    assert watched.page.locator("#legend").inner_text().startswith("BTCUSD · 5")
    assert "Simulated data" in watched.page.locator(".badge").inner_text()
    watched.page.wait_for_function(
        "() => document.querySelector('#watchlist tr[data-symbol=\"AAPL\"] td:nth-child(2)').textContent !== '…'"
    )
    watched.screenshot("btcusd-5")
    assert watched.errors == []
    assert watched.requests
    assert all(url.startswith(server) for url in watched.requests), watched.requests


def test_live_update_changes_the_last_candle(browser: Browser, server: str) -> None:
    watched = open_page(browser, f"{server}/?symbol=BTCUSD&resolution=1")
    watched.page.wait_for_function(BARS_LOADED, arg=300)
    last = watched.bars()[-1]
    now = watched.wait_for_new_last_bar()
    assert now["time"] >= last["time"]
    assert watched.page.locator("#status").get_attribute("data-status") == "connected"


def test_switching_resolution_and_symbol(browser: Browser, server: str) -> None:
    watched = open_page(browser, f"{server}/?symbol=BTCUSD&resolution=1")
    page = watched.page
    page.wait_for_function(BARS_LOADED, arg=300)
    page.click("button[data-resolution='15']")
    page.wait_for_function(SHOWN, arg="BTCUSD:15")
    assert "resolution=15" in page.url
    assert all(bar["time"] % 900_000 == 0 for bar in watched.bars())

    page.fill("#search", "eth")
    page.wait_for_selector("#search-results li[data-symbol='ETHUSD']")
    page.keyboard.press("Enter")
    page.wait_for_function(SHOWN, arg="ETHUSD:15")
    assert "symbol=ETHUSD" in page.url
    assert "resolution=15" in page.url
    # Let live updates arrive, then look for stray candles of the old topic (BTC trades near 40,000).
    watched.wait_for_new_last_bar()
    assert max(bar["high"] for bar in watched.bars()) < 20_000
    topics = page.evaluate("() => [...window.tradingPro.datafeed._listeners.values()].map(l => l.topic)")
    assert topics == ["bars:ETHUSD:15"]
    watched.screenshot("ethusd-15")
    assert watched.errors == []


def test_watchlist_click_charts_the_instrument(browser: Browser, server: str) -> None:
    watched = open_page(browser, f"{server}/?symbol=BTCUSD&resolution=1D")
    page = watched.page
    page.wait_for_function(BARS_LOADED, arg=300)
    page.click("#watchlist tr[data-symbol='EURUSD']")
    page.wait_for_function(SHOWN, arg="EURUSD:1D")
    assert page.locator("#watchlist tr[aria-current='true']").get_attribute("data-symbol") == "EURUSD"
    assert max(bar["high"] for bar in watched.bars()) < 10


def test_scrolling_left_loads_older_bars_until_no_data(browser: Browser, server: str) -> None:
    watched = open_page(browser, f"{server}/?symbol=AAPL&resolution=1W")
    page = watched.page
    page.wait_for_function(BARS_LOADED, arg=300)
    box = page.locator("#chart").bounding_box()
    assert box is not None
    y = box["y"] + box["height"] / 2
    for _ in range(40):  # drag the chart to the right, as a user scrolls back in time
        page.mouse.move(box["x"] + 100, y)
        page.mouse.down()
        page.mouse.move(box["x"] + box["width"] - 120, y, steps=5)
        page.mouse.up()
        if page.evaluate("() => window.tradingPro.view.noMoreHistory && !window.tradingPro.view.loadingOlder"):
            break
    bars = watched.bars()
    assert len(bars) > 300, "older bars were loaded"
    assert bars[0]["time"] == 1_409_529_600_000, "paging stopped at the first bar of history (2014-09-01)"
    times = [bar["time"] for bar in bars]
    assert times == sorted(set(times))
    visible = page.evaluate("() => window.tradingPro.view.chart.timeScale().getVisibleRange()")
    assert visible["from"] * 1000 <= bars[-1]["time"], "the view stays on the data"
    assert watched.errors == []


def test_phone_viewport(browser: Browser, server: str) -> None:
    watched = open_page(browser, f"{server}/?symbol=BTCUSD&resolution=5", width=375, height=740)
    page = watched.page
    page.wait_for_function(BARS_LOADED, arg=300)
    assert page.evaluate("() => document.scrollingElement.scrollWidth") <= 375
    chart = page.locator("#chart").bounding_box()
    watchlist = page.locator(".watchlist").bounding_box()
    assert chart is not None
    assert watchlist is not None
    assert 300 <= chart["width"] <= 375
    assert watchlist["y"] >= chart["y"] + chart["height"] - 1, "the watchlist goes below the chart"
    watched.screenshot("phone")
    assert watched.errors == []


def test_theme_switch(browser: Browser, server: str) -> None:
    watched = open_page(browser, f"{server}/")
    page = watched.page
    page.wait_for_function(BARS_LOADED, arg=100)
    before = page.evaluate("() => document.documentElement.dataset.theme")
    page.click("#theme")
    after = page.evaluate("() => document.documentElement.dataset.theme")
    assert {before, after} == {"dark", "light"}
    watched.screenshot(f"theme-{after}")


def test_reconnects_after_the_socket_ends_without_a_gap(browser: Browser) -> None:
    env = {"BAR_BROADCASTER_INTERVAL": "0.2", "WS_MAX_CONNECTION_LIFESPAN": "2", "LOG_LEVEL": "WARNING"}
    with serving(env) as live:
        base_url = live.base_url
        watched = open_page(browser, f"{base_url}/?symbol=BTCUSD&resolution=1")
        page = watched.page
        page.wait_for_function(BARS_LOADED, arg=300)
        page.wait_for_function("() => document.querySelector('#status').dataset.status === 'reconnecting'")
        page.wait_for_function("() => document.querySelector('#status').dataset.status === 'connected'")
        watched.wait_for_new_last_bar()
        times = [bar["time"] for bar in watched.bars()]
        assert all(b - a == 60_000 for a, b in itertools.pairwise(times)), "no missing minute"
        assert watched.errors == []


def test_server_down_shows_a_readable_error(browser: Browser) -> None:
    with serving({"LOG_LEVEL": "WARNING"}) as live:
        watched = open_page(browser, f"{live.base_url}/?symbol=BTCUSD&resolution=1")
        watched.page.wait_for_function(BARS_LOADED, arg=300)
    page = watched.page
    page.wait_for_function("() => document.querySelector('#status').dataset.status === 'offline'", timeout=30_000)
    banner = page.locator("#error")
    assert banner.is_visible()
    assert "Server unreachable" in banner.inner_text()
    watched.screenshot("offline")

"""The chart page in a real browser (Debian's chromium driven by Playwright) against a real server."""

from __future__ import annotations

import contextlib
import time
import urllib.request

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests.conftest import aggregate
from tests.e2e.browser import BARS_LOADED, SHOWN, STATUS, served_bars
from tests.e2e.conftest import OpenPage
from tests.live_server import serving

FIVE_MINUTES_MS = 300_000


def test_page_draws_candles_with_no_errors_and_no_foreign_requests(open_page: OpenPage, server: str) -> None:
    watched = open_page(f"{server}/?symbol=BTCUSD&resolution=5")
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
    assert any(url.startswith("ws://") for url in watched.requests), "the live feed's socket"
    assert watched.foreign(server) == []


def test_the_forming_bar_follows_the_minute_bars_of_its_period(open_page: OpenPage, server: str) -> None:
    """The forming 5-minute candle lies between two readings of its period's 1-minute bars from /bars, one
    taken before it formed and one after: same start and open; high, low and volume within the two (they only
    grow outward as the period goes on). Comparing with the function that serves it would prove nothing."""
    watched = open_page(f"{server}/?symbol=BTCUSD&resolution=5")
    watched.page.wait_for_function(BARS_LOADED, arg=300)
    for _attempt in range(3):  # a period may end between the readings: then the next one is checked
        start = int(time.time() * 1000) // FIVE_MINUTES_MS * FIVE_MINUTES_MS
        before = aggregate(served_bars(server, "BTCUSD", "1", start, start + FIVE_MINUTES_MS), start)
        # The server counts whole seconds: an update received a second after the first reading formed after it.
        watched.page.wait_for_function("t => Date.now() >= t", arg=int(time.time() * 1000) + 1000)
        live = watched.wait_for_new_last_bar()
        after = aggregate(served_bars(server, "BTCUSD", "1", start, start + FIVE_MINUTES_MS), start)
        if live["time"] == start:
            break
    else:
        pytest.fail("three periods ended during their check")
    context = {"before": before, "live": live, "after": after}
    assert live["open"] == before["open"], context
    assert before["high"] <= live["high"] <= after["high"], context
    assert before["low"] >= live["low"] >= after["low"], context
    assert round(before["volume"], 8) <= round(live["volume"], 8) <= round(after["volume"], 8), context
    assert watched.page.locator("#status").get_attribute("data-status") == "connected"


def test_switching_resolution_and_symbol(open_page: OpenPage, server: str) -> None:
    watched = open_page(f"{server}/?symbol=BTCUSD&resolution=1")
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


def test_watchlist_click_charts_the_instrument(open_page: OpenPage, server: str) -> None:
    watched = open_page(f"{server}/?symbol=BTCUSD&resolution=1D")
    page = watched.page
    page.wait_for_function(BARS_LOADED, arg=300)
    page.click("#watchlist tr[data-symbol='EURUSD']")
    page.wait_for_function(SHOWN, arg="EURUSD:1D")
    assert page.locator("#watchlist tr[aria-current='true']").get_attribute("data-symbol") == "EURUSD"
    assert max(bar["high"] for bar in watched.bars()) < 10


def test_scrolling_left_loads_older_bars_until_no_data(open_page: OpenPage, server: str) -> None:
    watched = open_page(f"{server}/?symbol=AAPL&resolution=1W")
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
    # History begins on Monday 2014-09-01, Labor Day: AAPL's first week is stamped at its first trading day.
    assert bars[0]["time"] == 1_409_616_000_000, "paging stopped at the first bar of history (2014-09-02)"
    times = [bar["time"] for bar in bars]
    assert times == sorted(set(times))
    visible = page.evaluate("() => window.tradingPro.view.chart.timeScale().getVisibleRange()")
    assert visible["from"] * 1000 <= bars[-1]["time"], "the view stays on the data"
    assert watched.errors == []


def test_phone_viewport(open_page: OpenPage, server: str) -> None:
    watched = open_page(f"{server}/?symbol=BTCUSD&resolution=5", width=375, height=740)
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


def test_theme_switch(open_page: OpenPage, server: str) -> None:
    watched = open_page(f"{server}/")
    page = watched.page
    page.wait_for_function(BARS_LOADED, arg=100)
    before = page.evaluate("() => document.documentElement.dataset.theme")
    page.click("#theme")
    after = page.evaluate("() => document.documentElement.dataset.theme")
    assert {before, after} == {"dark", "light"}
    watched.screenshot(f"theme-{after}")


def test_an_unknown_symbol_is_named_and_the_chart_stays(open_page: OpenPage, server: str) -> None:
    watched = open_page(f"{server}/?symbol=BTCUSD&resolution=1")
    page = watched.page
    page.wait_for_function(BARS_LOADED, arg=300)
    page.fill("#search", "nope")
    page.keyboard.press("Enter")
    page.wait_for_function("() => !document.querySelector('#error').hidden")
    assert watched.banner() == "Unknown symbol: NOPE"
    assert page.evaluate("() => window.tradingPro.view.shown") == "BTCUSD:1"
    assert "symbol=BTCUSD" in page.url


def test_server_down_is_told_from_an_unknown_symbol(open_page: OpenPage) -> None:
    with serving({"LOG_LEVEL": "WARNING"}) as live:
        watched = open_page(f"{live.base_url}/?symbol=BTCUSD&resolution=1")
        watched.page.wait_for_function(BARS_LOADED, arg=300)
    page = watched.page
    page.wait_for_function(STATUS, arg="offline", timeout=30_000)
    assert watched.banner() == "Server unreachable; retrying…"
    watched.screenshot("offline")
    # Choosing a chart now fails for want of an answer, not because the symbol is unknown.
    said = page.evaluate(
        """async () => {
            await window.tradingPro.select("ETHUSD", "15");
            return document.querySelector("#error").textContent;
        }"""
    )
    assert said.startswith("Server unreachable: cannot load ETHUSD"), said
    assert page.evaluate("() => window.tradingPro.view.shown") == "BTCUSD:1"


def test_a_missing_chart_library_is_explained_and_the_rest_works(open_page: OpenPage, server: str) -> None:
    # As when node_modules lacks lightweight-charts: the server answers 404 for its files.
    watched = open_page(f"{server}/?symbol=BTCUSD&resolution=1", block=("**/vendor/lightweight-charts/**",))
    page = watched.page
    page.wait_for_function("() => window.tradingPro !== undefined")
    assert page.evaluate("() => window.tradingPro.view") is None
    banner = watched.banner()
    assert banner.startswith("The chart library did not load"), banner
    assert "npm ci" in banner
    assert page.locator("#status").get_attribute("data-status") == "unavailable", "not an endless connecting"
    assert page.locator("#status").inner_text() == "chart unavailable"
    page.wait_for_function(
        "() => document.querySelector('#watchlist tr[data-symbol=\"AAPL\"] td:nth-child(2)').textContent !== '…'"
    )
    page.click("#watchlist tr[data-symbol='EURUSD']")
    assert watched.banner() == banner, "choosing a chart keeps the explanation"
    # Only the blocked files' 404s: no uncaught error.
    assert all(error.startswith("Failed to load resource") for error in watched.errors), watched.errors


# Where the chart, its price axis and the watchlist are, in CSS pixels of the viewport.
GEOMETRY = """() => {
  const box = (element) => {
    const r = element.getBoundingClientRect();
    return { left: r.left, right: r.right, width: r.width, top: r.top };
  };
  const chart = window.tradingPro.view.chart;
  return {
    viewport: window.innerWidth,
    scroll_width: document.scrollingElement.scrollWidth,
    chart: box(chart.chartElement()),
    price_axis: chart.priceScale("right").width(),
    watchlist: box(document.querySelector(".watchlist")),
  };
}"""
FITS = "() => window.tradingPro.view.chart.chartElement().getBoundingClientRect().right <= innerWidth"


@pytest.mark.parametrize(("width", "height"), [(1000, 800), (390, 844), (844, 390)])
def test_shrinking_the_window_keeps_the_chart_its_price_axis_and_the_watchlist_on_screen(
    open_page: OpenPage, server: str, width: int, height: int
) -> None:
    """1400 px wide, then narrower (a smaller window, a phone upright, a phone on its side): the chart follows
    its container."""
    watched = open_page(f"{server}/?symbol=BTCUSD&resolution=5", width=1400, height=900)
    page = watched.page
    page.wait_for_function(BARS_LOADED, arg=300)
    wide = page.evaluate(GEOMETRY)
    page.set_viewport_size({"width": width, "height": height})
    # A timeout here is not the verdict: the geometry below says what is off screen.
    with contextlib.suppress(PlaywrightTimeoutError):
        page.wait_for_function(FITS, timeout=5_000)
    narrow = page.evaluate(GEOMETRY)
    context = {"wide": wide, "narrow": narrow}
    assert narrow["scroll_width"] <= width, context
    assert narrow["chart"]["left"] >= 0, context
    assert narrow["chart"]["right"] <= width, context
    assert narrow["price_axis"] > 0, context
    assert narrow["watchlist"]["left"] >= 0, context
    assert narrow["watchlist"]["right"] <= width, context
    watched.screenshot(f"resized-{width}x{height}")
    # Reachable: Playwright scrolls a row into view and clicks it, or fails if it cannot.
    page.click("#watchlist tr[data-symbol='ETHUSD']", timeout=10_000)
    page.wait_for_function(SHOWN, arg="ETHUSD:5")
    # And back: the chart takes the room it gets again.
    page.set_viewport_size({"width": 1400, "height": 900})
    page.wait_for_function(
        "width => window.tradingPro.view.chart.chartElement().clientWidth === width", arg=wide["chart"]["width"]
    )
    assert watched.errors == []


@pytest.mark.parametrize(
    ("query", "said", "then"),
    [
        ("symbol=NOPE&resolution=7", "Unknown symbol: NOPE. Unknown resolution: 7 ", "EURUSD:1"),
        ("symbol=nope&resolution=15", "Unknown symbol: NOPE", "EURUSD:15"),
        ("symbol=ETHUSD&resolution=7", "Unknown resolution: 7 ", "EURUSD:1"),
    ],
)
def test_an_unknown_symbol_or_resolution_in_the_url_is_named_not_replaced(
    open_page: OpenPage, server: str, query: str, said: str, then: str
) -> None:
    watched = open_page(f"{server}/?{query}")
    page = watched.page
    page.wait_for_function("() => !document.querySelector('#error').hidden", timeout=10_000)
    banner = watched.banner()
    assert banner.startswith(said), banner
    if "resolution=7" in query:
        assert "1, 5, 15, 30, 60, 240, 1D, 1W, 1M" in banner, "the resolutions to choose from"
    assert page.evaluate("() => window.tradingPro.view.shown") is None, "no other chart in its place"
    assert page.evaluate("() => window.tradingPro.view.bars.length") == 0
    assert page.url.endswith(f"/?{query}"), "the address still says what was asked for"
    assert page.locator("#status").get_attribute("data-status") == "idle", "no endless connecting"
    # The page still works: a known instrument from the watchlist is charted.
    page.click("#watchlist tr[data-symbol='EURUSD']")
    page.wait_for_function(SHOWN, arg=then)
    assert watched.banner() == ""
    # Only the 404 of /resolve for an unknown symbol: no uncaught error.
    assert all(error.endswith("status of 404 (Not Found)") for error in watched.errors), watched.errors


def test_a_search_without_matches_says_no_results(open_page: OpenPage, server: str) -> None:
    watched = open_page(f"{server}/?symbol=BTCUSD&resolution=1")
    page = watched.page
    page.wait_for_function(BARS_LOADED, arg=1)
    page.fill("#search", "zzzz")
    page.wait_for_selector("#search-results", state="visible", timeout=10_000)
    assert page.locator("#search-results").inner_text() == "No results"
    assert page.locator("#search-results [data-symbol]").count() == 0, "nothing to pick"
    page.fill("#search", "eth")
    page.wait_for_selector("#search-results li[data-symbol='ETHUSD']")
    assert "No results" not in page.locator("#search-results").inner_text()


def trading_now(base_url: str, symbol: str) -> bool:
    """Whether `symbol` trades at the server's current minute: the simulation makes bars only in its session."""
    with urllib.request.urlopen(f"{base_url}/api/v1/udf/time", timeout=10) as response:
        minute_ms = int(response.read()) // 60 * 60_000
    return bool(served_bars(base_url, symbol, "1", minute_ms, minute_ms + 60_000))


MARKET_STATE = "() => document.querySelector('#market').dataset.state"


def test_a_stock_outside_its_session_says_market_closed(open_page: OpenPage, server: str) -> None:
    """Whenever it runs: the page says "market closed" for AAPL exactly when the server forms no minute bar of
    AAPL now, and never for BTCUSD (24x7). The hours themselves are checked under Node (tests/js/session)."""
    watched = open_page(f"{server}/?symbol=AAPL&resolution=5")
    page = watched.page
    page.wait_for_function(SHOWN, arg="AAPL:5")
    for _attempt in range(3):  # the session may open or close between the readings: then read again
        before = trading_now(server, "AAPL")
        page.wait_for_function(f"() => ({MARKET_STATE})() !== undefined", timeout=10_000)
        state = page.evaluate(MARKET_STATE)
        if trading_now(server, "AAPL") == before:
            break
    else:
        pytest.fail("the session opened or closed three times during the check")
    assert state == ("open" if before else "closed")
    assert page.locator("#market").is_visible() == (not before)
    if not before:
        assert page.locator("#market").inner_text() == "market closed"
        watched.screenshot("market-closed")
    page.click("#watchlist tr[data-symbol='BTCUSD']")
    page.wait_for_function(SHOWN, arg="BTCUSD:5")
    page.wait_for_function(f"() => ({MARKET_STATE})() === 'open'", timeout=10_000)
    assert not page.locator("#market").is_visible()
    assert watched.errors == []


def test_a_resume_the_server_cannot_replay_reloads_the_chart(open_page: OpenPage, server: str) -> None:
    watched = open_page(f"{server}/?symbol=BTCUSD&resolution=1")
    page = watched.page
    page.wait_for_function(BARS_LOADED, arg=300)
    before = page.evaluate("() => window.tradingPro.view.generation")
    # As after a long sleep: the chart's newest bar is three days old, more than the server replays
    # (1,000 bars), and the socket drops; the datafeed resumes from there and is refused.
    page.evaluate(
        """() => {
            const datafeed = window.tradingPro.datafeed;
            for (const listener of datafeed._listeners.values()) listener.lastTime = Date.now() - 3 * 86400000;
            datafeed._socket.close();
        }"""
    )
    page.wait_for_function("before => window.tradingPro.view.generation > before", arg=before, timeout=30_000)
    page.wait_for_function(BARS_LOADED, arg=300)
    watched.wait_for_new_last_bar()
    assert watched.errors == []

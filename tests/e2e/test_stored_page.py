"""The chart page with imported instruments (a real server on an SQLite store, chromium): charted, searched and
listed like the simulated ones, and called "simulated" only when they are."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from app.market.resolutions import Resolution
from app.store.open import open_store
from tests.e2e.browser import Watched
from tests.e2e.conftest import OpenPage
from tests.live_server import serving
from tests.store_feed.data import ACME, acme_days, acme_minutes, as_bars, bar_rows, expected, fill

SHOWN_WITH = "([shown, n]) => window.tradingPro.view.shown === shown && window.tradingPro.view.bars.length >= n"
# A stored AAPL replaces the simulated one.
AAPL = dataclasses.replace(ACME, symbol="AAPL", description="Apple Inc. (imported)")


@pytest.fixture(scope="module")
def stored_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server whose store holds ACME, FXAB, DAYS and AAPL."""
    url = f"sqlite:///{tmp_path_factory.mktemp('store') / 'trading-pro.db'}"
    store = open_store(url)
    try:
        store.migrate()
        fill(store)
        store.put_instrument(AAPL)
        store.write_bars("AAPL", Resolution.DAY, bar_rows(acme_days()))
    finally:
        store.close()
    with serving({"STORE_URL": url, "BAR_BROADCASTER_INTERVAL": "0.2", "LOG_LEVEL": "WARNING"}) as live:
        yield live.base_url


def says_simulated(watched: Watched) -> bool:
    """Whether the badge and the footer say the chart is simulated (they always agree)."""
    badge, note = watched.page.evaluate(
        "() => [document.getElementById('simulated').hidden, document.getElementById('simulated-note').hidden]"
    )
    assert badge == note
    return not badge


def test_an_imported_instrument_is_charted_without_saying_simulated(open_page: OpenPage, stored_server: str) -> None:
    hourly = expected(ACME, acme_minutes(), "60")
    watched = open_page(f"{stored_server}/?symbol=ACME&resolution=60")
    watched.page.wait_for_function(SHOWN_WITH, arg=["ACME:60", len(hourly)])
    assert watched.bars() == hourly
    assert watched.page.locator("#legend").inner_text().startswith("ACME · 60")
    assert not says_simulated(watched)
    # The watchlist lists imported instruments with their quotes, and simulated ones.
    watched.page.wait_for_function(
        "() => document.querySelector('#watchlist tr[data-symbol=\"ACME\"] td:nth-child(2)').textContent !== '…'"
    )
    last_close = str(acme_days()[-1][4] / 100)
    assert watched.page.locator('#watchlist tr[data-symbol="ACME"] td:nth-child(2)').inner_text() == last_close
    assert watched.page.locator('#watchlist tr[data-symbol="BTCUSD"]').count() == 1
    # Picking a simulated one says so; picking the stored AAPL does not.
    watched.page.locator('#watchlist tr[data-symbol="BTCUSD"]').click()
    watched.page.wait_for_function("() => window.tradingPro.view.shown === 'BTCUSD:60'")
    assert says_simulated(watched)
    watched.page.locator('#watchlist tr[data-symbol="AAPL"]').click()
    watched.page.wait_for_function("() => window.tradingPro.view.shown === 'AAPL:1D'")
    assert not says_simulated(watched)
    assert watched.bars() == as_bars(acme_days(), 100)
    assert watched.errors == []
    assert watched.foreign(stored_server) == []


def test_search_finds_imported_instruments_and_marks_only_simulated_ones(
    open_page: OpenPage, stored_server: str
) -> None:
    watched = open_page(f"{stored_server}/?symbol=BTCUSD&resolution=1")
    watched.page.wait_for_function("() => window.tradingPro.view.shown === 'BTCUSD:1'")
    assert says_simulated(watched)
    search = watched.page.locator("#search")
    search.fill("acme")
    option = watched.page.locator('#search-results li[data-symbol="ACME"]')
    option.wait_for()
    assert option.locator("small").inner_text() == "Acme Corporation"
    search.fill("apple")
    watched.page.locator('#search-results li[data-symbol="AAPL"]').wait_for()
    assert watched.page.locator("#search-results small").all_inner_texts() == ["Apple Inc. (imported)"]
    search.fill("bitcoin")
    watched.page.locator('#search-results li[data-symbol="BTCUSD"]').wait_for()
    assert watched.page.locator("#search-results small").all_inner_texts() == ["Bitcoin / US Dollar (simulated)"]
    search.press("Enter")
    # An imported instrument stored at a day has no minutes: the page shows days and says so.
    watched.page.evaluate("() => window.tradingPro.select('DAYS', '1')")
    watched.page.wait_for_function("() => window.tradingPro.view.shown === 'DAYS:1D'")
    assert watched.banner() == "DAYS has no 1 bars: showing 1D"
    assert watched.page.locator('#resolutions button[data-resolution="1"]').is_disabled()
    assert watched.page.locator('#resolutions button[data-resolution="1W"]').is_enabled()
    assert not says_simulated(watched)
    assert watched.errors == []

"""An outage across a bar boundary: after reconnecting by itself, the page holds every bar as /bars serves it."""

from __future__ import annotations

import contextlib
import itertools
import time

from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests.e2e.browser import BARS_LOADED, STATUS, served_bars, until
from tests.e2e.conftest import OpenPage
from tests.live_server import serving

MINUTE_MS = 60_000
# The server goes down this long before a minute boundary and comes back this long after it (seconds).
DOWN_BEFORE = 5.0
UP_AFTER = 1.0
# How long a correct back-fill may take to reach the page once it has reconnected (ms).
SETTLE_MS = 5_000
HOLDS = """closed => closed.every(want => {
  const held = window.tradingPro.view.bars.find(bar => bar.time === want.time);
  return held && ["open", "high", "low", "close", "volume"].every(key => held[key] === want[key]);
})"""


def test_an_outage_across_a_bar_boundary_leaves_no_bar_stale_or_missing(open_page: OpenPage) -> None:
    with serving({"BAR_BROADCASTER_INTERVAL": "0.2", "LOG_LEVEL": "WARNING"}) as live:
        # The first boundary that leaves time to load the page first: at most 70 s away.
        boundary = (int(time.time() + DOWN_BEFORE + 5) // 60 + 1) * MINUTE_MS
        watched = open_page(f"{live.base_url}/?symbol=BTCUSD&resolution=1")
        page = watched.page
        page.wait_for_function(BARS_LOADED, arg=300)
        # Retry every second at most, so that the page is back soon after the server (the default is 15 s).
        page.evaluate("() => { window.tradingPro.datafeed.maxBackoffMs = 1000 }")

        until(boundary / 1000 - DOWN_BEFORE)
        live.terminate()
        until(boundary / 1000 + UP_AFTER)
        live.restart()
        # The page reconnects by itself; the new minute's first bar comes from the restarted server.
        page.wait_for_function(
            "boundary => { const b = window.tradingPro.view.bars; return b[b.length - 1].time >= boundary }",
            arg=boundary,
            timeout=30_000,
        )
        page.wait_for_function(STATUS, arg="connected")

        # Closed bars are final: the one before the outage and the one it cut short. The new minute is forming.
        served = served_bars(live.base_url, "BTCUSD", "1", boundary - 2 * MINUTE_MS, boundary + MINUTE_MS)
        closed = [bar for bar in served if bar["time"] < boundary]
        assert [bar["time"] for bar in closed] == [boundary - 2 * MINUTE_MS, boundary - MINUTE_MS]
        # A timeout here is not the verdict: the comparison below says what differs.
        with contextlib.suppress(PlaywrightTimeoutError):
            page.wait_for_function(HOLDS, arg=closed, timeout=SETTLE_MS)

        held = {bar["time"]: bar for bar in watched.bars()}
        times = sorted(held)
        assert all(b - a == MINUTE_MS for a, b in itertools.pairwise(times)), "a missing minute"
        for bar in closed:
            assert held.get(bar["time"]) == bar, f"held {held.get(bar['time'])}, /bars {bar}"
        forming = next(bar for bar in served if bar["time"] == boundary)
        assert held[boundary]["open"] == forming["open"], "the forming bar's open"

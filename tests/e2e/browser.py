"""What the browser tests share: the chromium to drive, a watched page, bars as the server serves them."""

from __future__ import annotations

import json
import shutil
import time
import urllib.request
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

from playwright.sync_api import ConsoleMessage, Page

from app.paths import DATAFEED_PREFIX
from tests.live_server import ROOT

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
STATUS = "status => document.querySelector('#status').dataset.status === status"
Bar = dict[str, Any]


@dataclass
class Watched:
    """A page with the errors it logged and the URLs it requested (HTTP and WebSocket)."""

    page: Page
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def watch(self) -> None:
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.page.on("websocket", lambda socket: self.requests.append(socket.url))

    def _console(self, message: ConsoleMessage) -> None:
        # Chromium asks every page without an icon for /favicon.ico by itself; the page did not.
        if message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico"):
            self.errors.append(message.text)

    def foreign(self, base_url: str) -> list[str]:
        """Requested URLs (ws:// included) of any other host and port than `base_url`'s."""
        here = urlsplit(base_url).netloc
        return [url for url in self.requests if urlsplit(url).netloc != here]

    def bars(self) -> list[Bar]:
        bars: list[Bar] = self.page.evaluate("() => window.tradingPro.view.bars")
        return bars

    def wait_for_new_last_bar(self) -> Bar:
        """Wait until a live update changes the last candle; the new last bar."""
        last = json.dumps(self.bars()[-1], separators=(",", ":"))
        self.page.wait_for_function(
            "last => { const b = window.tradingPro.view.bars; return JSON.stringify(b[b.length - 1]) !== last }",
            arg=last,
        )
        return self.bars()[-1]

    def banner(self) -> str:
        """The error banner's text ("" while it is hidden)."""
        text: str = self.page.evaluate(
            "() => { const e = document.querySelector('#error'); return e.hidden ? '' : e.textContent }"
        )
        return text

    def screenshot(self, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=SCREENSHOTS / f"{name}.png")


def served_bars(base_url: str, symbol: str, resolution: str, start_ms: int, end_ms: int) -> list[Bar]:
    """`GET /api/v1/datafeed/bars` for bars with time in [start_ms, end_ms), which must answer 200."""
    query = urlencode(
        {"symbol": symbol, "resolution": resolution, "from_time": start_ms // 1000, "to_time": end_ms // 1000}
    )
    with urllib.request.urlopen(f"{base_url}{DATAFEED_PREFIX}/bars?{query}", timeout=10) as response:
        assert response.status == 200
        bars: list[Bar] = json.load(response)["bars"]
    return bars


def until(moment: float) -> None:
    """Return at the wall-clock time `moment` (seconds): a bar boundary is a moment, not an event anyone sends."""
    time.sleep(max(0.0, moment - time.time()))

"""First load of the chart page: bytes transferred and time to the first candles.

Starts the server, opens `/` in Debian's chromium (Playwright, cold cache) and reports the bytes the
browser received (every response, compressed as sent), the request count, and the time from navigation
start to the page's `first-candle` mark (history fetched and drawn). Run: `.venv/bin/python bench/page.py`.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.e2e.test_chart_page import FLAGS  # noqa: E402 - the browser flags the e2e tests use
from tests.live_server import serving  # noqa: E402

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
RESULTS = ROOT / "bench" / "results" / "page.json"


def measure(browser: Browser, url: str) -> dict[str, float]:
    """One cold load: a new context has an empty cache."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    received: list[float] = []
    cdp.on("Network.loadingFinished", lambda event: received.append(event["encodedDataLength"]))
    page.goto(url)
    page.wait_for_function("() => performance.getEntriesByName('first-candle').length > 0", timeout=30_000)
    first_candle: float = page.evaluate("() => performance.getEntriesByName('first-candle')[0].startTime")
    page.wait_for_load_state("networkidle")
    context.close()
    return {"bytes": sum(received), "requests": len(received), "first_candle_ms": first_candle}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with serving({"LOG_LEVEL": "WARNING"}) as base_url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        runs = [measure(browser, f"{base_url}/?symbol=BTCUSD&resolution=1") for _ in range(args.runs)]
        browser.close()
    summary: dict[str, Any] = {
        "bytes": statistics.median(r["bytes"] for r in runs),
        "requests": statistics.median(r["requests"] for r in runs),
        "first_candle_ms_median": statistics.median(r["first_candle_ms"] for r in runs),
        "first_candle_ms_max": max(r["first_candle_ms"] for r in runs),
        "runs": runs,
    }
    print(f"first load: {summary['bytes'] / 1024:.0f} KiB in {summary['requests']:.0f} requests")
    print(
        f"time to first candle: median {summary['first_candle_ms_median']:.0f} ms, "
        f"max {summary['first_candle_ms_max']:.0f} ms ({args.runs} cold loads)"
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()

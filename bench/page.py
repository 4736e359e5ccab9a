"""First load of the chart page: bytes transferred and time until the first candles are painted.

Starts the server, opens `/` in Debian's chromium (Playwright, cold cache: a new context per run) and reports
the bytes the browser received (every response, compressed as sent), the request count, and two times from
navigation start:

- "data set": the page's own `first-candle` mark, taken when the first bars have been handed to the chart;
  nothing is on screen yet then, the chart draws in a later animation frame;
- "painted": the start of the first animation frame after one in which the chart's pane canvas was found
  to hold candles (PAINT_PROBE, installed before the page's scripts, wraps `performance.mark` to start
  looking as soon as `first-candle` is marked). A frame's canvas contents are on screen once the next
  frame begins, so this is the first moment a user could see the candles. The checks read back a strip of
  the canvas each frame; their cost (reported) is included in the figure, so it errs on the slow side.

Run: `.venv/bin/python bench/page.py [--runs 5]`. Results are printed and written to bench/results/page.json.
"""

from __future__ import annotations

import argparse
import statistics
from typing import Any

from harness import REPO_ROOT, write_json
from playwright.sync_api import Browser, Page, sync_playwright

from tests.e2e.browser import CHROMIUM, FLAGS  # the chromium and flags the browser tests use
from tests.live_server import serving

URL_PATH = "/?symbol=BTCUSD&resolution=1"
TIMEOUT_MS = 30_000
# Candles are the only strongly coloured, opaque, vertical marks of the pane: grid, text and background are
# greys, the volume histogram is drawn translucent, the last-price line is one pixel high. The history counts
# as painted once such marks (MIN_RUN pixels tall) fill MIN_COLUMNS pixel columns of the pane's right-hand
# strip: several candles' worth, more than the one live candle the page may draw on its own.
PAINT_PROBE = """
(() => {
  const STRIP = 160, MIN_COLUMNS = 20, MIN_RUN = 3, CHROMA = 100, MAX_FRAMES = 1200;
  const probe = (window.__paintProbe = { checks: 0, checkMs: 0, frames: 0, painted: false });
  const panes = () => {
    const canvases = [...document.querySelectorAll("canvas")];
    const widest = Math.max(0, ...canvases.map((c) => c.width));
    return canvases.filter((c) => c.width >= widest / 2 && c.height > 0);
  };
  const candleColumns = () => {
    const started = performance.now();
    let found = 0;
    for (const canvas of panes()) {
      const context = canvas.getContext("2d");
      if (!context) continue;
      const strip = Math.min(STRIP, canvas.width);
      const data = context.getImageData(canvas.width - strip, 0, strip, canvas.height).data;
      const run = new Uint16Array(strip), counted = new Uint8Array(strip);
      for (let i = 0; i < data.length && found < MIN_COLUMNS; i += 4) {
        const r = data[i], g = data[i + 1], b = data[i + 2], column = (i / 4) % strip;
        const strong = data[i + 3] === 255 && Math.max(r, g, b) - Math.min(r, g, b) > CHROMA;
        run[column] = strong ? run[column] + 1 : 0;
        if (run[column] >= MIN_RUN && !counted[column]) {
          counted[column] = 1;
          found++;
        }
      }
    }
    probe.checks++;
    probe.checkMs += performance.now() - started;
    return found;
  };
  let seen = false;
  const frame = () => {
    const now = performance.now();
    probe.frames++;
    if (seen) {
      probe.painted = true;
      mark("first-candle-painted", { startTime: now });
      return;
    }
    seen = candleColumns() >= MIN_COLUMNS;
    if (probe.frames < MAX_FRAMES) requestAnimationFrame(frame);
  };
  const mark = performance.mark.bind(performance);
  performance.mark = (name, options) => {
    const entry = mark(name, options);
    if (name === "first-candle" && !probe.frames) requestAnimationFrame(frame);
    return entry;
  };
})();
"""


def mark_time(page: Page, name: str) -> float:
    """startTime (ms from navigation start) of the page's first performance mark called `name`."""
    time_ms: float = page.evaluate("name => performance.getEntriesByName(name)[0].startTime", name)
    return time_ms


def measure(browser: Browser, url: str) -> dict[str, Any]:
    """One cold load: a new context has an empty cache."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        page = context.new_page()
        page.add_init_script(PAINT_PROBE)
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        received: list[float] = []
        cdp.on("Network.loadingFinished", lambda event: received.append(event["encodedDataLength"]))
        page.goto(url)
        try:
            page.wait_for_function(
                "() => performance.getEntriesByName('first-candle-painted').length > 0", timeout=TIMEOUT_MS
            )
        except Exception as error:
            probe = page.evaluate("() => window.__paintProbe")
            raise SystemExit(f"no candles painted within {TIMEOUT_MS} ms of loading {url} (probe: {probe})") from error
        probe = page.evaluate("() => window.__paintProbe")
        data_set, painted = mark_time(page, "first-candle"), mark_time(page, "first-candle-painted")
        page.wait_for_load_state("networkidle")
    finally:
        context.close()
    return {
        "bytes": sum(received),
        "requests": len(received),
        "first_candle_data_set_ms": round(data_set, 1),
        "first_candle_painted_ms": round(painted, 1),
        "frames_to_paint": probe["frames"],
        "paint_check_ms": round(probe["checkMs"], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with serving({"LOG_LEVEL": "WARNING"}) as server, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            runs = [measure(browser, server.url(URL_PATH)) for _ in range(args.runs)]
        finally:
            browser.close()
    summary: dict[str, Any] = {
        "bytes": statistics.median(r["bytes"] for r in runs),
        "requests": statistics.median(r["requests"] for r in runs),
        "first_candle_painted_ms_median": statistics.median(r["first_candle_painted_ms"] for r in runs),
        "first_candle_painted_ms_max": max(r["first_candle_painted_ms"] for r in runs),
        "first_candle_data_set_ms_median": statistics.median(r["first_candle_data_set_ms"] for r in runs),
        "paint_check_ms_max": max(r["paint_check_ms"] for r in runs),
        "runs": runs,
    }
    print(f"first load: {summary['bytes'] / 1024:.0f} KiB in {summary['requests']:.0f} requests")
    print(
        f"time to first candle painted: median {summary['first_candle_painted_ms_median']:.0f} ms, "
        f"max {summary['first_candle_painted_ms_max']:.0f} ms ({args.runs} cold loads); data handed to the chart "
        f"at {summary['first_candle_data_set_ms_median']:.0f} ms (median); paint checks cost at most "
        f"{summary['paint_check_ms_max']:.1f} ms of it"
    )
    path = write_json("page.json", summary)
    print(f"written to {path.relative_to(REPO_ROOT)}")


if __name__ == "__main__":
    main()

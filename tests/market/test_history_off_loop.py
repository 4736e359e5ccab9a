"""Cold history requests are generated off the event loop: the live stream goes on while they run."""

from __future__ import annotations

import asyncio
import calendar
import dataclasses
import threading
import time
from typing import Any

from app.market.instruments import INSTRUMENTS
from app.market.resolutions import Resolution
from app.market.simulation import GENERATOR, SimulatedFeed
from app.paths import WS_PATH
from tests.conftest import FROZEN_NOW, Connect, reply, send, update_times_until

BARS = 5000
# Cold windows of BARS bars each: tens of days of 5- to 30-minute trees apiece, so that a loop made to generate
# them itself would stall for tens of milliseconds a request.
COLD = [("AAPL", "5"), ("MSFT", "5"), ("EURUSD", "15"), ("BTCUSD", "15"), ("GBPUSD", "30"), ("ETHUSD", "30")]
TICK = 0.01
# Share of the broadcaster's ticks (one update each) that must reach the subscriber while the cold requests are
# pending. A loop blocked by them delivers about one per request (a tick between two handlers: 8 % measured with
# three); one kept free nearly every tick (90 % on an idle machine, 25 % seen on one loaded by other test runs).
SHARE = 0.15


async def test_a_subscriber_keeps_receiving_in_order_while_cold_history_is_generated(make_client: Connect) -> None:
    # A clock 60x fast, so the forming bar changes (and is sent) every few ticks.
    origin, started = FROZEN_NOW - FROZEN_NOW % 60 + 5, time.monotonic()
    feed = SimulatedFeed(clock=lambda: origin + (time.monotonic() - started) * 60)
    client = await make_client(feed=feed, bar_broadcaster_interval=TICK)
    end = FROZEN_NOW - FROZEN_NOW % 86_400 - 2 * 86_400

    async def cold(symbol: str, resolution: str) -> list[dict[str, Any]]:
        params: dict[str, str | int] = {
            "symbol": symbol,
            "resolution": resolution,
            "from_time": end - 60,
            "to_time": end,
            "count_back": BARS,
        }
        async with client.get("/api/v1/datafeed/bars", params=params) as response:
            assert response.status == 200
            bars: list[dict[str, Any]] = (await response.json())["bars"]
            return bars

    async with client.ws_connect(WS_PATH) as ws, asyncio.timeout(120):
        await send(ws, "bars.subscribe", symbol="BTCUSD", resolution="1")
        await reply(ws, "bars.subscribe.response")
        requests: asyncio.Future[list[list[dict[str, Any]]]] = asyncio.gather(
            *(cold(symbol, resolution) for symbol, resolution in COLD)
        )
        began = time.monotonic()
        times = await update_times_until(ws, requests)
        pending = time.monotonic() - began
        answers = await requests
    assert [len(bars) for bars in answers] == [BARS] * len(COLD)
    for bars in answers:
        stamps = [bar["time"] for bar in bars]
        assert stamps == sorted(set(stamps))
        assert stamps[-1] < end * 1000
    assert times == sorted(times), "updates arrive in order"
    ticks = pending / TICK
    assert len(times) >= SHARE * ticks, f"{len(times)} updates in {ticks:.0f} ticks while the cold requests ran"


async def test_history_from_the_generator_thread_and_from_the_cache_is_the_history_of_a_fresh_feed() -> None:
    feed, fresh = SimulatedFeed(clock=lambda: FROZEN_NOW), SimulatedFeed(clock=lambda: FROZEN_NOW)
    day = 86_400
    windows = [
        ("AAPL", Resolution.M1, FROZEN_NOW - 3 * day, FROZEN_NOW - 2 * day, 700),
        ("AAPL", Resolution.M1, FROZEN_NOW - 2 * day - 7_000, FROZEN_NOW - day, 0),
        ("EURUSD", Resolution.M5, FROZEN_NOW - 9 * day, FROZEN_NOW, 0),
        ("EURUSD", Resolution.DAY, FROZEN_NOW - 400 * day, FROZEN_NOW + day, 300),
        ("BTCUSD", Resolution.M1, FROZEN_NOW - 600, FROZEN_NOW + 60, 0),
    ]
    expected = [fresh.history(*window) for window in windows]
    # Overlapping windows at once: generated concurrently by the thread, then served from the cache.
    generated = await asyncio.gather(*(feed.load_history(*window) for window in windows))
    cached = [await feed.load_history(*window) for window in windows]
    assert all(history.bars for history in expected)
    assert generated == expected
    assert cached == expected


async def test_a_warm_request_never_waits_for_the_generator_thread_even_before_the_open() -> None:
    """Once a window has been served, asking for it again is answered on the event loop, also for a stock before
    the NYSE open (today's day exists though it has not traded): a busy generator thread does not delay it."""
    monday_before_open = calendar.timegm((2026, 11, 30, 13, 0, 0))  # 08:00 in New York
    feed = SimulatedFeed(clock=lambda: monday_before_open)
    window = ("AAPL", Resolution.M1, monday_before_open - 3 * 86_400, monday_before_open, 300)
    first = await feed.load_history(*window)
    release = threading.Event()
    busy = GENERATOR.submit(release.wait)
    try:
        again = await asyncio.wait_for(feed.load_history(*window), timeout=10)
    finally:
        release.set()
        busy.result()
    assert again == first
    assert len(again) == 390  # the window holds one whole session, Friday's


async def test_the_server_starts_serving_only_once_the_days_are_walked(make_client: Connect) -> None:
    """The walk of an instrument's trading days (tens of milliseconds) runs in the generator thread from the feed's
    creation, and the app's start-up awaits it: the live stream and requests never take part of it on the loop."""
    instrument = dataclasses.replace(INSTRUMENTS[0], symbol="WALKED")  # a walk of its own, not yet made
    release = threading.Event()
    busy = GENERATOR.submit(release.wait)
    try:
        feed = SimulatedFeed([instrument], clock=lambda: FROZEN_NOW)
        starting = asyncio.ensure_future(make_client(feed=feed))
        done, _ = await asyncio.wait({starting}, timeout=0.5)
        assert not done, "the app started while the walk had not run"
    finally:
        release.set()
        busy.result()
    client = await starting
    today = int(time.time()) // 86_400
    assert feed._path("WALKED").walk.ready(today)
    async with client.get("/api/v1/datafeed/resolve/WALKED") as response:
        assert response.status == 200


async def test_long_weekly_and_monthly_histories_are_made_in_the_generator_thread() -> None:
    """A week or month merges its days: ten years of them is tens of thousands of days, too much for the loop."""
    feed = SimulatedFeed(clock=lambda: FROZEN_NOW)
    await feed.prepare()
    release = threading.Event()
    busy = GENERATOR.submit(release.wait)
    try:
        pending = [
            asyncio.ensure_future(feed.load_history("AAPL", resolution, 0, FROZEN_NOW, 0))
            for resolution in (Resolution.WEEK, Resolution.MONTH)
        ]
        done, _ = await asyncio.wait(pending, timeout=0.5)
        assert not done, "made on the event loop while the generator thread was busy"
    finally:
        release.set()
        busy.result()
    weeks, months = await asyncio.gather(*pending)
    assert len(weeks) > 500
    assert len(months) > 100

"""prometheus-client's multiprocess mode: two real server processes share PROMETHEUS_MULTIPROC_DIR, and one scrape
of either gives both processes' figures."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp

from app.paths import WS_PATH
from tests.conftest import reply, send
from tests.live_server import LiveServer, start
from tests.observability import Scrape, scrape_until

CONFIG = "/api/v1/datafeed/config"
REQUESTS = "tradingpro_http_requests_total"
MEMORY = "tradingpro_process_resident_memory_bytes"


async def test_one_scrape_gives_every_workers_figures(tmp_path: Path) -> None:
    env = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    first, second = await asyncio.gather(asyncio.to_thread(start, env), asyncio.to_thread(start, env))
    try:
        async with aiohttp.ClientSession() as session:

            async def read(server: LiveServer) -> Scrape:
                async with session.get(server.url("/metrics")) as response:
                    assert response.status == 200
                    return Scrape(await response.text())

            for server, count in ((first, 2), (second, 3)):
                for _ in range(count):
                    async with session.get(server.url(CONFIG)) as response:
                        assert response.status == 200
            async with session.ws_connect(second.url(WS_PATH)) as ws:
                await send(ws, "bars.subscribe", symbol="AAPL", resolution="5")
                await reply(ws, "bars.subscribe.response")
                # The second worker's socket, seen in a scrape of the first (copied there within a second).
                scraped = await scrape_until(
                    lambda: read(first),
                    lambda s: s.value("tradingpro_ws_subscriptions", resolution="5") == 1,
                    "the other worker's subscription",
                )
            assert scraped.value(REQUESTS, method="GET", route=CONFIG, status="200") == 5
            assert scraped.value("tradingpro_ws_connections") == 1
            assert scraped.value("tradingpro_http_request_duration_seconds_count", method="GET", route=CONFIG) == 5
            # Process memory: one series per live worker, labelled with its pid.
            pids = {labels["pid"] for labels in scraped.labels(MEMORY)}
            assert pids == {str(first.pid), str(second.pid)}
            assert all(scraped.value(MEMORY, pid=pid) > 10_000_000 for pid in pids)
            assert scraped.value("tradingpro_process_cpu_seconds_total") > 0
            assert [name for name in scraped.families if not name.startswith("tradingpro_")] == []

            # A socket still open when the worker stops is closed for shutdown, and counted before it exits.
            held = await session.ws_connect(second.url(WS_PATH))
            await asyncio.to_thread(second.stop)
            await held.close()
            after = await scrape_until(
                lambda: read(first),
                lambda s: {labels["pid"] for labels in s.labels(MEMORY)} == {str(first.pid)},
                "the stopped worker's gauges leaving the sum",
            )
            # A stopped worker's counts stay in the totals; its open connections and subscriptions do not.
            assert after.value(REQUESTS, method="GET", route=CONFIG, status="200") == 5
            assert after.value("tradingpro_ws_connections") == 0
            assert after.value("tradingpro_ws_subscriptions", resolution="5") == 0
            assert after.value("tradingpro_ws_connections_closed_total", reason="client") == 1
            assert after.value("tradingpro_ws_connections_closed_total", reason="shutdown") == 1
    finally:
        first.stop()
        second.stop()

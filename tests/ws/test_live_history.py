"""Live updates against history: across a bar boundary, a closed bar is exactly its last update."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from app.market.simulation import SimulatedFeed
from app.paths import WS_PATH
from tests.conftest import FROZEN_NOW, Connect, reply, send, updates


async def test_live_updates_and_history_agree_across_a_bar_boundary(make_client: Connect) -> None:
    """An accelerated market clock (60x, injected into the simulation only) crosses minute boundaries."""
    origin, started = FROZEN_NOW - FROZEN_NOW % 60 + 55, time.monotonic()
    feed = SimulatedFeed(clock=lambda: origin + (time.monotonic() - started) * 60)
    client = await make_client(feed=feed, bar_broadcaster_interval=0.01)
    last_by_time: dict[int, dict[str, Any]] = {}
    times: list[int] = []
    # Two boundaries take about 2 s at 60x; the bound is for a loaded machine.
    async with client.ws_connect(WS_PATH) as ws, asyncio.timeout(60):
        await send(ws, "bars.subscribe", symbol="ETHUSD", resolution="1")
        await reply(ws, "bars.subscribe.response")
        while len(set(times)) < 3:
            [update] = await updates(ws, 1)
            times.append(update["payload"]["time"])
            last_by_time[update["payload"]["time"]] = update["payload"]
    assert times == sorted(times), "time never goes backwards"
    closed = sorted(last_by_time)[:-1]
    for bar_time in closed:
        start = bar_time // 1000
        history = await (
            await client.get(
                "/api/v1/datafeed/bars",
                params={"symbol": "ETHUSD", "resolution": "1", "from_time": start, "to_time": start + 1},
            )
        ).json()
        assert history["bars"] == [last_by_time[bar_time]], "a closed bar is exactly its last update"

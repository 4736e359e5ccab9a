"""A running server serves a new import within 5 s, without a restart: new bars, a new instrument, and the live
stream of a watched topic, gap-free."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from pathlib import Path

import numpy as np

from app.main import create_app
from app.market.resolutions import Resolution
from app.paths import DATAFEED_PREFIX, WS_PATH
from app.settings import Settings
from app.store.base import BarRows, BarStore
from app.store.open import open_store
from tests.conftest import Client, ClientFactory, fetch_bars, receive, send
from tests.store_feed.conftest import stored_feed
from tests.store_feed.data import ACME, FXAB, acme_minutes, bar_rows, expected, rows_of

# What the contract allows between an import and its being served.
SERVED_WITHIN = 5.0
MARCH_12 = (1_710_201_600, 1_710_288_000)


def later_minutes(count: int) -> BarRows:
    """`count` ACME minutes right after the stored ones (17:30 New York on 2024-03-12 and on)."""
    start = acme_minutes()[-1][0] + 60
    times = start + 60 * np.arange(count, dtype=np.int64)
    opens = 18_500 + np.arange(count, dtype=np.int64)
    return BarRows(times, opens, opens + 7, opens - 3, opens + 2, np.full(count, 100.0))


async def served_within(client: Client, writer: BarStore) -> None:
    """Wait until the server's view holds the store's current revision: within SERVED_WITHIN seconds."""
    async with asyncio.timeout(SERVED_WITHIN):
        await stored_feed(client).refreshed(writer.revision())


async def test_new_bars_are_served_within_five_seconds(served: Client, writer: BarStore) -> None:
    before = await fetch_bars(served, "ACME", "60", *MARCH_12)
    written = time.monotonic()
    writer.write_bars("ACME", Resolution.M1, later_minutes(90))
    await served_within(served, writer)
    after = await fetch_bars(served, "ACME", "60", *MARCH_12)
    assert time.monotonic() - written < SERVED_WITHIN
    assert after == expected(ACME, acme_minutes() + rows_of(later_minutes(90)), "60")[-len(after) :]
    # 17:30 and 18:30 New York are new; the bars before are unchanged.
    assert after[: len(before)] == before
    assert [bar["time"] // 1000 for bar in after[len(before) :]] == [1710279000, 1710282600]


async def test_a_new_instrument_is_listed_within_five_seconds(served: Client, writer: BarStore) -> None:
    fresh = dataclasses.replace(FXAB, symbol="NEWX", description="Newly imported")
    response = await served.get(f"{DATAFEED_PREFIX}/resolve/NEWX")
    assert response.status == 404
    writer.put_instrument(fresh)
    writer.write_bars("NEWX", Resolution.M5, bar_rows([(1_731_000_000, 100, 110, 90, 105, 1.5)]))
    await served_within(served, writer)
    info = await (await served.get(f"{DATAFEED_PREFIX}/resolve/newx")).json()
    assert (info["description"], info["supported_resolutions"][0]) == ("Newly imported", "5")
    found = await (await served.get(f"{DATAFEED_PREFIX}/search", params={"user_input": "newly"})).json()
    assert [result["symbol"] for result in found] == ["NEWX"]


async def test_a_watched_topic_gets_every_new_bar_in_order(served: Client, writer: BarStore) -> None:
    async with served.ws_connect(WS_PATH) as ws:
        await send(ws, "bars.subscribe", symbol="ACME", resolution="1")
        assert (await receive(ws))["payload"]["status"] == "ok"
        newest = (await receive(ws))["payload"]
        assert newest["time"] // 1000 == acme_minutes()[-1][0]
        writer.write_bars("ACME", Resolution.M1, later_minutes(3))
        await served_within(served, writer)
        times: list[int] = []
        while len(times) < 4:
            update = await receive(ws)
            # The newest bar may come again (unchanged) with a tick before the new ones.
            if not times or update["payload"]["time"] != times[-1]:
                times.append(update["payload"]["time"])
        # The last one sent, with its final values, then each new minute: nothing skipped.
        assert [t // 1000 for t in times] == [newest["time"] // 1000 + 60 * k for k in range(4)]


async def test_a_store_file_created_after_start_is_served(
    aiohttp_client: ClientFactory, settings: Settings, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'later.db'}"
    client = await aiohttp_client(create_app(dataclasses.replace(settings, store_url=url)))
    assert (await client.get(f"{DATAFEED_PREFIX}/resolve/ACME")).status == 404
    health = await (await client.get("/api/v1/health")).json()
    assert health["status"] == "ok"
    # The first import creates the file.
    store = open_store(url)
    try:
        store.migrate()
        store.put_instrument(ACME)
        store.write_bars("ACME", Resolution.M1, later_minutes(2))
        await served_within(client, store)
    finally:
        store.close()
    assert len(await fetch_bars(client, "ACME", "1", *MARCH_12)) == 2

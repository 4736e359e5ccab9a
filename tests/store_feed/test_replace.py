"""A running server serves what a re-import with `--replace` changed, everywhere it keeps bars in memory: the newest
bars of a topic (up to a thousand) are served from memory, so a bar replaced deep inside them must be read again,
at every resolution made of it, while bars appended after the newest (an import of later days, ingest's closed bars)
reload only the tail."""

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3
from pathlib import Path

import numpy as np

from app.main import create_app
from app.market.resolutions import Resolution
from app.settings import Settings
from app.store.base import BarRows
from app.store.open import open_store
from tests.conftest import Client, ClientFactory, Frame, fetch_bars
from tests.store_feed.conftest import stored_feed
from tests.store_feed.goog import JAN_4_2010, JAN_4_2010_TIME, goog_csv, import_goog

# The request the QA engineer made: GOOG's newest ~1,000 days, from the end of February 2013.
NEWEST = (1_362_000_000, 1_362_355_200)
# 2010-01-04 changed: close 626.75 -> 627.0, volume 1,956,200 -> 2,956,200 (so that its week and month change too).
CHANGED = "2010-01-04,626.95,629.51,624.24,627.0,2956200"
REFRESHED_WITHIN = 5.0


def day_row(time: int, ticks: int) -> BarRows:
    """One daily bar at `time` (UTC seconds), every price `ticks`."""
    price = np.array([ticks], dtype=np.int64)
    return BarRows(np.array([time], dtype=np.int64), price, price, price, price, np.array([1000.0]))


async def newest_of_each(client: Client) -> dict[str, list[Frame]]:
    """GOOG's newest bars at 1D, 1W and 1M, as a chart asks for them (which leaves them in the server's memory)."""
    return {
        resolution: await fetch_bars(client, "GOOG", resolution, *NEWEST, count_back=1000)
        for resolution in ("1D", "1W", "1M")
    }


async def refreshed(client: Client, url: str) -> None:
    """Wait until the server's view is that of the store at `url` now."""
    store = open_store(url)
    try:
        revision = store.revision()
    finally:
        store.close()
    async with asyncio.timeout(REFRESHED_WITHIN):
        await stored_feed(client).refreshed(revision)


async def test_a_replaced_bar_inside_the_newest_bars_is_served_at_every_resolution(
    aiohttp_client: ClientFactory, settings: Settings, store_url: str, tmp_path: Path
) -> None:
    import_goog(store_url, goog_csv(tmp_path))
    client = await aiohttp_client(create_app(dataclasses.replace(settings, store_url=store_url)))
    before = await newest_of_each(client)
    day = JAN_4_2010_TIME * 1000
    assert [bar["close"] for bar in before["1D"] if bar["time"] == day] == [626.75]

    replaced = import_goog(store_url, goog_csv(tmp_path, lambda text: text.replace(JAN_4_2010, CHANGED)), replace=True)
    assert [(result.inserted, result.replaced) for result in replaced.results] == [(0, 1)]
    await refreshed(client, store_url)

    day_bar = await fetch_bars(client, "GOOG", "1D", JAN_4_2010_TIME, JAN_4_2010_TIME + 86_400)
    assert [(bar["close"], bar["volume"]) for bar in day_bar] == [(627.0, 2_956_200)]
    after = await newest_of_each(client)
    # 2010-01-04 (a Monday, after the New Year holiday) starts its week and its month: both carry the new volume.
    for resolution, bars in after.items():
        old = {bar["time"]: bar["volume"] for bar in before[resolution]}
        assert [bar["time"] for bar in bars] == list(old), resolution
        assert {time: volume for bar in bars if (volume := bar["volume"]) != old[(time := bar["time"])]} == {
            day: old[day] + 1_000_000
        }, resolution
    # A server that never held the old bars serves the same.
    fresh = await aiohttp_client(create_app(dataclasses.replace(settings, store_url=store_url)))
    assert await newest_of_each(fresh) == after


async def test_bars_appended_after_the_newest_reload_only_the_tail(
    aiohttp_client: ClientFactory, settings: Settings, sqlite_url: str, tmp_path: Path
) -> None:
    """A write of later days (as ingest writes closed bars) is not a replace: the bars held before it stay as they
    were read. Seen through a row changed behind the store's back (plain SQL, which no write records): memory keeps
    the value it read until a write of the store says that bar changed."""
    import_goog(sqlite_url, goog_csv(tmp_path))
    client = await aiohttp_client(create_app(dataclasses.replace(settings, store_url=sqlite_url)))
    before = await fetch_bars(client, "GOOG", "1D", *NEWEST, count_back=1000)
    with sqlite3.connect(sqlite_url.removeprefix("sqlite:///")) as raw:
        raw.execute("UPDATE bars SET close = 62700 WHERE time = ?", (JAN_4_2010_TIME,))
    store = open_store(sqlite_url)
    try:
        # Monday 2013-03-04, after the last stored day.
        store.write_bars("GOOG", Resolution.DAY, day_row(1_362_355_200, 80_000))
    finally:
        store.close()
    await refreshed(client, sqlite_url)
    after = await fetch_bars(client, "GOOG", "1D", NEWEST[0], NEWEST[1] + 86_400, count_back=1000)
    assert after[-1]["time"] == 1_362_355_200_000
    assert after[:-1] == before[1:], "the held days stay as read; the oldest gives way to the new one"

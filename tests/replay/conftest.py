"""Fixtures of the replay's tests: an SQLite store of known minute bars (tmp_path) and clients of the app exactly as
`python -m app` builds it with REPLAY_START set, on the replay clock of the settings or on a clock the test moves.

COINA and COINB are crypto pairs (24x7, UTC) with minute bars from Monday 2026-11-02 10:00 UTC: COINA for four
hours, COINB for 40 minutes. AAPL is stored too (a few daily bars), to show what a stored symbol left out of
REPLAY_SYMBOLS becomes.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest

from app.keys import FEED
from app.main import create_app
from app.market.clock import Clock
from app.market.combined import CombinedFeed
from app.market.instruments import AssetClass
from app.market.resolutions import DAY, Resolution
from app.settings import Settings
from app.store.base import InstrumentSpec
from app.store.feed import StoredFeed
from app.store.open import open_store
from tests.conftest import Client, ClientFactory, Connect, Frame
from tests.store_fixtures import sample_rows, sqlite_url, stock_spec  # noqa: F401 (fixtures)

DATA_START = 1_793_613_600  # Monday 2026-11-02 10:00 UTC
MINUTE = 60
COINA_MINUTES = 240
COINB_MINUTES = 40
# Where the replays of these tests start: 10:07:30, half a minute into the eighth minute of data.
REPLAY_START = DATA_START + 7 * MINUTE + 30
PRICESCALE = 100


def coin(symbol: str) -> InstrumentSpec:
    return InstrumentSpec(symbol, AssetClass.CRYPTO, "CRYPTO", "Etc/UTC", "24x7", f"{symbol} coin", PRICESCALE)


STORED_MINUTES = {
    "COINA": sample_rows(DATA_START, COINA_MINUTES, seed=1),
    "COINB": sample_rows(DATA_START, COINB_MINUTES, seed=2),
}


class MovedClock:
    """A clock the test sets (`now`, UTC seconds): what the server shows at a chosen replay time."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def replay_url(sqlite_url: str) -> str:  # noqa: F811 (the fixture imported above)
    """A STORE_URL whose SQLite store holds COINA, COINB and AAPL."""
    store = open_store(sqlite_url)
    try:
        store.migrate()
        for symbol, rows in STORED_MINUTES.items():
            store.put_instrument(coin(symbol))
            store.write_bars(symbol, Resolution.M1, rows)
        store.put_instrument(stock_spec("AAPL"))
        store.write_bars("AAPL", Resolution.DAY, sample_rows(DATA_START // DAY * DAY - 10 * DAY, 5, step=DAY))
    finally:
        store.close()
    return sqlite_url


@pytest.fixture
def replay_settings(settings: Settings, replay_url: str) -> Settings:
    """Settings of a replay of COINA and COINB from REPLAY_START at speed 600 (a minute each 0.1 s), the
    broadcaster ticking every 20 ms."""
    return dataclasses.replace(
        settings,
        store_url=replay_url,
        replay_start=float(REPLAY_START),
        replay_speed=600.0,
        replay_symbols=("COINA", "COINB"),
        bar_broadcaster_interval=0.02,
    )


@pytest.fixture
def replay_client(aiohttp_client: ClientFactory, replay_settings: Settings) -> Connect:
    """A client of the replaying app: on `clock` when given, else on the settings' own replay clock."""

    async def make(clock: Clock | None = None, **overrides: Any) -> Client:
        configured = dataclasses.replace(replay_settings, **overrides)
        return await aiohttp_client(create_app(configured, clock=clock))

    return make


def stored_feed(client: Client) -> StoredFeed:
    """The app's stored feed."""
    feed = client.app[FEED]
    assert isinstance(feed, CombinedFeed)
    assert isinstance(feed.recorded, StoredFeed)
    return feed.recorded


def stored_bars(symbol: str, start: int, end: int, period: int = MINUTE) -> list[Frame]:
    """The bars `/bars` serves of `symbol`'s stored minutes stamped in [start, end), made `period` seconds long by
    the plain rule (first open, max high, min low, last close, summed volume); `time` in ms."""
    rows = STORED_MINUTES[symbol]
    picked = (rows.times >= start) & (rows.times < end)
    times = rows.times[picked]
    bars = []
    for stamp in np.unique(times // period * period).tolist():
        inside = picked & (rows.times // period * period == stamp)
        bars.append(
            {
                "time": stamp * 1000,
                "open": int(rows.opens[inside][0]) / PRICESCALE,
                "high": int(rows.highs[inside].max()) / PRICESCALE,
                "low": int(rows.lows[inside].min()) / PRICESCALE,
                "close": int(rows.closes[inside][-1]) / PRICESCALE,
                "volume": float(rows.volumes[inside].sum()),
            }
        )
    return bars


def same_bars(served: list[Frame], expected: list[Frame]) -> bool:
    """Equal bars, volumes summed in another order allowed to differ in their last bits."""
    return len(served) == len(expected) and all(
        {**bar, "volume": 0} == {**other, "volume": 0} and bar["volume"] == pytest.approx(other["volume"], rel=1e-12)
        for bar, other in zip(served, expected, strict=True)
    )

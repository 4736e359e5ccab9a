"""Fixtures of the ingest tests: a store with instruments made for live ingest (no history), and clients of the app
exactly as `python -m app` builds it with INGEST_TOKEN and STORE_URL set, on a clock the test moves."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any, cast

import pytest
from aiohttp import ClientResponse

from app.api.ingest import INGEST
from app.keys import FEED
from app.main import create_app
from app.market.combined import CombinedFeed
from app.market.instruments import AssetClass
from app.settings import Settings
from app.store.base import InstrumentSpec
from app.store.feed import StoredFeed
from app.store.ingest import Ingest
from app.store.open import open_store
from tests.conftest import BARS_PATH, Client, ClientFactory
from tests.store_fixtures import (  # noqa: F401 (fixtures)
    postgres_database,
    postgres_url,
    sqlite_url,
    stock_spec,
    store_url,
)

TOKEN = "test-ingest-token-0123456789"
INGEST_PATH = "/api/v1/ingest/trades"
# Wednesday 2026-11-18 15:00:30 UTC: a weekday, NASDAQ open (10:00:30 in New York).
START = 1_795_014_030
MINUTE = START // 60 * 60
# A crypto instrument made for live ingest: cents, volumes in 1/10,000 of a coin, every day around the clock.
COIN = InstrumentSpec(
    "COIN", AssetClass.CRYPTO, "CRYPTO", "Etc/UTC", "24x7", "Coin / US Dollar", pricescale=100, volume_precision=4
)

Trade = dict[str, Any]
MakeClient = Callable[..., Awaitable[Client]]


class ManualClock:
    """The server's clock, UTC seconds, moved by the test."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def trade(price: float, size: float, time_ms: int, symbol: str = "COIN") -> Trade:
    return {"symbol": symbol, "price": price, "size": size, "time": time_ms}


async def post(client: Client, trades: list[Trade], token: str | None = TOKEN) -> ClientResponse:
    """POST the trades with the bearer token (none when None)."""
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    return await client.post(INGEST_PATH, json={"trades": trades}, headers=headers)


async def accepted(client: Client, trades: list[Trade]) -> None:
    """POST trades that must all be applied."""
    response = await post(client, trades)
    assert response.status == 200, await response.text()
    assert await response.json() == {"accepted": len(trades)}


async def bars(client: Client, resolution: str, start: int, end: int, symbol: str = "COIN") -> list[dict[str, Any]]:
    """`/bars` in [start, end) (UTC seconds)."""
    params = {"symbol": symbol, "resolution": resolution, "from_time": str(start), "to_time": str(end)}
    response = await client.get(BARS_PATH, params=params)
    assert response.status == 200, await response.text()
    found: list[dict[str, Any]] = (await response.json())["bars"]
    return found


def ingest_of(client: Client) -> Ingest:
    return cast(Ingest, client.app[INGEST])


async def stored_view(client: Client) -> None:
    """Once every closed bar is written: the stored feed's view brought up to the store, and ingest's own copies of
    the bars it shows dropped (so that /bars serves them from the store)."""
    ingest = ingest_of(client)
    await ingest.settled()
    feed = client.app[FEED]
    assert isinstance(feed, CombinedFeed)
    assert isinstance(feed.recorded, StoredFeed)
    await feed.recorded.refresh()
    ingest.step()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


def made_store(url: str) -> str:
    """`url` with COIN and ACME (a NASDAQ stock) created, neither with bars."""
    store = open_store(url)
    try:
        store.migrate()
        store.put_instrument(COIN)
        store.put_instrument(stock_spec("ACME"))
    finally:
        store.close()
    return url


@pytest.fixture
def ingest_url(sqlite_url: str) -> str:  # noqa: F811 (the fixture imported above)
    return made_store(sqlite_url)


@pytest.fixture
def each_ingest_url(store_url: str) -> str:  # noqa: F811 (the fixture imported above)
    """A store of each engine in turn, made as `ingest_url`."""
    return made_store(store_url)


@pytest.fixture
def make_client(aiohttp_client: ClientFactory, settings: Settings, clock: ManualClock) -> MakeClient:
    """A client of the app on the store at `url`, with INGEST_TOKEN (unless `ingest_token` says otherwise) and the
    broadcaster ticking every 20 ms."""

    async def make(url: str, **overrides: Any) -> Client:
        changes: dict[str, Any] = {"store_url": url, "ingest_token": TOKEN, "bar_broadcaster_interval": 0.02}
        changes |= overrides
        return await aiohttp_client(create_app(dataclasses.replace(settings, **changes), clock=clock))

    return make


@pytest.fixture
async def client(make_client: MakeClient, ingest_url: str) -> Client:
    return await make_client(ingest_url)

"""Fixtures of the stored feed's tests: a store of each engine filled with the known bars, and a client of the app
exactly as `python -m app` builds it with STORE_URL pointing there."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from app.keys import FEED
from app.main import create_app
from app.market.combined import CombinedFeed
from app.settings import Settings
from app.store.base import BarStore
from app.store.feed import StoredFeed
from app.store.open import open_store
from tests.conftest import Client, ClientFactory
from tests.store_feed.data import fill
from tests.store_fixtures import (  # noqa: F401 (fixtures)
    postgres_database,
    postgres_url,
    sqlite_url,
    store_url,
)


@pytest.fixture
def filled_url(store_url: str) -> str:  # noqa: F811 (the fixture imported above)
    """A STORE_URL of each engine in turn, whose store holds ACME, FXAB and DAYS."""
    store = open_store(store_url)
    try:
        store.migrate()
        fill(store)
    finally:
        store.close()
    return store_url


@pytest.fixture
def writer(filled_url: str) -> Iterator[BarStore]:
    """Another connection to the served store, as an import would have."""
    store = open_store(filled_url)
    yield store
    store.close()


@pytest.fixture
async def served(aiohttp_client: ClientFactory, settings: Settings, filled_url: str) -> Client:
    """A client of the app serving the simulation and the filled store."""
    return await aiohttp_client(create_app(dataclasses.replace(settings, store_url=filled_url)))


def stored_feed(client: Client) -> StoredFeed:
    """The app's stored feed."""
    feed = client.app[FEED]
    assert isinstance(feed, CombinedFeed)
    assert isinstance(feed.recorded, StoredFeed)
    return feed.recorded

"""Fixtures: the real app built by the factory, served on a real socket by pytest-aiohttp."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from app.main import create_app
from app.market.simulation import SimulatedFeed
from app.settings import Settings, load_settings

# Wednesday 2026-11-18 15:00:30 UTC: stocks, forex and crypto are all trading.
FROZEN_NOW = 1_795_014_030

ClientFactory = Callable[[web.Application], Awaitable[TestClient[web.Request, web.Application]]]
Client = TestClient[web.Request, web.Application]


@pytest.fixture
def settings() -> Settings:
    return load_settings({})


@pytest.fixture
def frozen_feed() -> SimulatedFeed:
    return SimulatedFeed(clock=lambda: FROZEN_NOW)


@pytest.fixture
async def client(aiohttp_client: ClientFactory, settings: Settings, frozen_feed: SimulatedFeed) -> Client:
    """A client of the app whose simulated market is frozen at FROZEN_NOW."""
    return await aiohttp_client(create_app(settings, feed=frozen_feed))


@pytest.fixture
async def live_client(aiohttp_client: ClientFactory, settings: Settings) -> Client:
    """A client of the app exactly as `python -m app` builds it, real clock included."""
    return await aiohttp_client(create_app(settings))

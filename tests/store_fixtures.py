"""Stores for tests, of both engines: an SQLite file in the test's tmp_path, and a PostgreSQL schema of its own in
this test run's throw-away database `tp_test_<uuid>` on 127.0.0.1:5432 (user postgres, dropped at the end).

Use them from a conftest.py (or a test module) by importing the fixtures you need:

    from tests.store_fixtures import postgres_store, sqlite_store, store  # noqa: F401 (fixtures)

`store` runs a test once per engine. `*_url` fixtures give a fresh, empty STORE_URL (nothing migrated) for tests
that open the store themselves (the command line, several processes); `*_store` fixtures an open, migrated store.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import pytest
from psycopg import sql

from app.market.instruments import AssetClass
from app.store.base import BarRows, BarStore, InstrumentSpec
from app.store.open import open_store

POSTGRES_SERVER = "postgresql://postgres@127.0.0.1:5432"
ENGINES = ("sqlite", "postgres")


def stock_spec(symbol: str = "ACME", **changes: Any) -> InstrumentSpec:
    """A NASDAQ stock priced in cents, with `changes` to its fields."""
    spec = InstrumentSpec(
        symbol, AssetClass.STOCK, "NASDAQ", "America/New_York", "0930-1600", f"{symbol} Corporation", pricescale=100
    )
    return dataclasses.replace(spec, **changes)


def sample_rows(start: int, count: int, step: int = 60, seed: int = 0) -> BarRows:
    """`count` consistent bars every `step` seconds from `start` (UTC seconds): ticks around 10,000, fractional
    volumes (so that a float that does not survive the round trip shows)."""
    rng = np.random.default_rng(seed)
    opens = 10_000 + rng.integers(-500, 500, count)
    closes = opens + rng.integers(-20, 21, count)
    highs = np.maximum(opens, closes) + rng.integers(0, 10, count)
    lows = np.minimum(opens, closes) - rng.integers(0, 10, count)
    times = start + step * np.arange(count, dtype=np.int64)
    return BarRows(times, opens, highs, lows, closes, rng.random(count) * 1e4 / 3)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A STORE_URL naming an SQLite file that does not exist yet."""
    return f"sqlite:///{tmp_path / 'store.db'}"


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """This test run's own database (tp_test_<uuid>), as a URL; dropped when the run ends."""
    name = f"tp_test_{uuid.uuid4().hex}"
    _as_admin(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield f"{POSTGRES_SERVER}/{name}"
    # FORCE: a connection a failed test left open does not keep the database alive.
    _as_admin(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def postgres_url(postgres_database: str) -> Iterator[str]:
    """A STORE_URL whose connections see only a fresh, empty schema of the run's database (its search_path)."""
    schema = sql.Identifier(f"test_{uuid.uuid4().hex}")
    with psycopg.connect(postgres_database, autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE SCHEMA {}").format(schema))
    yield f"{postgres_database}?options=-csearch_path%3D{schema.as_string()}"
    with psycopg.connect(postgres_database, autocommit=True) as connection:
        connection.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(schema))


@pytest.fixture(params=ENGINES)
def store_url(request: pytest.FixtureRequest) -> str:
    """A fresh STORE_URL of each engine in turn."""
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


@pytest.fixture
def sqlite_store(sqlite_url: str) -> Iterator[BarStore]:
    """An open, migrated SQLite store, closed afterwards."""
    yield from _migrated(sqlite_url)


@pytest.fixture
def postgres_store(postgres_url: str) -> Iterator[BarStore]:
    """An open, migrated PostgreSQL store, closed afterwards."""
    yield from _migrated(postgres_url)


@pytest.fixture(params=ENGINES)
def store(request: pytest.FixtureRequest) -> BarStore:
    """An open, migrated store of each engine in turn."""
    opened: BarStore = request.getfixturevalue(f"{request.param}_store")
    return opened


def _migrated(url: str) -> Iterator[BarStore]:
    opened = open_store(url)
    try:
        opened.migrate()
        yield opened
    finally:
        opened.close()


def _as_admin(statement: sql.Composed) -> None:
    try:
        with psycopg.connect(f"{POSTGRES_SERVER}/postgres", autocommit=True, connect_timeout=5) as connection:
            connection.execute(statement)
    except psycopg.OperationalError as error:
        pytest.fail(f"PostgreSQL does not answer on 127.0.0.1:5432 ({error}); .ci/run starts one", pytrace=False)

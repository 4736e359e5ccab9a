"""The store's tests run against both engines: an SQLite file and this run's PostgreSQL database."""

from __future__ import annotations

from tests.store_fixtures import (  # noqa: F401 (fixtures)
    postgres_database,
    postgres_store,
    postgres_url,
    sqlite_store,
    sqlite_url,
    store,
    store_url,
)

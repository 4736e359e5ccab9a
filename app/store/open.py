"""open_store: the BarStore that STORE_URL names, for the server, the importer and the command line."""

from __future__ import annotations

from app.store.base import BarStore, StoreError
from app.store.postgres import PostgresStore
from app.store.sqlite import SqliteStore
from app.store.url import SqliteLocation, parse_store_url


def open_store(url: str) -> BarStore:
    """The store at `url` (STORE_URL), not yet connected: nothing is read or created before the first call, so a
    server starts while its database is down (migrate() then raises StoreUnavailableError; try it again later).

    Raises StoreError naming STORE_URL for a URL of no known engine, or an SQLite file in a directory that does
    not exist.
    """
    location = parse_store_url(url)
    if isinstance(location, SqliteLocation):
        if not location.path.parent.is_dir():
            raise StoreError(f"STORE_URL {url!r}: the directory {location.path.parent} does not exist")
        return SqliteStore(location.path)
    return PostgresStore(location.conninfo)

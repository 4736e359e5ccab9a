"""The store as the server opens it: once it exists (the first import creates an SQLite file), migrated."""

from __future__ import annotations

from app.store.base import BarStore, StoreError
from app.store.open import open_store
from app.store.url import SqliteLocation, parse_store_url


def store_exists(url: str) -> bool:
    """Whether there may be a store at `url` (STORE_URL): a database server, or an SQLite file that exists (the
    first import creates it). Raises StoreError for a URL of no known engine."""
    location = parse_store_url(url)
    return not isinstance(location, SqliteLocation) or location.path.exists()


def connect_existing(url: str) -> BarStore | None:
    """The store at `url` (STORE_URL), its schema brought up to date; None while an SQLite file is not there: the
    first import creates it, and the server starts serving it then. Raises StoreError (StoreUnavailableError while
    the database does not answer)."""
    if not store_exists(url):
        return None
    store = open_store(url)
    try:
        store.migrate()
    except StoreError:
        store.close()
        raise
    return store

"""Versioned schema migrations of the store (yoyo-migrations, one folder of SQL files per engine), run under a
lock that dies with its holder.

Several processes may start at once, and one may die while migrating. yoyo's own lock is a row in a table,
which a dead process leaves behind; so every migrator first takes a lock the system releases when its holder
dies (an flock on a file beside the SQLite database, a PostgreSQL session's advisory lock). Whoever holds it is
the only live migrator, and a yoyo lock row it finds is a dead one's: it is cleared before yoyo runs.
"""

from __future__ import annotations

import fcntl
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import psycopg
from psycopg.conninfo import conninfo_to_dict
from yoyo import get_backend, read_migrations  # type: ignore[import-untyped]

from app.store.base import StoreError, StoreUnavailableError

SQLITE = Path(__file__).parent / "sqlite"
POSTGRESQL = Path(__file__).parent / "postgresql"
# Seconds a migrator waits for another one before giving up (migrations take well under a second).
LOCK_TIMEOUT = 30.0
# The advisory lock's key (locks are per database): "tp-migr" in ASCII.
ADVISORY_LOCK = 0x74702D6D696772
_MIGRATING = "another process is migrating its schema"


def migrate_sqlite(path: Path) -> None:
    """Create the database file if need be, put it in WAL mode and apply the pending migrations.

    Raises StoreUnavailableError when another process has held the migration lock for LOCK_TIMEOUT seconds or
    the file refuses WAL mode, sqlite3.Error when the file cannot be opened or is not a database.
    """
    with sqlite_migration_lock(path):
        connection = sqlite3.connect(path)
        try:
            # Kept in the file: readers in other processes never wait for the writer, nor the writer for them.
            (mode,) = connection.execute("PRAGMA journal_mode = WAL").fetchone()
        finally:
            connection.close()
        if mode != "wal":
            raise StoreUnavailableError(
                f"SQLite store {path}: WAL mode refused (journal mode {mode})", "SQLite refuses WAL mode"
            )
        _apply(get_backend(f"sqlite:///{quote(str(path))}"), SQLITE)


def migrate_postgres(conninfo: str, *, connect_timeout: int) -> None:
    """Apply the pending migrations to the database `conninfo` names (its first schema on the search path).

    Raises StoreUnavailableError when another process has held the migration lock for LOCK_TIMEOUT seconds,
    psycopg.Error when the server does not answer (`connect_timeout` seconds) or refuses.
    """
    with postgres_migration_lock(conninfo, connect_timeout=connect_timeout):
        # yoyo reads a URL; its query parameters become psycopg.connect's keywords, so any conninfo passes whole.
        parameters = {**conninfo_to_dict(conninfo), "connect_timeout": connect_timeout}
        _apply(get_backend(f"postgresql+psycopg:///?{urlencode(parameters)}"), POSTGRESQL)


@contextmanager
def sqlite_migration_lock(database: Path) -> Iterator[None]:
    """Hold the lock of the migrators of `database`: an flock on the file `<database>-migrate.lock` beside it,
    which the kernel releases when its holder dies."""
    path = database.with_name(f"{database.name}-migrate.lock")
    try:
        handle = path.open("a")
    except OSError as error:
        raise StoreUnavailableError(
            f"cannot open the migration lock {path}: {error.strerror}", "SQLite migration lock cannot be opened"
        ) from None
    with handle:
        deadline = time.monotonic() + LOCK_TIMEOUT
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise StoreUnavailableError(
                        f"another process has been migrating {database} for {LOCK_TIMEOUT:.0f} s", _MIGRATING
                    ) from None
                # flock has no timeout of its own: poll, a migration takes well under a second.
                time.sleep(0.05)
        yield
    # Closing the file released the lock.


@contextmanager
def postgres_migration_lock(conninfo: str, *, connect_timeout: int) -> Iterator[None]:
    """Hold the lock of the migrators of the database `conninfo` names: a session-level advisory lock, which the
    server releases when the session ends, its holder's death included."""
    with psycopg.connect(conninfo, autocommit=True, connect_timeout=connect_timeout) as session:
        session.execute(f"SET lock_timeout = {int(LOCK_TIMEOUT * 1000)}")
        try:
            session.execute("SELECT pg_advisory_lock(%s)", (ADVISORY_LOCK,))
        except psycopg.errors.LockNotAvailable:
            raise StoreUnavailableError(
                f"another process has been migrating for {LOCK_TIMEOUT:.0f} s", _MIGRATING
            ) from None
        yield
    # Closing the session released the lock.


def _apply(backend: Any, folder: Path) -> None:
    migrations = read_migrations(str(folder))
    if not migrations:
        raise StoreError(f"no migrations in {folder}: this installation of trading-pro is incomplete")
    with backend:
        # Only the holder of the migration lock gets here: a yoyo lock row is a dead migrator's.
        backend.break_lock()
        with backend.lock():
            backend.apply_migrations(backend.to_apply(migrations))

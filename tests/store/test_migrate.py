"""Migrations on both engines: applied once however many processes start at once, and a migrator that died, holding
the lock or leaving yoyo's lock row behind, is harmless."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from multiprocessing.synchronize import Barrier, Event

import psycopg

from app.store.base import BarStore
from app.store.migrations.runner import POSTGRESQL, SQLITE, postgres_migration_lock, sqlite_migration_lock
from app.store.open import open_store
from app.store.url import SqliteLocation, parse_store_url

PROCESSES = 4
# Seconds a child process may take to start (a spawned interpreter imports numpy and psycopg first).
START_TIMEOUT = 60


def query(url: str, statement: str) -> list[tuple[object, ...]]:
    """Rows of `statement` run on the database `url` names, outside the store."""
    location = parse_store_url(url)
    if isinstance(location, SqliteLocation):
        with sqlite3.connect(location.path) as sqlite:
            return sqlite.execute(statement).fetchall()
    with psycopg.connect(location.conninfo, autocommit=True) as postgres:
        cursor = postgres.execute(statement)
        return cursor.fetchall() if cursor.description else []


def migration_ids(url: str) -> list[str]:
    folder = SQLITE if url.startswith("sqlite") else POSTGRESQL
    return sorted(path.stem for path in folder.glob("*.sql"))


def migrate_when_all_are_ready(url: str, barrier: Barrier) -> None:
    barrier.wait(timeout=START_TIMEOUT)
    store = open_store(url)
    try:
        store.migrate()
    finally:
        store.close()


def hold_the_migration_lock(url: str, holding: Event) -> None:
    location = parse_store_url(url)
    lock: AbstractContextManager[None] = (
        sqlite_migration_lock(location.path)
        if isinstance(location, SqliteLocation)
        else postgres_migration_lock(location.conninfo, connect_timeout=5)
    )
    with lock:
        holding.set()
        threading.Event().wait()  # until killed


def test_processes_migrating_one_fresh_database_at_once_all_succeed_and_apply_it_once(store_url: str) -> None:
    spawn = multiprocessing.get_context("spawn")
    barrier = spawn.Barrier(PROCESSES)
    migrators = [spawn.Process(target=migrate_when_all_are_ready, args=(store_url, barrier)) for _ in range(PROCESSES)]
    for migrator in migrators:
        migrator.start()
    for migrator in migrators:
        migrator.join(timeout=2 * START_TIMEOUT)
    assert [migrator.exitcode for migrator in migrators] == [0] * PROCESSES

    ids = migration_ids(store_url)
    assert ids
    assert sorted(str(row[0]) for row in query(store_url, "SELECT migration_id FROM _yoyo_migration")) == ids
    applied = query(store_url, "SELECT migration_id FROM _yoyo_log WHERE operation = 'apply'")
    assert sorted(str(row[0]) for row in applied) == ids
    assert query(store_url, "SELECT value FROM revision") == [(0,)]


def test_a_migrator_killed_while_holding_the_lock_blocks_nobody(store_url: str) -> None:
    spawn = multiprocessing.get_context("spawn")
    holding = spawn.Event()
    holder = spawn.Process(target=hold_the_migration_lock, args=(store_url, holding))
    holder.start()
    try:
        assert holding.wait(timeout=START_TIMEOUT)
    finally:
        os.kill(holder.pid or 0, signal.SIGKILL)
        holder.join()

    with opened(store_url) as store:
        assert store.instruments() == []


def test_a_lock_row_left_by_a_dead_migrator_is_cleared(store_url: str) -> None:
    with opened(store_url) as store:
        query(store_url, "INSERT INTO yoyo_lock (locked, ctime, pid) VALUES (1, CURRENT_TIMESTAMP, 999999)")
        # yoyo alone would wait 10 s for the row's owner, then fail.
        store.migrate()
        assert query(store_url, "SELECT count(*) FROM yoyo_lock") == [(0,)]
        assert store.instruments() == []


@contextmanager
def opened(url: str) -> Iterator[BarStore]:
    """Opens and migrates the store at `url`, yields it once, closes it."""
    store = open_store(url)
    try:
        store.migrate()
        yield store
    finally:
        store.close()

"""The SQLite engine's own promises: a WAL file that readers in other processes read while a write is open, one
writer at a time (a write that waits too long gives up, leaving the store as it was), threads sharing the store."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from app.market.resolutions import Resolution
from app.store.base import BarStore, StoreUnavailableError, WriteResult
from app.store.open import open_store
from app.store.rows import chunks
from app.store.sqlite import SqliteStore
from app.store.url import SqliteLocation, parse_store_url
from tests.store_fixtures import sample_rows, stock_spec

START = 1_767_225_600
M1 = Resolution.M1
READER = """
import sys
from app.market.resolutions import Resolution
from app.store.open import open_store
store = open_store(sys.argv[1])
print(len(store.read_bars("ACME", Resolution.M1, 0, 2**62)), store.revision())
"""


def path_of(url: str) -> Path:
    location = parse_store_url(url)
    assert isinstance(location, SqliteLocation)
    return location.path


def open_write(path: Path) -> sqlite3.Connection:
    """Another writer's connection, holding the file's write lock with a bar written and not committed."""
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    series = "(SELECT id FROM series WHERE symbol = 'ACME' AND resolution = '1')"
    writer.execute(f"INSERT INTO bars VALUES ({series}, 0, 1, 1, 1, 1, 1.0)")
    writer.execute("UPDATE revision SET value = value + 1")
    return writer


@pytest.fixture
def acme(sqlite_store: BarStore) -> BarStore:
    sqlite_store.put_instrument(stock_spec("ACME"))
    sqlite_store.write_bars("ACME", M1, sample_rows(START, 100))
    return sqlite_store


def test_migrate_creates_the_file_in_wal_mode(sqlite_url: str) -> None:
    store = open_store(sqlite_url)
    store.migrate()
    store.close()
    with sqlite3.connect(path_of(sqlite_url)) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_a_reader_in_another_process_reads_while_a_write_is_open(acme: BarStore, sqlite_url: str) -> None:
    revision = acme.revision()
    writer = open_write(path_of(sqlite_url))
    try:
        reader = subprocess.run(
            [sys.executable, "-c", READER, sqlite_url], capture_output=True, text=True, timeout=60, check=False
        )
    finally:
        writer.execute("COMMIT")
        writer.close()
    assert reader.returncode == 0, reader.stderr
    # What was committed when it read: not the open write's bar.
    assert reader.stdout.split() == ["100", str(revision)]
    assert len(acme.read_bars("ACME", M1, 0, 2**62)) == 101


def test_a_write_waits_its_busy_timeout_for_another_writer_then_gives_up_whole(acme: BarStore, sqlite_url: str) -> None:
    patient = SqliteStore(path_of(sqlite_url), busy_timeout=0.2)
    rows = sample_rows(START + 6_000, 10)
    writer = open_write(path_of(sqlite_url))
    try:
        with pytest.raises(StoreUnavailableError, match="database is locked"):
            patient.write_bars("ACME", M1, rows)
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert len(acme.read_bars("ACME", M1, 0, 2**62)) == 100
    assert patient.write_bars("ACME", M1, rows) == WriteResult(inserted=10, unchanged=0, replaced=0)
    patient.close()


def test_threads_read_whole_writes_while_one_thread_writes(acme: BarStore) -> None:
    batches = list(chunks(sample_rows(START + 6_000, 2_000, seed=1), 100))

    def write_all() -> None:
        for batch in batches:
            acme.write_bars("ACME", M1, batch)

    def read_many() -> list[int]:
        return [len(acme.read_bars("ACME", M1, 0, 2**62)) for _ in range(50)]

    with ThreadPoolExecutor(max_workers=5) as pool:
        readers = [pool.submit(read_many) for _ in range(4)]
        pool.submit(write_all).result()
        seen = [count for reader in readers for count in reader.result()]
    # Each read saw whole writes only: 100 bars at first, then 100 more per write.
    assert all(count % 100 == 0 and 100 <= count <= 2_100 for count in seen)
    assert len(acme.read_bars("ACME", M1, 0, 2**62)) == 2_100

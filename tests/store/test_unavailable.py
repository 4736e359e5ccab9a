"""A store that does not answer raises StoreUnavailableError (a 503), soon, from every call: PostgreSQL down or
unreachable, an SQLite file missing, corrupt or never migrated. Opening one never fails for that reason."""

from __future__ import annotations

import contextlib
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from app.market.resolutions import Resolution
from app.store.base import BarStore, StoreUnavailableError
from app.store.open import open_store
from app.store.postgres import PostgresStore
from tests.store_fixtures import sample_rows, stock_spec

CALLS: dict[str, Callable[[BarStore], object]] = {
    "migrate": lambda store: store.migrate(),
    "instruments": lambda store: store.instruments(),
    "put_instrument": lambda store: store.put_instrument(stock_spec()),
    "write_bars": lambda store: store.write_bars("ACME", Resolution.M1, sample_rows(0, 3)),
    "read_bars": lambda store: store.read_bars("ACME", Resolution.M1, 0, 2**62),
    "read_last": lambda store: store.read_last("ACME", Resolution.M1, 2**62, 5),
    "revision": lambda store: store.revision(),
}


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A local port that refuses connections: bound (so nothing else takes it) but not listening."""
    with socket.socket() as bound:
        bound.bind(("127.0.0.1", 0))
        yield int(bound.getsockname()[1])


@pytest.mark.parametrize("call", CALLS)
def test_postgres_down_fails_each_call_soon_without_the_password(closed_port: int, call: str) -> None:
    store = PostgresStore(f"postgresql://trader:s3cret@127.0.0.1:{closed_port}/market", timeout=0.5)
    try:
        started = time.monotonic()
        with pytest.raises(StoreUnavailableError, match="PostgreSQL store postgresql://trader:\\*\\*\\*@") as failed:
            CALLS[call](store)
        assert time.monotonic() - started < 5
        assert "s3cret" not in str(failed.value)
        # What a client is told: the cause in a few words, nothing of where the database is.
        assert failed.value.reason == "PostgreSQL connection refused"
    finally:
        store.close()


class Forwarder:
    """A TCP forwarder from a local port to the test PostgreSQL server, which a test cuts (the port refuses, every
    connection through it is reset) and restores (on the same port)."""

    def __init__(self) -> None:
        self._sockets: list[socket.socket] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._serve()

    def cut(self) -> None:
        # shutdown() first: close() alone neither wakes a thread blocked in accept() or recv() nor stops the socket.
        for connection in [self._listener, *self._sockets]:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
            connection.close()
        self._sockets.clear()

    def restore(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self._serve()

    def _serve(self) -> None:
        threading.Thread(target=self._accept, args=(self._listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", 5432))
            self._sockets += [client, server]
            for source, target in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, target: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65_536):
                target.sendall(data)
        with contextlib.suppress(OSError):
            target.shutdown(socket.SHUT_WR)


@pytest.fixture
def forwarder() -> Iterator[Forwarder]:
    forwarding = Forwarder()
    yield forwarding
    forwarding.cut()


def answers_again(call: Callable[[], object]) -> bool:
    """Whether `call` succeeds within a few attempts (a pool retrying in the background may miss the first)."""
    for _ in range(5):
        with contextlib.suppress(StoreUnavailableError):
            call()
            return True
    return False


def test_one_store_rides_out_postgres_going_down_and_coming_back(postgres_url: str, forwarder: Forwarder) -> None:
    store = PostgresStore(postgres_url.replace("127.0.0.1:5432", f"127.0.0.1:{forwarder.port}"), timeout=0.5)
    try:
        forwarder.cut()
        # Down at start-up: migrate() fails, the server starts anyway and tries again later.
        with pytest.raises(StoreUnavailableError):
            store.migrate()
        forwarder.restore()
        store.migrate()
        store.put_instrument(stock_spec())
        assert store.revision() == 1

        forwarder.cut()
        for call in ("instruments", "revision"):
            with pytest.raises(StoreUnavailableError):
                CALLS[call](store)
        forwarder.restore()
        assert answers_again(store.revision)
        assert [stored.spec for stored in store.instruments()] == [stock_spec()]
    finally:
        store.close()


def test_a_read_only_postgres_serves_reads_and_refuses_writes(postgres_store: BarStore, postgres_url: str) -> None:
    postgres_store.put_instrument(stock_spec())
    replica = open_store(f"{postgres_url}%20-cdefault_transaction_read_only%3Don")
    try:
        assert [stored.spec for stored in replica.instruments()] == [stock_spec()]
        with pytest.raises(StoreUnavailableError, match="refuses: cannot execute INSERT in a read-only transaction"):
            replica.put_instrument(stock_spec("OTHER"))
    finally:
        replica.close()
    assert [stored.spec.symbol for stored in postgres_store.instruments()] == ["ACME"]


def test_a_missing_sqlite_file_is_unavailable_and_reading_does_not_create_it(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'none.db'}")
    for call in ("instruments", "read_bars", "revision", "write_bars"):
        with pytest.raises(
            StoreUnavailableError, match="no such file: migrate\\(\\), which an import runs, creates it"
        ):
            CALLS[call](store)
    store.close()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("call", CALLS)
def test_a_corrupt_sqlite_file_is_unavailable_and_left_as_it_was(tmp_path: Path, call: str) -> None:
    path = tmp_path / "corrupt.db"
    garbage = b"this is not an SQLite database, only text long enough to look like a header" * 100
    path.write_bytes(garbage)
    store = open_store(f"sqlite:///{path}")
    with pytest.raises(StoreUnavailableError, match="file is not a database"):
        CALLS[call](store)
    store.close()
    assert path.read_bytes() == garbage


def test_an_sqlite_file_never_migrated_says_so(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    sqlite3.connect(path).close()
    store = open_store(f"sqlite:///{path}")
    with pytest.raises(StoreUnavailableError, match="no schema: migrate\\(\\) has not run"):
        store.instruments()
    store.migrate()
    assert len(store.read_bars("ACME", Resolution.M1, 0, 10)) == 0
    store.close()

"""The embedded store: one SQLite file in WAL mode, read by every thread and process of this machine at once.

Connections come from a small pool: a call takes an idle connection (or opens one) and gives it back, so the
server's worker threads read in parallel and a thread that ends leaves nothing open. Readers never wait (WAL);
writers take turns (SQLite allows one per file): a write waits up to `busy_timeout` seconds for another one to
commit, then raises StoreUnavailableError. Every call is one transaction.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from urllib.parse import quote

from app.market.resolutions import Resolution
from app.store.base import (
    BarRows,
    ConflictError,
    InstrumentSpec,
    StoredInstrument,
    StoreError,
    StoreUnavailableError,
    WriteResult,
)
from app.store.catalog import COLUMNS, SERIES_COLUMNS, instrument_row, stored_instruments
from app.store.migrations.runner import migrate_sqlite
from app.store.rows import checked, compare, from_records, rewritten_from, selected, sliced, statement_parameters

# Seconds a write waits for another process's write to commit (a write of a million bars takes about a second).
BUSY_TIMEOUT = 5.0
# Idle connections kept for reuse; more are opened when more threads call at once, and closed afterwards.
MAX_IDLE = 16
# Bars per INSERT statement. Statements of 100 rows write about twice as many bars a second as statements of one
# row (the driver's work per statement is most of the cost), and their 601 parameters stay under the limit of every
# SQLite build (999 by default before 3.32, 32,766 since).
ROWS_PER_INSERT = 100

_SERIES_ID = "SELECT id FROM series WHERE symbol = ? AND resolution = ?"
_SELECT_BARS = f"SELECT time, open, high, low, close, volume FROM bars WHERE series = ({_SERIES_ID})"
_PUT_INSTRUMENT = (
    f"INSERT INTO instruments ({', '.join(COLUMNS)}) VALUES ({', '.join('?' for _ in COLUMNS)}) "
    f"ON CONFLICT (symbol) DO UPDATE SET {', '.join(f'{name} = excluded.{name}' for name in COLUMNS[1:])}"
)
_WIDEN_SERIES = (
    "INSERT INTO series (symbol, resolution, first_time, last_time) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (symbol, resolution) DO UPDATE SET "
    "first_time = min(first_time, excluded.first_time), last_time = max(last_time, excluded.last_time)"
)
_LAST_TIME = "SELECT last_time FROM series WHERE symbol = ? AND resolution = ?"
_COUNT_REWRITE = (
    "UPDATE series SET rewrites = rewrites + 1, rewrite_latest_from = ?1, "
    "rewrite_earliest_from = min(coalesce(rewrite_earliest_from, ?1), ?1) WHERE symbol = ?2 AND resolution = ?3"
)
_BUMP_REVISION = "UPDATE revision SET value = value + 1 WHERE id = 1"


class SqliteStore:
    """A BarStore in the SQLite database file `path`, which migrate() creates; no other call creates it."""

    def __init__(self, path: Path, *, busy_timeout: float = BUSY_TIMEOUT) -> None:
        self.path = path
        self._busy_timeout = busy_timeout
        self._idle: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._closed = False

    def migrate(self) -> None:
        """Create the file if need be (WAL mode) and bring its schema to the newest version."""
        with self._errors():
            migrate_sqlite(self.path)

    def instruments(self) -> list[StoredInstrument]:
        """Every stored instrument, by symbol, with the resolutions and spans of its bars."""
        with self._transaction() as db:
            instruments = db.execute(f"SELECT {', '.join(COLUMNS)} FROM instruments").fetchall()
            series = db.execute(f"SELECT {SERIES_COLUMNS} FROM series").fetchall()
        return stored_instruments(instruments, series)

    def put_instrument(self, spec: InstrumentSpec) -> None:
        """Create the instrument or replace its description (its bars stay). Raises StoreError for a bad spec."""
        row = instrument_row(spec)
        with self._transaction(write=True) as db:
            db.execute(_PUT_INSTRUMENT, row)
            db.execute(_BUMP_REVISION)

    def write_bars(self, symbol: str, resolution: Resolution, rows: BarRows, *, replace: bool = False) -> WriteResult:
        """Store `rows` in one transaction. Raises StoreError for rows that are not one consistent bar per time
        or an unknown symbol, ConflictError for rows stored with other values (unless `replace`)."""
        rows = checked(rows)
        with self._transaction(write=True) as db:
            if db.execute("SELECT 1 FROM instruments WHERE symbol = ?", (symbol,)).fetchone() is None:
                raise StoreError(f"unknown instrument {symbol!r}: add it before its bars")
            comparison = compare(rows, lambda start, end: _select_range(db, symbol, resolution, start, end))
            inserted, changed = int(comparison.new.sum()), int(comparison.changed.sum())
            if changed and not replace:
                raise ConflictError(symbol, resolution, rows.times[comparison.changed].tolist())
            last = db.execute(_LAST_TIME, (symbol, resolution.value)).fetchone()
            rewritten = rewritten_from(rows, comparison, None if last is None else int(last[0]))
            if inserted:
                db.execute(_WIDEN_SERIES, (symbol, resolution.value, int(rows.times[0]), int(rows.times[-1])))
            if rewritten is not None:
                db.execute(_COUNT_REWRITE, (rewritten, symbol, resolution.value))
            if inserted or changed:
                (series,) = db.execute(_SERIES_ID, (symbol, resolution.value)).fetchone()
                # A plain INSERT of the new rows: only the replaced ones pay for looking for a row to replace.
                _insert(db, "INSERT", series, selected(rows, comparison.new))
                _insert(db, "INSERT OR REPLACE", series, selected(rows, comparison.changed))
                db.execute(_BUMP_REVISION)
        return WriteResult(inserted=inserted, unchanged=len(rows) - inserted - changed, replaced=changed)

    def read_bars(self, symbol: str, resolution: Resolution, start: int, end: int) -> BarRows:
        """Stored bars with time in [start, end) (UTC seconds), ascending."""
        with self._transaction() as db:
            return _select_range(db, symbol, resolution, start, end)

    def read_last(self, symbol: str, resolution: Resolution, end: int, count: int) -> BarRows:
        """The last `count` stored bars with time before `end` (UTC seconds), ascending."""
        if count <= 0:
            return BarRows.empty()
        query = f"{_SELECT_BARS} AND time < ? ORDER BY time DESC LIMIT ?"
        with self._transaction() as db:
            newest = db.execute(query, (symbol, resolution.value, end, count)).fetchall()
        return from_records(newest[::-1])

    def revision(self) -> int:
        """A number that changes with every write that changed instruments or bars."""
        with self._transaction() as db:
            (value,) = db.execute("SELECT value FROM revision WHERE id = 1").fetchone()
        return int(value)

    def close(self) -> None:
        """Close the idle connections; those in use close when given back. Later calls raise StoreError."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()

    @contextmanager
    def _transaction(self, *, write: bool = False) -> Iterator[sqlite3.Connection]:
        """A transaction, committed when the block ends and rolled back if it raises. A write takes the file's
        write lock at once (BEGIN IMMEDIATE), so what it reads stays true until it commits."""
        with self._errors(), self._connection() as connection:
            connection.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield connection
            except BaseException:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        """A pooled connection, given back afterwards unless SQLite failed on it (it is closed then)."""
        with self._lock:
            if self._closed:
                raise StoreError(f"SQLite store {self.path} is closed")
            connection = self._idle.pop() if self._idle else None
        if connection is None:
            connection = self._connect()
        trusted = True
        try:
            yield connection
        except sqlite3.Error:
            trusted = False
            raise
        finally:
            self._give_back(connection) if trusted else connection.close()

    def _connect(self) -> sqlite3.Connection:
        # mode=rw: a missing file is an error here, never an empty database made by a reader.
        connection = sqlite3.connect(
            f"file:{quote(str(self.path))}?mode=rw",
            uri=True,
            timeout=self._busy_timeout,
            isolation_level=None,
            check_same_thread=False,
        )
        # In WAL mode NORMAL never corrupts the file; a power cut may lose the last commits, never half of one.
        connection.execute("PRAGMA synchronous = NORMAL")
        return connection

    def _give_back(self, connection: sqlite3.Connection) -> None:
        with self._lock:
            if not self._closed and len(self._idle) < MAX_IDLE:
                self._idle.append(connection)
                return
        connection.close()

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """sqlite3's errors of the file or the engine as StoreUnavailableError (a program error stays one)."""
        try:
            yield
        except sqlite3.Error as error:
            if type(error) not in (sqlite3.OperationalError, sqlite3.DatabaseError):
                raise
            why = f"{error}{self._hint(error)}"
            raise StoreUnavailableError(f"SQLite store {self.path} is unavailable: {why}", f"SQLite: {why}") from error

    def _hint(self, error: sqlite3.Error) -> str:
        if not self.path.exists():
            return " (no such file: migrate(), which an import runs, creates it)"
        if "no such table" in str(error):
            return " (no schema: migrate() has not run)"
        return ""


def _insert(db: sqlite3.Connection, verb: str, series: int, rows: BarRows) -> None:
    """Write `rows` of the series `series` with `verb` (INSERT or INSERT OR REPLACE), ROWS_PER_INSERT per statement
    and the rows left in one more."""
    whole = len(rows) - len(rows) % ROWS_PER_INSERT
    for start, stop, size in ((0, whole, ROWS_PER_INSERT), (whole, len(rows), len(rows) - whole)):
        if stop > start:
            db.executemany(_insert_bars(verb, size), statement_parameters(sliced(rows, start, stop), size, series))


@cache
def _insert_bars(verb: str, count: int) -> str:
    """`verb` of `count` bars of one series: ?1 the series, then ?2... the times, the opens, highs, lows, closes and
    volumes, `count` of each (statement_parameters' order)."""
    columns = ("time", "open", "high", "low", "close", "volume")
    values = (
        f"(?1, {', '.join(f'?{2 + column * count + row}' for column in range(len(columns)))})" for row in range(count)
    )
    return f"{verb} INTO bars (series, {', '.join(columns)}) VALUES {', '.join(values)}"


def _select_range(db: sqlite3.Connection, symbol: str, resolution: Resolution, start: int, end: int) -> BarRows:
    query = f"{_SELECT_BARS} AND time >= ? AND time < ? ORDER BY time"
    return from_records(db.execute(query, (symbol, resolution.value, start, end)).fetchall())

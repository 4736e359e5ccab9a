"""The shared store: PostgreSQL through psycopg 3, so that several processes and machines serve one history.

Connections come from a psycopg_pool.ConnectionPool that opens none before the first call (min_size 0), so a
server starts while its database is down. Every wait is short (a connection attempt, a free pooled connection),
so a call fails within about `timeout` seconds with StoreUnavailableError (a 503) rather than hanging, and the
next call tries again. A pooled connection is checked before use: one the server dropped is replaced, unseen.
Writes to one instrument take turns (its row is locked for the transaction); bars go in through binary COPY.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import ConnectionPool, PoolClosed

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
from app.store.migrations.runner import migrate_postgres
from app.store.pgcopy import COLUMNS as COPY_COLUMNS
from app.store.pgcopy import copy_blocks
from app.store.pgerrors import Attempts, Connection, cause, public_reason
from app.store.rows import checked, compare, from_records, rewritten_from, selected
from app.store.url import redacted

# Seconds a call waits for a connection before it raises StoreUnavailableError.
TIMEOUT = 3.0
# Connections one process holds at most (the server's worker threads share them).
MAX_CONNECTIONS = 8


_SELECT_BARS = "SELECT time, open, high, low, close, volume FROM bars WHERE symbol = %s AND resolution = %s"
_PUT_INSTRUMENT = (
    f"INSERT INTO instruments ({', '.join(COLUMNS)}) VALUES ({', '.join('%s' for _ in COLUMNS)}) "
    f"ON CONFLICT (symbol) DO UPDATE SET {', '.join(f'{name} = EXCLUDED.{name}' for name in COLUMNS[1:])}"
)
_DELETE_BARS = "DELETE FROM bars WHERE symbol = %s AND resolution = %s AND time = ANY(%s)"
_WIDEN_SERIES = (
    "INSERT INTO series (symbol, resolution, first_time, last_time) VALUES (%s, %s, %s, %s) "
    "ON CONFLICT (symbol, resolution) DO UPDATE SET first_time = LEAST(series.first_time, EXCLUDED.first_time), "
    "last_time = GREATEST(series.last_time, EXCLUDED.last_time)"
)
_LAST_TIME = "SELECT last_time FROM series WHERE symbol = %s AND resolution = %s"
_COUNT_REWRITE = (
    "UPDATE series SET rewrites = rewrites + 1, rewrite_latest_from = %(time)s, "
    "rewrite_earliest_from = LEAST(COALESCE(rewrite_earliest_from, %(time)s), %(time)s) "
    "WHERE symbol = %(symbol)s AND resolution = %(resolution)s"
)
# Last in its transaction: the row's lock, which every writer needs, is held only until the commit.
_BUMP_REVISION = "UPDATE revision SET value = value + 1 WHERE id = 1"


class PostgresStore:
    """A BarStore in the PostgreSQL database `conninfo` names (a libpq URL), in its first schema on the search path."""

    def __init__(self, conninfo: str, *, timeout: float = TIMEOUT) -> None:
        self._conninfo = conninfo
        self._name = redacted(conninfo)
        given = conninfo_to_dict(conninfo)
        # libpq waits at least 2 s for a connection; the URL's own settings win.
        self._connect_timeout = int(given.get("connect_timeout") or max(2, math.ceil(timeout)))
        settings = {"connect_timeout": self._connect_timeout, "application_name": "trading-pro"}
        self._timeout = timeout
        self._attempts = Attempts()
        self._pool: ConnectionPool[Connection] = ConnectionPool(
            conninfo,
            connection_class=self._attempts.connection_class(),
            kwargs={key: value for key, value in settings.items() if key not in given},
            min_size=0,
            max_size=MAX_CONNECTIONS,
            open=True,
            timeout=timeout,
            # A failed attempt is retried for this long, then left to the next call (backoff stays short).
            reconnect_timeout=timeout,
            check=ConnectionPool.check_connection,
            name="store",
        )

    def migrate(self) -> None:
        """Bring the schema to the newest version (under an advisory lock: concurrent start-ups are safe)."""
        with self._errors():
            migrate_postgres(self._conninfo, connect_timeout=self._connect_timeout)

    def instruments(self) -> list[StoredInstrument]:
        """Every stored instrument, by symbol, with the resolutions and spans of its bars."""
        with self._transaction() as db:
            instruments = db.execute(f"SELECT {', '.join(COLUMNS)} FROM instruments").fetchall()
            series = db.execute(f"SELECT {SERIES_COLUMNS} FROM series").fetchall()
        return stored_instruments(instruments, series)

    def put_instrument(self, spec: InstrumentSpec) -> None:
        """Create the instrument or replace its description (its bars stay). Raises StoreError for a bad spec."""
        row = instrument_row(spec)
        with self._transaction() as db:
            db.execute(_PUT_INSTRUMENT, row)
            db.execute(_BUMP_REVISION)

    def write_bars(self, symbol: str, resolution: Resolution, rows: BarRows, *, replace: bool = False) -> WriteResult:
        """Store `rows` in one transaction. Raises StoreError for rows that are not one consistent bar per time
        or an unknown symbol, ConflictError for rows stored with other values (unless `replace`)."""
        rows = checked(rows)
        with self._transaction() as db:
            if db.execute("SELECT 1 FROM instruments WHERE symbol = %s FOR UPDATE", (symbol,)).fetchone() is None:
                raise StoreError(f"unknown instrument {symbol!r}: add it before its bars")
            comparison = compare(rows, lambda start, end: _select_range(db, symbol, resolution, start, end))
            inserted, changed = int(comparison.new.sum()), int(comparison.changed.sum())
            if changed and not replace:
                raise ConflictError(symbol, resolution, rows.times[comparison.changed].tolist())
            last = db.execute(_LAST_TIME, (symbol, resolution.value)).fetchone()
            rewritten = rewritten_from(rows, comparison, None if last is None else int(last[0]))
            if changed:
                times = rows.times[comparison.changed].tolist()
                db.execute(_DELETE_BARS, (symbol, resolution.value, times))
            if inserted or changed:
                with db.cursor().copy(f"COPY bars ({COPY_COLUMNS}) FROM STDIN (FORMAT BINARY)") as copy:
                    for block in copy_blocks(symbol, resolution, selected(rows, comparison.new | comparison.changed)):
                        copy.write(block)
            if inserted:
                db.execute(_WIDEN_SERIES, (symbol, resolution.value, int(rows.times[0]), int(rows.times[-1])))
            if rewritten is not None:
                db.execute(_COUNT_REWRITE, {"time": rewritten, "symbol": symbol, "resolution": resolution.value})
            if inserted or changed:
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
        query = f"{_SELECT_BARS} AND time < %s ORDER BY time DESC LIMIT %s"
        with self._transaction() as db:
            newest = db.cursor(binary=True).execute(query, (symbol, resolution.value, end, count)).fetchall()
        return from_records(newest[::-1])

    def revision(self) -> int:
        """A number that changes with every write that changed instruments or bars."""
        with self._transaction() as db:
            row = db.execute("SELECT value FROM revision WHERE id = 1").fetchone()
        return int(row[0]) if row else 0

    def close(self) -> None:
        """Close the pool's connections and threads. Later calls raise StoreError."""
        self._pool.close()

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        """A pooled connection in a transaction, committed when the block ends and rolled back if it raises."""
        with self._errors(), self._pool.connection() as connection:
            yield connection

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """psycopg's errors of a server that cannot serve the call (down, unreachable, not migrated, read-only,
        refusing this user) as StoreUnavailableError; program errors stay what they are."""
        try:
            yield
        except PoolClosed:
            raise StoreError(f"PostgreSQL store {self._name} is closed") from None
        except (psycopg.OperationalError, psycopg.InterfaceError) as error:
            raise self._unavailable("does not answer", error) from error
        except psycopg.errors.UndefinedTable as error:
            raise self._unavailable("has no schema (run migrate())", error) from error
        except (psycopg.errors.ReadOnlySqlTransaction, psycopg.errors.InsufficientPrivilege) as error:
            raise self._unavailable("refuses", error) from error

    def _unavailable(self, what: str, error: psycopg.Error) -> StoreUnavailableError:
        """The error of a call that failed with `error`: for the log, where the store is and all the driver said (the
        latest failed connection attempt's too, when the pool gave no connection); for a client, a few words."""
        why = cause(error, self._attempts)
        said = redacted(str(error).strip())
        if why is not error:
            said += f" (the latest attempt: {redacted(str(why).strip())})"
        return StoreUnavailableError(f"PostgreSQL store {self._name} {what}: {said}", public_reason(why, self._timeout))


def _select_range(db: Connection, symbol: str, resolution: Resolution, start: int, end: int) -> BarRows:
    query = f"{_SELECT_BARS} AND time >= %s AND time < %s ORDER BY time"
    # Binary results: integers and floats arrive as such, not as text to parse.
    return from_records(db.cursor(binary=True).execute(query, (symbol, resolution.value, start, end)).fetchall())

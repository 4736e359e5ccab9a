"""What a client may be told when PostgreSQL does not answer: one line naming no host, port, user or database.

libpq's messages name all of those, over several lines ("connection to server at "10.0.0.5", port 5432 failed:
Connection refused\\n\\tIs the server running on that host...?"): they go to the log, and a client gets the cause in a
few words (`PostgreSQL connection refused`). The pool gives a call that found no connection only a timeout, so the
pool's connection attempts are watched (`Attempts`): its latest failure says why.
"""

from __future__ import annotations

from typing import Any, Self

import psycopg
from psycopg_pool import PoolTimeout

Connection = psycopg.Connection[tuple[Any, ...]]

# The words of libpq's and the server's messages (lower case) and what a client is told of them, first match wins.
_CAUSES = (
    ("connection refused", "connection refused"),
    ("timeout expired", "connection timed out"),
    ("could not translate host name", "host not found"),
    ("no route to host", "host unreachable"),
    ("network is unreachable", "host unreachable"),
    ("password authentication failed", "login refused"),
    ("no password supplied", "login refused"),
    ("pg_hba.conf", "login refused"),
    ("does not exist", "database or user unknown"),
    ("too many clients", "too many connections"),
    ("the database system is starting up", "server starting up"),
    ("the database system is shutting down", "server shutting down"),
    ("the database system is in recovery mode", "server recovering"),
    ("terminating connection", "connection closed by the server"),
    ("server closed the connection", "connection lost"),
    ("consuming input failed", "connection lost"),
    ("the connection is lost", "connection lost"),
    ("the connection is closed", "connection lost"),
)


class Attempts:
    """The outcome of the pool's latest connection attempt, set from its threads: the error it raised, None once one
    succeeded."""

    def __init__(self) -> None:
        self.failure: psycopg.OperationalError | None = None

    def connection_class(self) -> type[Connection]:
        """A psycopg connection class (the pool's `connection_class`) whose connects are noted here."""
        attempts = self

        class Watched(psycopg.Connection[tuple[Any, ...]]):
            @classmethod
            def connect(cls, conninfo: str = "", **kwargs: Any) -> Self:
                try:
                    connection = super().connect(conninfo, **kwargs)
                except psycopg.OperationalError as error:
                    attempts.failure = error
                    raise
                attempts.failure = None
                return connection

        return Watched


def cause(error: psycopg.Error, attempts: Attempts) -> psycopg.Error:
    """The error that says why a call failed: for the pool's timeout, the latest failed connection attempt."""
    return attempts.failure if isinstance(error, PoolTimeout) and attempts.failure is not None else error


def public_reason(error: psycopg.Error, timeout: float) -> str:
    """One line for a client on `error` (as `cause` gives it), naming nothing of where the database is."""
    if isinstance(error, PoolTimeout):
        return f"PostgreSQL gave no connection within {timeout:g} s"
    if isinstance(error, psycopg.errors.UndefinedTable):
        return "PostgreSQL has no schema (not migrated)"
    if isinstance(error, psycopg.errors.ReadOnlySqlTransaction):
        return "PostgreSQL is read-only"
    if isinstance(error, psycopg.errors.InsufficientPrivilege):
        return "PostgreSQL refuses this user"
    text = str(error).lower()
    return "PostgreSQL " + next((said for words, said in _CAUSES if words in text), "connection failed")

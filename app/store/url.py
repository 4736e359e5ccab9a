"""STORE_URL: which engine holds the store and where, and the URL as a log line may show it (no password)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg.conninfo import conninfo_to_dict

from app.store.base import StoreError

EXAMPLES = "sqlite:///relative.db, sqlite:////absolute/path.db or postgresql://user:password@host:5432/database"
POSTGRES_SCHEMES = ("postgresql", "postgres")
# The user information of a URL (before the last @ of its authority) and a `password=` parameter.
_USERINFO = re.compile(r"^(?P<head>[^:/?#]+://)(?P<authority>[^/?#]*)")
_PASSWORD_PARAMETER = re.compile(r"(?P<key>(?:^|[?&\s])password\s*=\s*)(?P<value>[^&\s]*)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class SqliteLocation:
    """An SQLite database file (an absolute path: the working directory may change after start-up)."""

    path: Path


@dataclass(frozen=True, slots=True)
class PostgresLocation:
    """A PostgreSQL database as libpq's URL names it (`postgresql://…` or `postgres://…`)."""

    conninfo: str


def parse_store_url(url: str) -> SqliteLocation | PostgresLocation:
    """Where STORE_URL points. Raises StoreError naming STORE_URL (password hidden) for anything else."""
    scheme, separator, rest = url.strip().partition("://")
    if not separator:
        raise StoreError(f"STORE_URL {redacted(url)!r} is not a URL: use {EXAMPLES}")
    if scheme.lower() == "sqlite":
        return _sqlite(url, rest)
    if scheme.lower() in POSTGRES_SCHEMES:
        return _postgres(url.strip())
    raise StoreError(f"STORE_URL {redacted(url)!r}: unknown engine {scheme!r}; use {EXAMPLES}")


def redacted(url: str) -> str:
    """`url` with its password, in the user information or a `password=` parameter, shown as `***`."""

    def hide_userinfo(match: re.Match[str]) -> str:
        user, at, host = match["authority"].rpartition("@")
        if not at or ":" not in user:
            return match[0]
        return f"{match['head']}{user.partition(':')[0]}:***@{host}"

    return _PASSWORD_PARAMETER.sub(r"\g<key>***", _USERINFO.sub(hide_userinfo, url, count=1))


def _sqlite(url: str, rest: str) -> SqliteLocation:
    # sqlite:///relative.db leaves "/relative.db" after the scheme, sqlite:////abs/path.db "//abs/path.db".
    if not rest.startswith("/"):
        raise StoreError(f"STORE_URL {url!r}: an SQLite URL names a file and no host; use {EXAMPLES}")
    name = rest[1:]
    if not name:
        raise StoreError(f"STORE_URL {url!r} names no file; use {EXAMPLES}")
    if "?" in name or "#" in name:
        raise StoreError(f"STORE_URL {url!r}: an SQLite URL takes no parameters; use {EXAMPLES}")
    if name == ":memory:":
        raise StoreError(f"STORE_URL {url!r}: an in-memory database is private to one connection; name a file")
    path = Path(name).absolute()
    if path.is_dir():
        raise StoreError(f"STORE_URL {url!r}: {path} is a directory; name a database file in it")
    return SqliteLocation(path)


def _postgres(url: str) -> PostgresLocation:
    try:
        conninfo_to_dict(url)
    except psycopg.ProgrammingError as error:
        reason = redacted(str(error).strip())
        raise StoreError(f"STORE_URL {redacted(url)!r} is not a PostgreSQL URL libpq accepts: {reason}") from None
    return PostgresLocation(url)

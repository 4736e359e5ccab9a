"""Settings: defaults from config/defaults.toml, overridden by environment variables."""

from __future__ import annotations

import re
import tempfile
import tomllib
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from app.market.resolutions import Resolution, parse_resolution
from app.resources import data_folder

DEFAULTS_FILE = data_folder("config") / "defaults.toml"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_FORMATS = ("text", "json")
# `CORS_ORIGINS=*`: every origin is allowed.
ANY_ORIGIN = "*"
# Browsers leave these ports out of an Origin, so a configured origin drops them too.
_DEFAULT_PORTS = {"http": 80, "https": 443}
_HOST_NAME = re.compile(r"[a-z0-9.-]+|[0-9a-f:.]+")
_STORE_SCHEMES = ("sqlite:///", "postgresql://", "postgres://")
# A bearer token short enough to guess is no protection.
_MIN_TOKEN_LENGTH = 16
# What `Authorization: Bearer` carries (RFC 6750's b64token): a token with other characters cannot be sent as it is
# (HTTP strips a header's surrounding whitespace; clients split or refuse on the rest).
_BEARER_TOKEN = re.compile(r"[A-Za-z0-9._~+/-]+=*")
_NOT_TOKEN = re.compile(r"[^A-Za-z0-9._~+/-]")
# BROKER_URL's default: updates stay in this process.
MEMORY_BROKER = "memory://"
_REDIS_SCHEMES = ("redis", "rediss")
# A lease renewed a third of its length apart survives a missed renewal; below half a second, a busy event loop
# would lose it. Above a minute, a dead broadcaster leaves the stream stopped too long.
_MIN_LEASE = 0.5
_MAX_LEASE = 60.0
_KEY_PREFIX = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
# Settings whose value a message never shows.
_SECRETS = frozenset(("ingest_token",))


class SettingsError(ValueError):
    """A setting has a value that cannot be used; the message names the variable."""


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the server is configured with; built once at start-up."""

    host: str
    port: int
    log_level: str
    ws_heartbeat_interval: float
    ws_max_connection_lifespan: float
    ws_ping_interval: float
    ws_max_message_size: int
    ws_max_subscriptions: int
    ws_send_buffer_limit: int
    ws_slow_client_timeout: float
    bar_broadcaster_enabled: bool
    bar_broadcaster_interval: float
    bar_broadcaster_symbols: tuple[str, ...]
    bar_broadcaster_resolutions: tuple[Resolution, ...]
    market_intraday_days: int
    market_cache_mb: int
    cors_origins: tuple[str, ...]
    max_connections: int
    max_connections_per_client: int
    keepalive_timeout: float
    request_body_timeout: float
    log_repeat_interval: float
    log_format: str
    access_log: bool
    metrics_enabled: bool
    # prometheus-client's own variable (it reads it at import): a directory shared by worker processes, whose
    # figures one scrape of any of them then sums. Empty: this process alone.
    prometheus_multiproc_dir: str
    store_url: str
    # Empty: ingest is off.
    ingest_token: str
    # UTC seconds at which the replay clock starts; None: no replay, the wall clock.
    replay_start: float | None
    replay_speed: float
    replay_symbols: tuple[str, ...]
    # memory:// (this process alone) or redis://[:password@]host[:port][/db] (several processes share updates).
    broker_url: str
    # Seconds the broadcaster's lease lasts in Redis without renewal: how soon another process takes over.
    broker_lease: float
    # Prefix of every Redis key and channel of this deployment (several deployments may share one Redis).
    broker_prefix: str


def _text(raw: str) -> str:
    if not raw.strip():
        raise ValueError("must not be empty")
    return raw.strip()


def _int(raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise ValueError("expected a whole number") from None


def _float(raw: str) -> float:
    try:
        return float(raw)
    except ValueError:
        raise ValueError("expected a number") from None


def _port(raw: str) -> int:
    port = _int(raw)
    if not 0 < port < 65536:
        raise ValueError("must be between 1 and 65535")
    return port


def _positive_int(raw: str) -> int:
    value = _int(raw)
    if value <= 0:
        raise ValueError("must be a positive integer")
    return value


def _positive_float(raw: str) -> float:
    value = _float(raw)
    if not 0 < value < float("inf"):
        raise ValueError("must be a positive number of seconds")
    return value


def _speed(raw: str) -> float:
    value = _float(raw)
    if not 0 < value < float("inf"):
        raise ValueError("must be a positive number (how many times faster than real time)")
    return value


def _limit(raw: str) -> int:
    value = _int(raw)
    if value < 0:
        raise ValueError("must be 0 (no limit) or a positive integer")
    return value


def _bool(raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError("must be true or false")


def _log_level(raw: str) -> str:
    level = raw.strip().upper()
    if level not in LOG_LEVELS:
        raise ValueError(f"must be one of {', '.join(LOG_LEVELS)}")
    return level


def _log_format(raw: str) -> str:
    spelled = raw.strip().lower()
    if spelled not in LOG_FORMATS:
        raise ValueError(f"must be one of {', '.join(LOG_FORMATS)}")
    return spelled


def _writable_directory(raw: str) -> str:
    spelled = raw.strip()
    if not spelled:
        return spelled
    if not Path(spelled).is_dir():
        raise ValueError("must be an existing directory (or empty)")
    # Tried, not judged from permissions: root passes every permission check, and /proc refuses root too.
    try:
        with tempfile.NamedTemporaryFile(dir=spelled, prefix=".trading-pro-probe-"):
            pass
    except OSError as error:
        raise ValueError(f"must be a directory this process can write ({error.strerror})") from None
    return spelled


def _store_url(raw: str) -> str:
    url = raw.strip()
    if not url.startswith(_STORE_SCHEMES):
        raise ValueError("expected sqlite:///relative.db, sqlite:////absolute/path.db or postgresql://user@host/db")
    return url


def without_password(url: str) -> str:
    """`url` with the password of its user part, if any, shown as `***` (for messages and logs)."""
    scheme, separator, rest = url.partition("://")
    user, at, host = rest.rpartition("@")
    name, colon, _ = user.partition(":")
    return f"{scheme}{separator}{name}{colon and ':***'}{at}{host}" if separator and at and colon else url


def _broker_url(raw: str) -> str:
    """BROKER_URL: memory:// or a redis:// (rediss:// with TLS) URL with a host, and a database number if any."""
    url = raw.strip()
    if url == MEMORY_BROKER:
        return url
    parts = urlsplit(url)
    if parts.scheme not in _REDIS_SCHEMES or not parts.hostname:
        raise ValueError("expected memory:// or redis://host:port/db")
    try:
        parts.port  # noqa: B018 - urlsplit checks the port only when asked
    except ValueError:
        raise ValueError("the port must be a number from 1 to 65535") from None
    database = parts.path.strip("/")
    if database and not database.isdigit():
        raise ValueError(f"the database must be a number, not {database!r}")
    return url


def _broker_lease(raw: str) -> float:
    lease = _float(raw)
    if not _MIN_LEASE <= lease <= _MAX_LEASE:
        raise ValueError(f"must be from {_MIN_LEASE:g} to {_MAX_LEASE:g} seconds")
    return lease


def _broker_prefix(raw: str) -> str:
    if not _KEY_PREFIX.fullmatch(raw):
        raise ValueError("expected 1 to 64 letters, digits and - _ . :")
    return raw


def _token(raw: str) -> str:
    """INGEST_TOKEN: empty (ingest off) or a bearer token of at least _MIN_TOKEN_LENGTH characters, taken as it is.
    Raises ValueError naming the first character a bearer token cannot carry (whitespace included)."""
    if raw and not raw.strip():
        raise ValueError("only whitespace: leave it empty to turn ingest off")
    if raw and not _BEARER_TOKEN.fullmatch(raw):
        # Not a b64token: it has a character outside the set, or an `=` before the end.
        bad = _NOT_TOKEN.search(raw)
        assert bad is not None
        at, character = bad.start(), bad[0]
        named = f"U+{ord(character):04X} {unicodedata.name(character, '')}".rstrip()
        raise ValueError(
            f"character {at + 1} ({named}) cannot be sent in a bearer token: use letters A-Z a-z, digits and "
            "- . _ ~ + /, with = only at the end (RFC 6750)"
        )
    if raw and len(raw) < _MIN_TOKEN_LENGTH:
        raise ValueError(f"must be empty (ingest off) or at least {_MIN_TOKEN_LENGTH} characters")
    return raw


def _instant(raw: str) -> float | None:
    spelled = raw.strip()
    if not spelled:
        return None
    try:
        moment = datetime.fromisoformat(spelled.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            "expected an ISO 8601 time, e.g. 2024-03-15T13:30:00Z (UTC unless an offset is given)"
        ) from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _symbols(raw: str) -> tuple[str, ...]:
    return tuple(s.strip().upper() for s in raw.split(",") if s.strip())


def _resolutions(raw: str) -> tuple[Resolution, ...]:
    parsed = []
    for name in (s for s in raw.split(",") if s.strip()):
        resolution = parse_resolution(name)
        if resolution is None:
            raise ValueError(f"unknown resolution {name.strip()!r}")
        parsed.append(resolution)
    return tuple(parsed)


def origin_of(text: str) -> str:
    """`text` as a browser's Origin header spells it: `scheme://host[:port]`, lower case, default port left out.

    Raises ValueError, saying what is wrong, when `text` is not such an origin (no scheme, a path, a bad port).
    """
    spelled = text.strip()
    parts = urlsplit(spelled)
    if not parts.scheme or not parts.netloc:
        raise ValueError(f"{spelled!r} is not an origin: expected scheme://host[:port], e.g. https://example.com")
    if parts.path not in ("", "/") or parts.query or parts.fragment or "@" in parts.netloc:
        raise ValueError(f"{spelled!r} is not an origin: only scheme://host[:port], no path, query or user")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"{spelled!r} has an invalid port") from None
    host = parts.hostname or ""
    if not _HOST_NAME.fullmatch(host):
        raise ValueError(f"{spelled!r} has no valid host")
    scheme = parts.scheme.lower()
    authority = f"[{host}]" if ":" in host else host
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        authority = f"{authority}:{port}"
    return f"{scheme}://{authority}"


def _origins(raw: str) -> tuple[str, ...]:
    listed = [name.strip() for name in raw.split(",") if name.strip()]
    if ANY_ORIGIN in listed:
        return (ANY_ORIGIN,)
    return tuple(dict.fromkeys(origin_of(name) for name in listed))


_PARSERS: dict[str, Callable[[str], Any]] = {
    "host": _text,
    "port": _port,
    "log_level": _log_level,
    "ws_heartbeat_interval": _positive_float,
    "ws_max_connection_lifespan": _positive_float,
    "ws_ping_interval": _positive_float,
    "ws_max_message_size": _positive_int,
    "ws_max_subscriptions": _positive_int,
    "ws_send_buffer_limit": _positive_int,
    "ws_slow_client_timeout": _positive_float,
    "bar_broadcaster_enabled": _bool,
    "bar_broadcaster_interval": _positive_float,
    "bar_broadcaster_symbols": _symbols,
    "bar_broadcaster_resolutions": _resolutions,
    "market_intraday_days": _positive_int,
    "market_cache_mb": _positive_int,
    "cors_origins": _origins,
    "max_connections": _limit,
    "max_connections_per_client": _limit,
    "keepalive_timeout": _positive_float,
    "request_body_timeout": _positive_float,
    "log_repeat_interval": _positive_float,
    "log_format": _log_format,
    "access_log": _bool,
    "metrics_enabled": _bool,
    "prometheus_multiproc_dir": _writable_directory,
    "store_url": _store_url,
    "ingest_token": _token,
    "replay_start": _instant,
    "replay_speed": _speed,
    "replay_symbols": _symbols,
    "broker_url": _broker_url,
    "broker_lease": _broker_lease,
    "broker_prefix": _broker_prefix,
}


def _as_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def load_settings(environ: Mapping[str, str], defaults_file: Path = DEFAULTS_FILE) -> Settings:
    """Settings from the defaults file with `environ` on top; SettingsError names a bad variable."""
    with defaults_file.open("rb") as handle:
        defaults = tomllib.load(handle)
    values: dict[str, Any] = {}
    for field in fields(Settings):
        name = field.name.upper()
        raw = environ.get(name, _as_text(defaults.get(name, "")))
        try:
            values[field.name] = _PARSERS[field.name](raw)
        except ValueError as error:
            shown = f" ({len(raw)} characters, not shown)" if field.name in _SECRETS else f"={without_password(raw)!r}"
            raise SettingsError(f"{name}{shown} is invalid: {error}") from None
    return Settings(**values)

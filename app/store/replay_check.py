"""Whether a replay can start (REPLAY_START, REPLAY_SYMBOLS against the store), checked once before the server does.

A replay plays stored history, so the server refuses to start one that would play nothing: no store, a store
without instruments, REPLAY_SYMBOLS naming an instrument the store does not hold, a start in the future of the wall
clock (there is no history there yet), or a start past the end of the data of every instrument to replay. A start
before the first bar of an instrument is allowed (it shows nothing until the replay reaches its data), with a
warning saying how long that takes.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime

from app.store.base import StoredInstrument, StoreError, StoreUnavailableError
from app.store.lazy import connect_existing
from app.store.replay import hours_of, period_end, visible_before
from app.store.url import redacted


class ReplayError(StoreError):
    """A replay cannot start; the message says why, naming the setting."""


def iso(t: float) -> str:
    """UTC seconds as ISO 8601 with a Z (seconds only)."""
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def check_replay(url: str, start: float, speed: float, symbols: Collection[str], now: float) -> list[str]:
    """Warnings about the replay from `start` (UTC seconds) at `speed` of `symbols` (empty: every stored instrument)
    of the store at `url` (STORE_URL), the wall clock reading `now`. Raises ReplayError when it cannot start."""
    if start > now:
        raise ReplayError(f"REPLAY_START={iso(start)} is in the future (now {iso(now)}): a replay plays stored history")
    where = redacted(url)
    stored = {item.spec.symbol.upper(): item for item in _stored(url, where)}
    if not stored:
        raise ReplayError(
            f"REPLAY_START: the store at {where} holds no instrument to replay; import bars first "
            "(python -m app import FILE --symbol SYMBOL)"
        )
    missing = [symbol for symbol in symbols if symbol.upper() not in stored]
    if missing:
        raise ReplayError(
            f"REPLAY_SYMBOLS names {', '.join(missing)}, which the store at {where} does not hold; it holds "
            f"{', '.join(sorted(stored))}"
        )
    replayed = [stored[symbol.upper()] for symbol in symbols] if symbols else list(stored.values())
    ends = [(end, item.spec.symbol) for item in replayed if (end := _data_end(item)) is not None]
    if not ends:
        names = ", ".join(item.spec.symbol for item in replayed)
        raise ReplayError(f"REPLAY_START: no instrument to replay ({names}) has stored bars that can be served")
    end, symbol = max(ends)
    if end <= start:
        raise ReplayError(
            f"REPLAY_START={iso(start)} is past the end of the stored bars of every instrument to replay (the "
            f"latest, {symbol}, ends at {iso(end)}): nothing would play"
        )
    return [warning for item in replayed if (warning := _early(item, start, speed)) is not None]


def _stored(url: str, where: str) -> list[StoredInstrument]:
    """The instruments of the store at `url`: none while there is no store (an SQLite file not made yet)."""
    try:
        store = connect_existing(url)
        if store is None:
            return []
        try:
            return store.instruments()
        finally:
            store.close()
    except StoreUnavailableError as error:
        raise ReplayError(
            f"REPLAY_START: the store at {where} does not answer, so the replay cannot start: {error}"
        ) from None


def _data_end(item: StoredInstrument) -> int | None:
    """When the replay has shown all of the instrument's bars (UTC seconds): its last bar's period ends; None when
    it has no bars, or hours that cannot be read."""
    hours = hours_of(item.spec)
    if hours is None or not item.spans:
        return None
    return max(period_end(hours, resolution, last) for resolution, (_, last) in item.spans.items())


def _early(item: StoredInstrument, start: float, speed: float) -> str | None:
    """A warning when the replay starts before the instrument's first bar is shown, saying how long that takes."""
    hours = hours_of(item.spec)
    if hours is None or not item.spans:
        return None
    if any(visible_before(hours, resolution, start) > first for resolution, (first, _) in item.spans.items()):
        return None
    shown = min(period_end(hours, resolution, first) for resolution, (first, _) in item.spans.items())
    return (
        f"REPLAY_START is before the first stored bar of {item.spec.symbol}: it shows no bars until {iso(shown)}, "
        f"{(shown - start) / speed:,.0f} s from the start at speed {speed:g}"
    )

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

from app.store.base import StoreError, StoreUnavailableError
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
    where = redacted(url)
    if start > now:
        raise ReplayError(f"REPLAY_START={iso(start)} is in the future (now {iso(now)}): a replay plays stored history")
    try:
        store = connect_existing(url)
        try:
            stored = [] if store is None else store.instruments()
        finally:
            if store is not None:
                store.close()
    except StoreUnavailableError as error:
        raise ReplayError(
            f"REPLAY_START: the store at {where} does not answer, so the replay cannot start: {error}"
        ) from None
    if not stored:
        raise ReplayError(
            f"REPLAY_START: the store at {where} holds no instrument to replay; import bars first "
            "(python -m app import FILE --symbol SYMBOL)"
        )
    held = {item.spec.symbol.upper(): item for item in stored}
    missing = [symbol for symbol in symbols if symbol.upper() not in held]
    if missing:
        raise ReplayError(
            f"REPLAY_SYMBOLS names {', '.join(missing)}, which the store at {where} does not hold; it holds "
            f"{', '.join(sorted(held))}"
        )
    replayed = [held[symbol.upper()] for symbol in symbols] if symbols else stored
    warnings, last_ends = [], []
    for item in replayed:
        hours = hours_of(item.spec)
        if hours is None or not item.spans:
            continue
        ends = [period_end(hours, resolution, last) for resolution, (_, last) in item.spans.items()]
        last_ends.append((max(ends), item.spec.symbol))
        # Its bars appear once their period has ended: the first of them when the first period ends.
        shown = min(period_end(hours, resolution, first) for resolution, (first, _) in item.spans.items())
        if all(visible_before(hours, resolution, start) <= first for resolution, (first, _) in item.spans.items()):
            wait = (shown - start) / speed
            warnings.append(
                f"REPLAY_START is before the first stored bar of {item.spec.symbol}: it shows no bars until "
                f"{iso(shown)}, {wait:,.0f} s from the start at speed {speed:g}"
            )
    latest = max(last_ends, default=None)
    if latest is None or latest[0] <= start:
        ending = f" (the latest, {latest[1]}, ends at {iso(latest[0])})" if latest is not None else ""
        raise ReplayError(
            f"REPLAY_START={iso(start)} is past the end of the stored bars of every instrument to replay{ending}: "
            "nothing would play"
        )
    return warnings

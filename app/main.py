"""The application factory."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from functools import partial

from aiohttp import web
from aiohttp_apispec import validation_middleware

from app.api import datafeed, meta, udf
from app.api import ingest as ingest_api
from app.api.errors import COMPONENTS, error_middleware
from app.api.openapi import setup_openapi
from app.broker.open import process_id
from app.keys import BROKER, CLOCK, FEED, LEADERSHIP_LISTENERS, SETTINGS
from app.market.clock import Clock, ReplayClock, server_clock
from app.market.combined import CombinedFeed
from app.market.feed import Component, MarketFeed
from app.market.simulation import SimulatedFeed
from app.observability.access_log import access_log_args
from app.observability.cors import setup_cors
from app.observability.exporter import setup_metrics
from app.observability.ingest import INGEST_COUNTS
from app.schemas.ws import MAX_REPLAY_BARS
from app.server import body_deadline
from app.settings import Settings, SettingsError
from app.store.base import StoreError
from app.store.feed import StoredFeed
from app.store.ingest import Ingest
from app.store.lazy import connect_existing, store_exists
from app.store.replay import Replay
from app.store.replay_check import check_replay, iso
from app.web.headers import setup_headers
from app.web.page import setup_web
from app.ws.setup import setup_ws

log = logging.getLogger(__name__)


async def _begin_clock(app: web.Application) -> None:
    """A replay clock begins once the app has started, as the server binds its socket: the replay's start is what
    the first client sees, however long start-up took (the store checked and read). The last start-up step."""
    clock = app[CLOCK]
    if isinstance(clock, ReplayClock):
        clock.begin()


async def _prepare_feed(app: web.Application) -> None:
    """Before the server accepts anyone: what the feed must have ready, so that serving never waits for it."""
    feed = app[FEED]
    await feed.prepare()
    unknown = _unknown_symbols(app[SETTINGS], feed)
    if unknown:
        # Only with a store: its instruments were not known when the settings were checked.
        log.warning("BAR_BROADCASTER_SYMBOLS: %s not an instrument yet (neither simulated nor stored)", unknown)


def _unknown_symbols(settings: Settings, feed: MarketFeed) -> list[str]:
    return [symbol for symbol in settings.bar_broadcaster_symbols if feed.instrument(symbol) is None]


def _check_broadcaster_symbols(settings: Settings, feed: MarketFeed) -> None:
    """SettingsError naming the BAR_BROADCASTER_SYMBOLS that `feed` does not carry: the settings cannot know
    them (the feed decides), and a symbol left out would mean live updates silently off for it. A store's
    instruments are known only once it is read, after start-up: with a store there, nothing is refused here."""
    unknown = _unknown_symbols(settings, feed)
    if unknown:
        raise SettingsError(
            f"BAR_BROADCASTER_SYMBOLS={','.join(settings.bar_broadcaster_symbols)!r} is invalid: "
            f"{', '.join(unknown)} {'is not an instrument' if len(unknown) == 1 else 'are not instruments'} of the feed"
        )


def _store_exists(url: str) -> bool:
    """Whether there may be a store at STORE_URL; SettingsError for a URL that names none (an SQLite URL without a
    file name, a directory)."""
    try:
        return store_exists(url)
    except StoreError as error:
        raise SettingsError(str(error)) from None


def _replay(settings: Settings, clock: Clock) -> Replay | None:
    """The replay that REPLAY_START asks for, on `clock`, once the store shows it can start (SettingsError saying
    why not); None without REPLAY_START."""
    if settings.replay_start is None:
        return None
    symbols, speed = settings.replay_symbols, settings.replay_speed
    try:
        warnings = check_replay(settings.store_url, settings.replay_start, speed, symbols, time.time())
    except StoreError as error:
        raise SettingsError(str(error)) from None
    for warning in warnings:
        log.warning(warning)
    replayed = ", ".join(symbols) if symbols else "every stored instrument"
    log.info("Replaying %s from %s at speed %g", replayed, iso(settings.replay_start), speed)
    return Replay(clock, speed, symbols)


def _keep_up(stored: StoredFeed) -> Callable[[web.Application], AsyncIterator[None]]:
    """While the app runs, the stored feed follows the store (a new import is served within a couple of seconds);
    at the end, its threads stop and the store's connections close."""

    async def keep_up(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(stored.run())
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await asyncio.to_thread(stored.close)

    return keep_up


def _check_ingest(settings: Settings) -> None:
    """SettingsError for ingest (INGEST_TOKEN) with a replay: live trades do not join recorded ones played again."""
    if settings.ingest_token and settings.replay_start is not None:
        raise SettingsError(
            "INGEST_TOKEN is set with REPLAY_START: live trades cannot join a replay of recorded ones (unset one)"
        )


def _setup_ingest(app: web.Application, stored: StoredFeed) -> None:
    """Live trades (INGEST_TOKEN) into the stored instruments: their bars served over the stored ones, closed and
    written while the app runs, the rest written at its end (before the store closes, and before the broker lets
    another process take over). With a shared broker only the broadcaster's process applies trades: the others
    forward what is posted to them, and a process that stops being the broadcaster forgets its forming bars."""
    ingest = Ingest(stored)
    stored.lay_over(ingest)
    app[INGEST_COUNTS] = ingest
    settings, broker = app[SETTINGS], app[BROKER]
    forwarding = None
    if broker.shared:
        # Imported here: with memory:// (the default) the server never loads redis-py.
        from app.broker.forward import IngestForwarding

        forwarding = IngestForwarding(
            settings.broker_url,
            prefix=settings.broker_prefix,
            process_id=process_id(),
            leading=lambda: broker.leading,
            apply=ingest.apply,
        )

        def leadership_changed(leading: bool) -> None:
            if not leading:
                ingest.forget()
            forwarding.leadership_changed(leading)

        app[LEADERSHIP_LISTENERS].append(leadership_changed)
    app[ingest_api.INGEST] = forwarding if forwarding is not None else ingest

    async def ingesting(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(ingest.run())
        if forwarding is not None:
            await forwarding.start()
        yield
        if forwarding is not None:
            await forwarding.stop()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await ingest.close()

    app.cleanup_ctx.append(ingesting)


def create_app(settings: Settings, feed: MarketFeed | None = None, *, clock: Clock | None = None) -> web.Application:
    """The whole server. `feed` defaults to the market simulation beside the instruments of the store at
    STORE_URL (a stored symbol replaces a simulated one: see `CombinedFeed`), both on `clock`, the server's one
    clock (default: the wall clock, or a replay clock from REPLAY_START, which begins when the app has started;
    with REPLAY_START the store's instruments are replayed). Raises SettingsError for a setting the feed refuses."""
    app = web.Application(
        # The body deadline reads the body before validation does, inside the error middleware, so that its
        # refusals (413, a body that does not decode) are JSON like every other error.
        middlewares=[error_middleware, body_deadline(settings.request_body_timeout), validation_middleware],
        handler_args=access_log_args(settings.access_log),
    )
    app[SETTINGS] = settings
    _check_ingest(settings)
    app[CLOCK] = clock = server_clock(settings.replay_start, settings.replay_speed) if clock is None else clock
    components: tuple[Component, ...] = ()
    stored: StoredFeed | None = None
    if feed is None:
        # The live stream's resume reaches MAX_REPLAY_BARS back: that many newest bars per topic stay in memory.
        stored = StoredFeed(
            partial(connect_existing, settings.store_url),
            clock=clock,
            depth=MAX_REPLAY_BARS + 1,
            replay=_replay(settings, clock),
        )
        simulation = SimulatedFeed(
            clock=clock, intraday_days=settings.market_intraday_days, cache_bytes=settings.market_cache_mb << 20
        )
        feed, components = CombinedFeed(simulation, stored), (stored,)
        app.cleanup_ctx.append(_keep_up(stored))
    app[FEED] = feed
    if not (components and _store_exists(settings.store_url)):
        _check_broadcaster_symbols(settings, app[FEED])
    app.on_startup.append(_prepare_feed)
    app.on_response_prepare.append(meta.add_version_header)
    for module in (meta, datafeed, udf, ingest_api):
        app.router.add_routes(module.routes)
    setup_ws(app)
    broker = app[BROKER]
    app[COMPONENTS] = (*components, broker) if broker.shared else components
    if stored is not None and settings.ingest_token:
        # After the broker's set-up: ingest's end (writing its forming bars) comes before the broker's.
        _setup_ingest(app, stored)
    setup_web(app)
    setup_headers(app)
    setup_openapi(app)
    setup_metrics(app)
    setup_cors(app)
    app.on_startup.append(_begin_clock)
    return app

"""`trading-pro`, `python -m app` or `python trading-pro.pyz` [--host H] [--port P] [--workers N] [--replay-start T
--replay-speed N --replay-symbols S]: serve Trading Pro; with `import …` or `instruments …`, manage the stored market
data instead."""

from __future__ import annotations

import asyncio
import os
import sys
from argparse import Namespace
from collections.abc import Callable

from app.cli import parse_args
from app.market.clock import Clock, server_clock
from app.observability.logs import refuse_start, setup_logging
from app.server import ListenAddress, ListenError, ServeOptions, install_repeat_filter, probe_listen, serve
from app.settings import LOG_FORMATS, MEMORY_BROKER, Settings, SettingsError, load_settings
from app.web.headers import SECURITY_HEADERS
from app.workers import run_workers, shared_metrics_dir

# The platform's grace period between SIGTERM and SIGKILL is 30 s (Heroku's, Kubernetes' default): sockets are
# closed with 1001 at once, and the whole shutdown gets this long after the signal (then the connections left
# are closed), leaving room for the exit.
SHUTDOWN_TIMEOUT = 25.0


def serve_one(
    settings: Settings,
    *,
    clock: Clock | None = None,
    reuse_port: bool = False,
    listening: Callable[[], None] | None = None,
) -> None:
    """Build the application on `clock` (default: the settings' own) and serve it in this process until SIGINT or
    SIGTERM; `listening` is called once it listens. Exits with one line when the feed refuses a setting or the
    address is taken meanwhile."""
    # Imported here, not above: with several workers the parent first sets up the environment (the metrics
    # directory) that the application's modules read when they are imported.
    from app.main import create_app

    options = ServeOptions(
        host=settings.host,
        port=settings.port,
        max_connections=settings.max_connections,
        max_connections_per_client=settings.max_connections_per_client,
        keepalive_timeout=settings.keepalive_timeout,
        shutdown_timeout=SHUTDOWN_TIMEOUT,
        reuse_port=reuse_port,
        error_headers=SECURITY_HEADERS,
    )
    try:
        app = create_app(settings, clock=clock)
    except SettingsError as error:
        refuse_start(f"Configuration error: {error}", settings.log_format)
    try:
        asyncio.run(serve(app, options, listening))
    except ListenError as error:
        refuse_start(f"Cannot listen: {error}", settings.log_format)


def check_listen(args: Namespace, settings: Settings) -> None:
    """Exit with one line naming the option or variable at fault when the server could not listen there."""
    address = ListenAddress(
        settings.host,
        settings.port,
        host_name="--host" if args.host is not None else "HOST",
        port_name="--port" if args.port is not None else "PORT",
    )
    try:
        probe_listen(address)
    except ListenError as error:
        refuse_start(f"Cannot listen: {error}", settings.log_format)


def configure(args: Namespace) -> Settings:
    """The settings (the environment with the options on top) and logging; exits on a bad setting."""
    flags = (
        ("HOST", args.host),
        ("PORT", args.port),
        ("REPLAY_START", args.replay_start),
        ("REPLAY_SPEED", args.replay_speed),
        ("REPLAY_SYMBOLS", args.replay_symbols),
    )
    overrides = {name: value for name, value in flags if value is not None}
    try:
        settings = load_settings(os.environ | overrides)
    except SettingsError as error:
        # LOG_FORMAT as given, if that much is right: the settings it belongs to are not.
        log_format = os.environ.get("LOG_FORMAT", "").strip().lower()
        refuse_start(f"Configuration error: {error}", log_format if log_format in LOG_FORMATS else "text")
    _check_replay_start(args, settings)
    setup_logging(settings.log_level, settings.log_format)
    install_repeat_filter(settings.log_repeat_interval)
    return settings


def _check_replay_start(args: Namespace, settings: Settings) -> None:
    """Exit with one line when REPLAY_SPEED or REPLAY_SYMBOLS is given (as a variable or its option; blank counts as
    not given) without a replay start: ignored, it would leave the server serving the live market to someone who
    asked for a replay."""
    if settings.replay_start is not None:
        return
    options = (
        ("REPLAY_SPEED", "--replay-speed", args.replay_speed),
        ("REPLAY_SYMBOLS", "--replay-symbols", args.replay_symbols),
    )
    given = [
        option if (value or "").strip() else name
        for name, option, value in options
        if (value or os.environ.get(name, "")).strip()
    ]
    if given:
        refuse_start(
            f"Configuration error: {' and '.join(given)} {'needs' if len(given) == 1 else 'need'} a replay start "
            "(REPLAY_START or --replay-start): without one nothing replays and the server serves the live market",
            settings.log_format,
        )


def main() -> None:
    args = parse_args()
    if args.command is not None:
        # Imported here: serving never loads the importer, and a data command never loads the server.
        from app.importer.command import run

        sys.exit(run(args, os.environ, sys.stdout, sys.stderr))
    if args.workers == 1:
        settings = configure(args)
        check_listen(args, settings)
        serve_one(settings, clock=server_clock(settings.replay_start, settings.replay_speed))
        return
    # The workers' metrics directory is set up first: it is a setting, read with the others.
    with shared_metrics_dir():
        settings = configure(args)
        if settings.ingest_token and settings.broker_url == MEMORY_BROKER:
            refuse_start(
                f"Configuration error: --workers {args.workers} with INGEST_TOKEN set and BROKER_URL=memory://: each "
                "worker process would keep the bars of only the trades posted to it (memory:// shares nothing between "
                "processes). Run one process to ingest trades, or connect the workers with BROKER_URL=redis://host:port/db",
                settings.log_format,
            )
        # Checked once here, not once per worker, and without SO_REUSEPORT: a group already on the port refuses.
        check_listen(args, settings)
        # One clock for every worker: made here, before they are forked; a replay clock keeps its origin in memory
        # they share, and the first worker begins it once started (the others are forked after that).
        clock = server_clock(settings.replay_start, settings.replay_speed)
        status = run_workers(
            args.workers, lambda ready: serve_one(settings, clock=clock, reuse_port=True, listening=ready)
        )
    sys.exit(status)


if __name__ == "__main__":
    main()

"""`python -m app [--host H] [--port P]`: serve Trading Pro."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys

from app.main import create_app
from app.server import ServeOptions, install_repeat_filter, serve
from app.settings import SettingsError, load_settings


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m app", description="Serve Trading Pro.")
    parser.add_argument("--host", help="listen address (default: HOST or config/defaults.toml)")
    parser.add_argument("--port", help="listen port (default: PORT or config/defaults.toml)")
    args = parser.parse_args()
    overrides = {name: value for name, value in (("HOST", args.host), ("PORT", args.port)) if value is not None}
    try:
        settings = load_settings(os.environ | overrides)
    except SettingsError as error:
        sys.exit(f"Configuration error: {error}")
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    install_repeat_filter(settings.log_repeat_interval)
    options = ServeOptions(
        host=settings.host,
        port=settings.port,
        max_connections=settings.max_connections,
        max_connections_per_client=settings.max_connections_per_client,
        keepalive_timeout=settings.keepalive_timeout,
        # A bounded grace period: sockets are closed with 1001 at once, plain requests get a few seconds.
        shutdown_timeout=5,
    )
    asyncio.run(serve(create_app(settings), options))


if __name__ == "__main__":
    main()

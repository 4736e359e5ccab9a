"""Browser libraries served from node_modules (installed by `npm ci`; never committed, never a CDN)."""

from __future__ import annotations

import logging
from pathlib import Path

from aiohttp import web

log = logging.getLogger(__name__)
NODE_MODULES = Path(__file__).resolve().parent.parent.parent / "node_modules"

# URL prefix -> npm package folder.
PACKAGES = {
    "/vendor/swagger-ui": "swagger-ui-dist",
    "/vendor/asyncapi": "@asyncapi/react-component",
    "/vendor/lightweight-charts": "lightweight-charts/dist",
}


def setup_vendor(app: web.Application, node_modules: Path = NODE_MODULES) -> None:
    """Serve each package that is installed; say once which are missing and how to get them."""
    missing = []
    for prefix, package in PACKAGES.items():
        folder = node_modules / package
        if folder.is_dir():
            app.router.add_static(prefix, folder)
        else:
            missing.append(package)
    if missing:
        log.warning(
            "Not installed: %s. Run `npm ci` (make run does) for the chart and documentation pages.", ", ".join(missing)
        )

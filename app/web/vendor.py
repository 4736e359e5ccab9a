"""Static folders: our own and the browser libraries from node_modules (installed by `npm ci`; never
committed, never a CDN)."""

from __future__ import annotations

import asyncio
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


def serve_folder(app: web.Application, prefix: str, folder: Path) -> None:
    """Serve the files under `folder` at `prefix/...`; anything else there is a 404 the error middleware shapes.

    aiohttp's own static route answers a missing file with a bare 404 of its FileResponse, after every
    middleware has run; checking first keeps that path's answer the JSON error of every other one.
    """
    root = folder.resolve()

    def existing_file(relative: str) -> Path | None:
        path = (root / relative).resolve()
        return path if path.is_relative_to(root) and path.is_file() else None

    async def static_file(request: web.Request) -> web.StreamResponse:
        path = await asyncio.to_thread(existing_file, request.match_info["path"])
        if path is None:
            raise web.HTTPNotFound()
        return web.FileResponse(path)

    app.router.add_get(f"{prefix}/{{path:.+}}", static_file)


def setup_vendor(app: web.Application, node_modules: Path = NODE_MODULES) -> None:
    """Serve each package that is installed; say once which are missing and how to get them."""
    missing = []
    for prefix, package in PACKAGES.items():
        folder = node_modules / package
        if folder.is_dir():
            serve_folder(app, prefix, folder)
        else:
            missing.append(package)
    if missing:
        log.warning(
            "Not installed: %s. Run `npm ci` (make run does) for the chart and documentation pages.", ", ".join(missing)
        )

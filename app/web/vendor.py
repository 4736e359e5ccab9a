"""Static folders: our own, and the browser libraries that `npm ci` installs (never committed, never a CDN),
from node_modules in a checkout or from the installed package's bundle (app.resources)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from aiohttp import web
from aiohttp.typedefs import Handler

from app.resources import VENDOR, VENDOR_PACKAGES, vendor_files

log = logging.getLogger(__name__)


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


def setup_vendor(app: web.Application) -> None:
    """Serve each library's files at /vendor/<library>/<file> when all are installed; say once which are not."""
    missing = []
    for library in VENDOR:
        found = vendor_files(library)
        if found is None:
            missing.append(VENDOR_PACKAGES[library])
            continue
        for name, path in found.items():
            app.router.add_get(f"/vendor/{library}/{name}", _file_handler(path))
    if missing:
        log.warning(
            "Not installed: %s. The pages that need them say so. In a checkout run `npm ci` (make run does); "
            "a package built without node_modules lacks them: build it after `npm ci`.",
            ", ".join(missing),
        )


def _file_handler(path: Path) -> Handler:
    async def vendor_file(request: web.Request) -> web.StreamResponse:
        return web.FileResponse(path)

    return vendor_file

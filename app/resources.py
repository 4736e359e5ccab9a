"""Neutral ground: where the data folders (config/, templates/, static/) and the browser libraries are.

An installed package (a wheel, the one-file build) carries them inside `app/_bundle/`, put there at build time
(setup.py); a checkout or an editable install has no bundle and reads the repository's own folders and
node_modules. Either way the answer is a real directory on disk: aiohttp serves files and Jinja reads templates
by path (the one-file build is extracted before it runs, so its files are on disk too).
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

# The folders the build copies into the bundle, by their name in the repository.
DATA_FOLDERS = ("config", "templates", "static")
BUNDLE = "_bundle"
# The browser libraries the pages load from /vendor/<library>/<file>: each file the app serves, and the path
# under node_modules that `npm ci` puts it at (package-lock.json pins the versions). A library's licence
# travels with it.
VENDOR: dict[str, dict[str, str]] = {
    "lightweight-charts": {
        "lightweight-charts.standalone.production.mjs": (
            "lightweight-charts/dist/lightweight-charts.standalone.production.mjs"
        ),
        "LICENSE": "lightweight-charts/LICENSE",
    },
    "swagger-ui": {
        "swagger-ui.css": "swagger-ui-dist/swagger-ui.css",
        "swagger-ui-bundle.js": "swagger-ui-dist/swagger-ui-bundle.js",
        "swagger-ui-standalone-preset.js": "swagger-ui-dist/swagger-ui-standalone-preset.js",
        "LICENSE": "swagger-ui-dist/LICENSE",
        "NOTICE": "swagger-ui-dist/NOTICE",
    },
    "asyncapi": {
        "browser/standalone/index.js": "@asyncapi/react-component/browser/standalone/index.js",
        "styles/default.min.css": "@asyncapi/react-component/styles/default.min.css",
        "LICENSE": "@asyncapi/react-component/LICENSE",
    },
}
# The npm package of each library, as a message to an operator names it.
VENDOR_PACKAGES = {
    "lightweight-charts": "lightweight-charts",
    "swagger-ui": "swagger-ui-dist",
    "asyncapi": "@asyncapi/react-component",
}


def _package_dir() -> Path:
    located = files("app")
    if not isinstance(located, Path):
        raise RuntimeError(f"the app package must be on disk (extracted), not in {located!r}")
    return located


def bundle_dir() -> Path | None:
    """The installed package's bundle of data folders and libraries; None in a checkout."""
    bundle = _package_dir() / BUNDLE
    return bundle if bundle.is_dir() else None


def checkout_dir() -> Path:
    """The repository that holds the `app` package (meaningful only when `bundle_dir()` is None)."""
    return _package_dir().parent


def data_folder(name: str) -> Path:
    """One of DATA_FOLDERS ("config", "templates", "static") as a directory path."""
    if name not in DATA_FOLDERS:
        raise ValueError(f"unknown data folder {name!r}; one of {', '.join(DATA_FOLDERS)}")
    bundle = bundle_dir()
    return (bundle if bundle is not None else checkout_dir()) / name


def vendor_files(library: str) -> dict[str, Path] | None:
    """URL-relative name -> file of one VENDOR library, or None when any of its files is not installed."""
    bundle = bundle_dir()
    found = {
        name: bundle / "vendor" / library / name if bundle is not None else checkout_dir() / "node_modules" / source
        for name, source in VENDOR[library].items()
    }
    return found if all(path.is_file() for path in found.values()) else None

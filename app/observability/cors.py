"""CORS (aiohttp-cors) for the REST and UDF APIs and the static files, for the origins in CORS_ORIGINS.

The WebSocket is left out: browsers do not apply CORS to it, its handshake checks the Origin itself. With no
origin configured nothing is added, so no cross-origin page may read an answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aiohttp_cors
from aiohttp import hdrs, web
from aiohttp_cors.urldispatcher_router_adapter import ResourcesUrlDispatcherRouterAdapter

from app.keys import SETTINGS
from app.paths import API_PREFIX, WS_PATH

# Cross-origin pages may use these (the datafeed module is under /static/js/), and the API index itself.
CORS_PREFIXES = (f"{API_PREFIX}/", "/static/")


def is_cors_path(path: str) -> bool:
    """Whether a cross-origin page may read the answers for `path` (when its origin is listed)."""
    return (path == API_PREFIX or path.startswith(CORS_PREFIXES)) and path != WS_PATH


def _unrouted(request: web.Request) -> bool:
    """A request no route takes (aiohttp answers it with a 404 or a 405, which our middleware makes JSON)."""
    return request.match_info.route.resource is None


class _RouterAdapter(ResourcesUrlDispatcherRouterAdapter):
    """aiohttp-cors's adapter, which also treats an unrouted request under a CORS path (a JSON 404 or 405) as
    one of a CORS-enabled resource: a page of a listed origin can then read the error's `detail`."""

    def __init__(self, router: web.UrlDispatcher, defaults: Mapping[str, Any]) -> None:
        super().__init__(router, defaults)
        self._unrouted_config = defaults

    def is_preflight_request(self, request: web.Request) -> bool:
        return not _unrouted(request) and bool(super().is_preflight_request(request))

    def is_cors_enabled_on_request(self, request: web.Request) -> bool:
        if _unrouted(request):
            return is_cors_path(request.path)
        return bool(super().is_cors_enabled_on_request(request))

    def get_non_preflight_request_config(self, request: web.Request) -> Mapping[str, Any]:
        if _unrouted(request):
            return self._unrouted_config
        config: Mapping[str, Any] = super().get_non_preflight_request_config(request)
        return config


async def _vary_by_origin(request: web.Request, response: web.StreamResponse) -> None:
    """Every answer of a CORS path names Origin in Vary, whatever the origin (or none): aiohttp-cors echoes the
    asking origin (even for `*`), so a shared cache must key on it or it gives one origin's answer to another."""
    if not is_cors_path(request.path):
        return
    vary = response.headers.get(hdrs.VARY)
    if vary is None:
        response.headers[hdrs.VARY] = hdrs.ORIGIN
    elif hdrs.ORIGIN.lower() not in (token.strip().lower() for token in vary.split(",")):
        response.headers[hdrs.VARY] = f"{vary}, {hdrs.ORIGIN}"


def setup_cors(app: web.Application) -> None:
    """CORS headers and preflight answers on the REST, UDF and static routes (and their JSON errors), for
    CORS_ORIGINS; call after every route is added."""
    origins = app[SETTINGS].cors_origins
    if not origins:
        return
    # No credentials: the APIs use none, and a credentialed `*` would hand every site the user's cookies.
    options = aiohttp_cors.ResourceOptions(  # type: ignore[no-untyped-call]
        allow_credentials=False, expose_headers="*", allow_headers="*"
    )
    defaults = dict.fromkeys(origins, options)
    cors = aiohttp_cors.CorsConfig(app, defaults=defaults, router_adapter=_RouterAdapter(app.router, defaults))
    for route in list(app.router.routes()):
        if route.resource is not None and is_cors_path(route.resource.canonical):
            cors.add(route)
    app.on_response_prepare.append(_vary_by_origin)

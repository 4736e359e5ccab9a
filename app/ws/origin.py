"""Which pages may open the WebSocket: the server's own, those in CORS_ORIGINS, and clients that send no Origin.

Browsers let any page open a WebSocket to any server and send the user's cookies along; the `Origin` header
is the only thing that tells the server whose page it is (cross-site WebSocket hijacking).
"""

from __future__ import annotations

import logging

from aiohttp import hdrs, web

from app.keys import SETTINGS
from app.settings import ANY_ORIGIN, origin_of

log = logging.getLogger(__name__)

REFUSED = "Origin not allowed"


def _own_hosts(request: web.Request) -> list[str]:
    """The host[:port] the client addressed: `Host`, and the first `X-Forwarded-Host` a proxy in front adds."""
    hosts = [request.headers.get(hdrs.HOST, "")]
    forwarded = request.headers.get(hdrs.X_FORWARDED_HOST, "")
    if forwarded:
        hosts.append(forwarded.split(",")[0])
    return [host.strip() for host in hosts if host.strip()]


def _same_origin(origin: str, host: str) -> bool:
    # The same scheme on both sides: a TLS-terminating proxy makes the page https and the request http.
    scheme = origin.split("://", 1)[0]
    try:
        return origin_of(f"{scheme}://{host}") == origin
    except ValueError:
        return False


def check_origin(request: web.Request) -> None:
    """Refuse a handshake from another site's page with HTTPForbidden (403), before anything is upgraded."""
    header = request.headers.get(hdrs.ORIGIN)
    allowed = request.app[SETTINGS].cors_origins
    if header is None or allowed == (ANY_ORIGIN,):
        return
    try:
        origin = origin_of(header)
    except ValueError:
        origin = None  # "null" (sandboxed pages, file:// documents) or garbage: no site of ours
    if origin is not None and (origin in allowed or any(_same_origin(origin, host) for host in _own_hosts(request))):
        return
    log.debug("WebSocket handshake from %s refused: Origin %r", request.remote, header[:200])
    raise web.HTTPForbidden(reason=REFUSED)

"""Headers on every response: no MIME sniffing, no framing of our pages, and a Server header without versions."""

from __future__ import annotations

from aiohttp import web, web_response

# aiohttp's default (`Python/3.11 aiohttp/3.x`) tells a scanner which published flaws to try.
SERVER_NAME = "Trading Pro"
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    # No page of ours is meant to sit in a frame (clickjacking); both forms, for old and new browsers.
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "frame-ancestors 'none'",
}


async def add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """Add the security headers to `response` unless it set its own (an on_response_prepare hook)."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)


def setup_headers(app: web.Application) -> None:
    """Every answer of `app` (errors, static files, WebSocket upgrades) carries the headers and our Server name."""
    app.on_response_prepare.append(add_security_headers)
    # The Server default is read when each response is prepared, also for the 400s aiohttp answers to requests
    # it cannot parse, which reach no hook of the app: replacing the default is the one way to cover those.
    web_response.SERVER_SOFTWARE = SERVER_NAME  # type: ignore[attr-defined]

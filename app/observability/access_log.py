"""One line per HTTP request on the `app.access` logger, written by aiohttp once the answer has been sent."""

from __future__ import annotations

import logging

from aiohttp import hdrs, web
from aiohttp.abc import AbstractAccessLogger

ACCESS_LOGGER = "app.access"
# The method aiohttp gives a request it could not parse (its parser refuses every method it does not know).
UNPARSED = "UNKNOWN"


class AccessLog(AbstractAccessLogger):
    """`GET /api/v1/health 200 187 B 1.2 ms 127.0.0.1`; the same figures as fields of a JSON record.

    aiohttp calls `log` after the answer's last byte is written; `duration_ms` runs from the request's arrival
    to that moment. `bytes` is the body's length (Content-Length), 0 for an answer without a body (HEAD, 1xx, 204,
    304, or no length and no chunks), or for a chunked body, the bytes written in all (header included).

    A request aiohttp could not parse gets no line: aiohttp logs it as an error, which the repeat filter
    (LOG_REPEAT_INTERVAL) limits, so a flood of malformed requests cannot flood the log through this one.
    """

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        if request.method == UNPARSED:
            return
        duration_ms = round(time * 1000, 3)
        size = _body_bytes(request, response)
        self.logger.info(
            "%s %s %d %d B %.1f ms %s",
            request.method,
            request.path_qs,
            response.status,
            size,
            duration_ms,
            request.remote,
            extra={
                "method": request.method,
                "path": request.path_qs,
                "status": response.status,
                "bytes": size,
                "duration_ms": duration_ms,
                "client": request.remote,
            },
        )

    @property
    def enabled(self) -> bool:
        # aiohttp skips the call altogether when this is false (LOG_LEVEL above INFO).
        return self.logger.isEnabledFor(logging.INFO)


def _body_bytes(request: web.BaseRequest, response: web.StreamResponse) -> int:
    """The body bytes sent: none for a HEAD, a 1xx, 204 or 304 (RFC 9110), whatever Content-Length announces."""
    status = response.status
    if request.method == hdrs.METH_HEAD or status < 200 or status in (204, 304):
        return 0
    if response.content_length is not None:
        # Exact, where body_length would count the header too and miss a file sent with sendfile().
        return response.content_length
    # Neither a length nor chunks: the answer ends with its header (a 416, say). Chunked: all that was written.
    return response.body_length if response.chunked else 0


def access_log_args(enabled: bool) -> dict[str, object]:
    """`handler_args` for the application: our access log, or none. They override the runner's own choice,
    so the log is the same whoever serves the app (`python -m app`, a test server, a worker)."""
    if not enabled:
        return {"access_log": None}
    return {"access_log_class": AccessLog, "access_log": logging.getLogger(ACCESS_LOGGER)}

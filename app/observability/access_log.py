"""One line per HTTP request on the `app.access` logger, written by aiohttp once the answer has been sent."""

from __future__ import annotations

import logging

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

ACCESS_LOGGER = "app.access"
# The method aiohttp gives a request it could not parse (its parser refuses every method it does not know).
UNPARSED = "UNKNOWN"


class AccessLog(AbstractAccessLogger):
    """`GET /api/v1/health 200 187 B 1.2 ms 127.0.0.1`; the same figures as fields of a JSON record.

    aiohttp calls `log` after the answer's last byte is written; `duration_ms` runs from the request's arrival
    to that moment. `bytes` is the body's length (Content-Length), or for a body streamed without one, the
    bytes written in all.

    A request aiohttp could not parse gets no line: aiohttp logs it as an error, which the repeat filter
    (LOG_REPEAT_INTERVAL) limits, so a flood of malformed requests cannot flood the log through this one.
    """

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        if request.method == UNPARSED:
            return
        duration_ms = round(time * 1000, 3)
        # body_length counts the header too, and not a file sent with sendfile(): the announced length is exact.
        size = response.content_length if response.content_length is not None else response.body_length
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


def access_log_args(enabled: bool) -> dict[str, object]:
    """`handler_args` for the application: our access log, or none. They override the runner's own choice,
    so the log is the same whoever serves the app (`python -m app`, a test server, a worker)."""
    if not enabled:
        return {"access_log": None}
    return {"access_log_class": AccessLog, "access_log": logging.getLogger(ACCESS_LOGGER)}

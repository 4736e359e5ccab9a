"""One JSON shape for every error, and the request parser that feeds it validation failures.

Every error answer is `{"detail": ...}` (422 adds `errors`: field -> messages); under the UDF
prefix it also carries the UDF protocol's `{"s": "error", "errmsg": ...}`. Nothing about the
failure's internals (tracebacks, exception text) ever reaches the body.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, NoReturn

from aiohttp import web
from marshmallow import Schema, ValidationError
from webargs.aiohttpparser import AIOHTTPParser

from app.market.feed import MarketFeed
from app.market.instruments import Instrument
from app.paths import UDF_PREFIX
from app.responses import json_response

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ApiError(Exception):
    """An error answer with a status and a human-readable detail."""

    def __init__(self, status: int, detail: str, errors: Mapping[str, list[str]] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.errors = errors


def invalid(errors: Mapping[str, list[str]]) -> ApiError:
    """A 422 whose detail lists every field's messages."""
    summary = "; ".join(f"{field}: {' '.join(messages)}" for field, messages in errors.items())
    return ApiError(422, f"Invalid request. {summary}", errors)


def resolve_or_404(feed: MarketFeed, symbol: str) -> Instrument:
    """The instrument for `symbol` (any case); an ApiError 404 `Unknown symbol` when the feed has none."""
    instrument = feed.instrument(symbol)
    if instrument is None:
        raise ApiError(404, f"Unknown symbol: {symbol}")
    return instrument


def _flatten(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    if isinstance(messages, Mapping):
        flat: dict[str, list[str]] = {}
        for key, value in messages.items():
            name = str(key) if key != "_schema" else ""
            flat |= _flatten(value, f"{prefix}.{name}" if prefix and name else prefix or name)
        return flat
    if isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        return {prefix or "request": list(messages)}
    return {prefix or "request": [str(messages)]}


class ValidatingParser(AIOHTTPParser):
    """webargs' aiohttp parser, raising our 422 for invalid fields and for malformed JSON."""

    def handle_error(
        self,
        error: ValidationError,
        req: web.Request,
        schema: Schema,
        *,
        error_status_code: int | None,
        error_headers: Mapping[str, str] | None,
    ) -> NoReturn:
        messages = error.messages
        # webargs nests messages under the location ("querystring", "json", ...): drop that level.
        if isinstance(messages, Mapping) and len(messages) == 1:
            messages = next(iter(messages.values()))
        raise invalid(_flatten(messages))

    def _handle_invalid_json_error(self, error: Exception, req: web.Request, *args: Any, **kwargs: Any) -> NoReturn:
        raise invalid({"body": ["Request body is not valid JSON."]})


def _error_body(request: web.Request, status: int, detail: str, errors: Mapping[str, list[str]] | None) -> Any:
    body: dict[str, Any] = {"detail": detail}
    if errors is not None:
        body["errors"] = errors
    if request.path.startswith(UDF_PREFIX):
        body = {"s": "error", "errmsg": detail} | body
    return body


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn every failure into the JSON error shape; log what was unexpected."""
    try:
        return await handler(request)
    except ApiError as error:
        return json_response(_error_body(request, error.status, error.detail, error.errors), error.status)
    except web.HTTPException as error:
        if error.status < 400:
            raise
        detail = f"{error.reason}: {request.method} {request.path}"
        headers = {"Allow": error.headers["Allow"]} if "Allow" in error.headers else None
        return json_response(_error_body(request, error.status, detail, None), error.status, headers)
    except Exception:
        log.exception("Unhandled error on %s %s", request.method, request.path_qs)
        return json_response(_error_body(request, 500, "Internal server error", None), 500)

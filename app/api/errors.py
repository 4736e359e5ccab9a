"""One JSON shape for every error, and the request parser that feeds it validation failures.

Every error answer is `{"detail": ...}` (422 adds `errors`: field -> messages); under the UDF
prefix it also carries the UDF protocol's `{"s": "error", "errmsg": ...}`. Nothing about the
failure's internals (tracebacks, exception text) ever reaches the body. A request that needs a part
of the server that does not answer (the store) gets 503, saying which.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, NoReturn, cast

from aiohttp import web
from aiohttp_apispec import response_schema
from marshmallow import Schema, ValidationError
from webargs.aiohttpparser import AIOHTTPParser, is_json_request
from webargs.core import missing

from app.keys import FEED
from app.market.feed import Component, FeedUnavailableError
from app.market.instruments import Instrument
from app.paths import UDF_PREFIX
from app.responses import json_response
from app.schemas.common import ErrorSchema
from app.schemas.udf import UdfErrorSchema

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# The parts of the server that can fail on their own (the store), which create_app names: the health check reports
# them, and a symbol nobody else knows may be theirs.
COMPONENTS: web.AppKey[tuple[Component, ...]] = web.AppKey("components")
# Seconds a client is asked to wait before trying again a request that got 503 (the store is polled every second).
RETRY_AFTER = 5


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


def invalid_messages(messages: Any) -> ApiError:
    """A 422 of marshmallow's nested messages (`{"trades": {3: {"price": [...]}}}` is field `trades.3.price`)."""
    return invalid(_flatten(messages))


def resolve_or_404(request: web.Request, symbol: str) -> Instrument:
    """The instrument for `symbol` (any case); an ApiError 404 `Unknown symbol` when the feed has none, 503 when a
    part that may hold it (the store) does not answer."""
    instrument = request.app[FEED].instrument(symbol)
    if instrument is None:
        raise unresolved(request, symbol)
    return instrument


def why_missing(request: web.Request, symbol: str) -> str:
    """Why the feed has no `symbol`, in the words of `unresolved` (a quotes entry's error)."""
    return unresolved(request, symbol).detail


def unresolved(request: web.Request, symbol: str) -> ApiError:
    """Why the feed has no `symbol`: a 503 naming the part that may hold it and does not answer (the store), else a
    404 `Unknown symbol`."""
    for component in request.app[COMPONENTS]:
        problem = component.problem()
        if problem is not None:
            return ApiError(503, f"{symbol} is not simulated, and the {component.name} does not answer: {problem}")
    return ApiError(404, f"Unknown symbol: {symbol}")


def may_be_unavailable(*, udf: bool = False) -> Callable[[Handler], Handler]:
    """Document the 503 of a handler that needs the store (an Error, or a UDF error under the UDF prefix)."""
    schema = UdfErrorSchema if udf else ErrorSchema
    description = "A part of the server the request needs (the store) does not answer; `Retry-After` says when to retry"
    return cast(Callable[[Handler], Handler], response_schema(schema, 503, description=description))


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

    async def load_json(self, req: web.Request, schema: Schema) -> Any:
        """The JSON body, or `missing` when there is none; 422 for anything that is not strict JSON.

        Strict: UTF-8, no NaN or Infinity, every number finite. Whatever Python's parser cannot take
        (nesting past the recursion limit, integers past the digit limit) is the client's error too.
        """
        if not req.body_exists:
            return missing
        if not is_json_request(req):
            # A body that is there but not declared JSON would otherwise read as no body at all.
            raise invalid({"body": [f"Expected Content-Type: application/json, not {req.content_type}."]})
        body = await req.read()
        if not body:
            return missing
        try:
            return json.loads(body.decode(), parse_constant=_reject_constant, parse_float=_finite_float)
        except RecursionError:
            raise invalid({"body": ["Request body is nested too deeply."]}) from None
        except ValueError as error:  # JSONDecodeError, UnicodeDecodeError, the digit limit, ours
            raise invalid({"body": [f"Request body is not valid JSON: {_reason(error)}."]}) from None


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text[:20]} is out of range")
    return value


def _reason(error: ValueError) -> str:
    """What was wrong, without echoing the body (a decode error's text quotes the bytes)."""
    if isinstance(error, json.JSONDecodeError):
        return f"{error.msg} at line {error.lineno} column {error.colno}"
    if isinstance(error, UnicodeDecodeError):
        return f"not UTF-8 at byte {error.start}"
    if "integer string conversion" in str(error):
        return "an integer has too many digits"
    return str(error)


def _error_body(request: web.Request, status: int, detail: str, errors: Mapping[str, list[str]] | None) -> Any:
    body: dict[str, Any] = {"detail": detail}
    if errors is not None:
        body["errors"] = errors
    if request.path.startswith(UDF_PREFIX):
        body = {"s": "error", "errmsg": detail} | body
    return body


def _client_left(request: web.Request) -> bool:
    """Whether the client's connection is gone (a body cut off mid-read raises ConnectionResetError)."""
    return request.transport is None or request.transport.is_closing()


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn every failure into the JSON error shape; log what was unexpected."""
    try:
        return await handler(request)
    except ApiError as error:
        headers = {"Retry-After": str(RETRY_AFTER)} if error.status == 503 else None
        return json_response(_error_body(request, error.status, error.detail, error.errors), error.status, headers)
    except FeedUnavailableError as error:
        # The request was fine; what it needs is not there now (the client may try again).
        headers = {"Retry-After": str(RETRY_AFTER)}
        return json_response(_error_body(request, 503, str(error), None), 503, headers)
    except web.HTTPException as error:
        if error.status < 400:
            raise
        detail = f"{error.reason}: {request.method} {request.path}"
        headers = {"Allow": error.headers["Allow"]} if "Allow" in error.headers else None
        return json_response(_error_body(request, error.status, detail, None), error.status, headers)
    except Exception as error:
        if isinstance(error, ConnectionResetError) and _client_left(request):
            # Nothing failed here and nobody is left to read an answer; aiohttp drops it quietly.
            log.debug("Client left during %s %s", request.method, request.path)
            return json_response(_error_body(request, 400, "Client closed the connection", None), 400)
        log.exception("Unhandled error on %s %s", request.method, request.path_qs)
        return json_response(_error_body(request, 500, "Internal server error", None), 500)

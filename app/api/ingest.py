"""`POST /api/v1/ingest/trades`: live trades from a publisher holding the INGEST_TOKEN.

The route is always there (and documented); while INGEST_TOKEN is unset it answers 404 to a request with a bearer
token (one without is asked for it, 401, whatever the configuration). The token is compared in constant time: the
SHA-256 digests of the given token and of INGEST_TOKEN go through `hmac.compare_digest`, so that neither the position
of the first wrong character nor the token's length shows in the time an answer takes.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from typing import Protocol, cast

from aiohttp import web
from aiohttp_apispec import docs, json_schema, response_schema
from marshmallow import ValidationError
from webargs.aiohttpparser import is_json_request

from app.api.errors import ApiError, invalid, invalid_messages, may_be_unavailable
from app.api.openapi import F, operation
from app.keys import SETTINGS
from app.market.trades import CLOSE_GRACE, FUTURE_TOLERANCE, Posted, RefusedTradesError
from app.paths import API_PREFIX
from app.responses import json_response
from app.schemas.common import ErrorSchema
from app.schemas.ingest import MAX_TRADES, IngestAnswerSchema, IngestRequestSchema, read_trades

INGEST_PATH = f"{API_PREFIX}/ingest/trades"
# Refused trades named in `errors` (the detail names the first few): a batch of 10,000 bad ones is not echoed back.
MAX_NAMED = 100
_NAMED_IN_DETAIL = 5
_CHALLENGE = 'Bearer realm="ingest"'
_WRONG_TOKEN = f'{_CHALLENGE}, error="invalid_token"'


class TradeIntake(Protocol):
    """Whatever applies posted trades (the stored feed's ingest)."""

    async def apply(self, posted: Posted) -> int:
        """Apply all of `posted` or none (RefusedTradesError); how many were applied."""


# Set by create_app while INGEST_TOKEN is set.
INGEST: web.AppKey[TradeIntake] = web.AppKey("ingest")
routes = web.RouteTableDef()


def documented_body(handler: F) -> F:
    """Document IngestRequestSchema as the required JSON body, without the validation middleware loading bodies with
    it: marshmallow takes about 16 ms per 1,000 trades, `read_trades` checks the same rules far faster."""
    handler = json_schema(IngestRequestSchema, required=True)(handler)
    handler.__schemas__ = [schema for schema in handler.__schemas__ if schema["location"] != "json"]  # type: ignore[attr-defined]
    return handler


def bearer_token(handler: F) -> F:
    """Document the Authorization header the handler requires."""
    header = {
        "in": "header",
        "name": "Authorization",
        "required": True,
        "type": "string",
        "description": "`Bearer ` and the server's INGEST_TOKEN",
    }
    return cast(F, docs(parameters=[header])(handler))


def error_answer(status: int, description: str) -> Callable[[F], F]:
    """Document an error answer of the handler (an Error: `detail`)."""
    return cast(Callable[[F], F], response_schema(ErrorSchema, status, description=description))


def _token_digest(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()


def _refused(error: RefusedTradesError) -> ApiError:
    """The 422 naming each refused trade (`trades.3.price`), the first few in the detail too."""
    items = sorted(error.problems.items())
    named = [(f"trades.{index}.{field}", message) for index, fields in items for field, message in fields.items()]
    errors = {field: [message] for field, message in named[:MAX_NAMED]}
    if len(named) > MAX_NAMED:
        errors["trades"] = [f"{len(named) - MAX_NAMED} more problems not listed"]
    shown = "; ".join(f"{field}: {message}" for field, message in named[:_NAMED_IN_DETAIL])
    more = f"; and {len(named) - _NAMED_IN_DETAIL} more" if len(named) > _NAMED_IN_DETAIL else ""
    return ApiError(422, f"{len(items)} of {error.count} trades refused, so none was applied. {shown}{more}", errors)


def _unauthorized(detail: str, challenge: str) -> web.Response:
    return json_response({"detail": detail}, 401, {"WWW-Authenticate": challenge})


_RULES = (
    "All the trades are applied, or none: an unknown symbol, a price off the instrument's tick grid, a size with "
    "more decimals than its volume_precision, a price above 2**53 ticks or a size above 2**53 volume units (units of "
    "10**-volume_precision), a trade that would bring a bar's volume above 2**53 volume units (at any resolution, the "
    "stored bars of its period counted), or a time outside what the instrument accepts refuses the request "
    "(422, `errors` naming each item, `trades.3.price`). A trade's time may not be older than the instrument's forming "
    "1-minute bar: the minute (of its session grid) holding the latest of the server's clock less "
    f"{CLOSE_GRACE:g} s, the instrument's newest trade and the end of its newest stored bar; every bar before it is "
    "closed, went out over the WebSocket with its final values and is written to the store. A 1-minute bar stored "
    "while its minute had not ended (a server that stopped within it writes it as it stands) is not closed: a server "
    "started on the same store within that minute continues it (its open stays; high, low, close and volume take the "
    "new trades), so trades replayed after a restart are not lost. Nor may it be more than "
    f"{FUTURE_TOLERANCE:g} s ahead of the server's clock. Symbols are case-insensitive and must name a stored "
    "instrument (`python -m app instruments add` creates one with no history); one the server only simulates is "
    "unknown. Trades with equal `time` apply in the order they are listed (the first opens a bar, the last closes it). "
    "They build bars at every resolution, streamed on the `bars:SYMBOL:RESOLUTION` topics within one broadcaster "
    f"tick; a bar closes when its period ends, with or without another trade ({CLOSE_GRACE:g} s later by the clock, "
    "for trades on their way; at once when a trade of a later period arrives), and a period without trades has no "
    "bar. The body is at most 1 MiB (413 beyond)."
)


@routes.post(INGEST_PATH)
@operation(
    tag="ingest",
    summary="Post live trades",
    description=f"1 to {MAX_TRADES} trades, `Authorization: Bearer <INGEST_TOKEN>`. " + _RULES,
    response=IngestAnswerSchema,
    errors=(405, 413, 422),
)
@bearer_token
@error_answer(400, "The body does not decode (its Content-Encoding)")
@error_answer(401, f"No bearer token, or not INGEST_TOKEN; `WWW-Authenticate: {_CHALLENGE}`")
@error_answer(404, "Ingest is off: the server has no INGEST_TOKEN")
@may_be_unavailable()
@documented_body
async def ingest_trades(request: web.Request) -> web.Response:
    # A request without credentials is asked for them first: it learns nothing of the server's configuration.
    scheme, _, given = request.headers.get("Authorization", "").strip().partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        return _unauthorized("Authorization: Bearer <INGEST_TOKEN> is required", _CHALLENGE)
    intake, token = request.app.get(INGEST), request.app[SETTINGS].ingest_token
    if intake is None or not token:
        raise ApiError(404, "Ingest is off: the server was started without INGEST_TOKEN")
    if not hmac.compare_digest(_token_digest(given.strip()), _token_digest(token)):
        return _unauthorized(
            "The bearer token is not this server's INGEST_TOKEN", f'{_CHALLENGE}, error="invalid_token"'
        )
    if not is_json_request(request):
        raise invalid({"body": [f"Expected Content-Type: application/json, not {request.content_type}."]})
    try:
        posted = read_trades(await request.read())
    except ValidationError as error:
        raise invalid_messages(error.messages) from None
    try:
        accepted = await intake.apply(posted)
    except RefusedTradesError as error:
        raise _refused(error) from None
    return json_response({"accepted": accepted})

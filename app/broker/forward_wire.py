"""Forwarded ingest as bytes: a request for the Redis list, its reply for the sender's channel.

A request is a JSON header line (format version, id, reply channel, deadline, the symbols), then the trades' numbers
as they were posted: prices and sizes as little-endian doubles, times as little-endian int64 (UTC ms), so they arrive
bit for bit. A reply is one JSON object: the request's id and `applied` (a count), `refused` (problems by trade index
and the batch's count), `unavailable` (component and reason) or `failed`. A version, so that processes of two releases
sharing a Redis during a rolling upgrade refuse each other's requests instead of misapplying them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson

from app.market.feed import FeedUnavailableError
from app.market.trades import Posted, RefusedTradesError

VERSION = 1
_DOUBLES = np.dtype("<f8")
_INTS = np.dtype("<i8")


class ApplyFailedError(Exception):
    """The broadcaster's process failed to apply forwarded trades otherwise than by refusing them (its log says
    why)."""


@dataclass(frozen=True, slots=True)
class Request:
    """Trades for the broadcaster's process: `id` unique among the sender's, `reply` the sender's channel,
    `deadline` UTC ms after which they must not be applied (the sender no longer waits)."""

    id: str
    reply: str
    deadline: int
    posted: Posted


# What applying a request came to: the count applied, or the error the sender raises.
Outcome = int | RefusedTradesError | FeedUnavailableError | ApplyFailedError


def encode_request(request: Request) -> bytes:
    """The bytes of `request` for the list."""
    posted = request.posted
    head = {
        "v": VERSION,
        "id": request.id,
        "reply": request.reply,
        "deadline": request.deadline,
        "symbols": posted.symbols if isinstance(posted.symbols, list) else list(posted.symbols),
    }
    return b"".join(
        (
            orjson.dumps(head),
            b"\n",
            posted.prices.astype(_DOUBLES, copy=False).tobytes(),
            posted.sizes.astype(_DOUBLES, copy=False).tobytes(),
            posted.times.astype(_INTS, copy=False).tobytes(),
        )
    )


def decode_request(data: bytes) -> Request:
    """The request `data` holds; ValueError when it is not one of this version."""
    line, newline, body = data.partition(b"\n")
    try:
        head = orjson.loads(line)
        version, symbols = head["v"], head["symbols"]
        if version != VERSION:
            raise ValueError(f"format version {version!r}, not {VERSION}")
        count = len(symbols)
        if not newline or len(body) != 24 * count:
            raise ValueError(f"{len(body)} bytes of numbers for {count} trades")
        prices = np.frombuffer(body, _DOUBLES, count).astype(np.float64)
        sizes = np.frombuffer(body, _DOUBLES, count, 8 * count).astype(np.float64)
        times = np.frombuffer(body, _INTS, count, 16 * count).astype(np.int64)
        return Request(
            str(head["id"]), str(head["reply"]), int(head["deadline"]), Posted(symbols, prices, sizes, times)
        )
    except (orjson.JSONDecodeError, KeyError, TypeError) as error:
        raise ValueError(f"not a forwarded ingest request: {error!r}") from None


def encode_reply(id_: str, outcome: Outcome) -> bytes:
    """The bytes of the reply to request `id_`."""
    body: dict[str, Any] = {"id": id_}
    if isinstance(outcome, RefusedTradesError):
        body["refused"] = {str(index): fields for index, fields in outcome.problems.items()}
        body["count"] = outcome.count
    elif isinstance(outcome, FeedUnavailableError):
        body["unavailable"] = [outcome.component, outcome.reason]
    elif isinstance(outcome, ApplyFailedError):
        body["failed"] = True
    else:
        body["applied"] = outcome
    return orjson.dumps(body)


def decode_reply(data: bytes) -> tuple[str, Outcome]:
    """The request id and outcome `data` holds; ValueError when it is not a reply."""
    try:
        body = orjson.loads(data)
        id_ = str(body["id"])
        if "applied" in body:
            return id_, int(body["applied"])
        if "refused" in body:
            problems = {int(index): fields for index, fields in body["refused"].items()}
            return id_, RefusedTradesError(problems, int(body["count"]))
        if "unavailable" in body:
            component, reason = body["unavailable"]
            return id_, FeedUnavailableError(str(component), str(reason))
        if body.get("failed") is True:
            return id_, ApplyFailedError("the bar broadcaster's process failed to apply the trades (see its log)")
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as error:
        raise ValueError(f"not a forwarded ingest reply: {error!r}") from None
    raise ValueError(f"not a forwarded ingest reply: {sorted(body)}")

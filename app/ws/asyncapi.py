"""The AsyncAPI 2.6 document of the WebSocket feed, built from the marshmallow schemas it validates with."""

from __future__ import annotations

from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import Schema

from app.market.resolutions import Resolution
from app.paths import API_VERSION, WS_PATH
from app.schemas.datafeed import BarSchema
from app.schemas.ws import (
    MAX_REPLAY_BARS,
    BarsSubscriptionSchema,
    PingSchema,
    PongSchema,
    SubscriptionResponseSchema,
)
from app.settings import Settings
from app.ws import protocol
from app.ws.protocol import Topic

ASYNCAPI_VERSION = "2.6.0"
_SCHEMAS: dict[str, type[Schema]] = {
    "BarsSubscription": BarsSubscriptionSchema,
    "SubscriptionResponse": SubscriptionResponseSchema,
    "Ping": PingSchema,
    "Pong": PongSchema,
    "Bar": BarSchema,
}
_TOPIC_EXAMPLE = Topic("AAPL", Resolution.M1)
_BAR_EXAMPLE = {"time": 1767225600000, "open": 190.12, "high": 190.4, "low": 189.95, "close": 190.33, "volume": 152300}


def _json_schemas() -> dict[str, Any]:
    """The marshmallow schemas as JSON Schema, through the converter that also feeds OpenAPI."""
    spec = APISpec(title="ws", version=API_VERSION, openapi_version="3.0.3", plugins=[MarshmallowPlugin()])
    for name, schema in _SCHEMAS.items():
        spec.components.schema(name, schema=schema)
    schemas: dict[str, Any] = spec.to_dict()["components"]["schemas"]
    return schemas


def _envelope(message_type: str, payload_schema: str, *, topic: bool = False) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "type": {"type": "string", "const": message_type},
        "payload": {"$ref": f"#/components/schemas/{payload_schema}"},
    }
    if topic:
        properties["topic"] = {
            "type": "string",
            "description": protocol.topic_name("SYMBOL", "RESOLUTION"),
            "example": _TOPIC_EXAMPLE.name,
        }
    return {"type": "object", "required": list(properties), "properties": properties}


def _message(
    message_type: str, summary: str, payload_schema: str, example: dict[str, Any], *, topic: str | None = None
) -> dict[str, Any]:
    example_frame = {"type": message_type, "payload": example} | ({"topic": topic} if topic else {})
    return {
        "name": message_type,
        "title": message_type,
        "summary": summary,
        "contentType": "application/json",
        "payload": _envelope(message_type, payload_schema, topic=topic is not None),
        "examples": [{"name": message_type, "payload": example_frame}],
    }


def _rules(settings: Settings) -> str:
    timed_out = protocol.timed_out(settings.ws_heartbeat_interval, settings.ws_max_connection_lifespan)
    closes = [
        (protocol.INVALID_PAYLOAD, "a frame that is not JSON, lacks the envelope, or has an invalid payload"),
        (protocol.UNKNOWN_TYPE, "an unknown `type`"),
        (
            timed_out,
            f"no client message for {settings.ws_heartbeat_interval} s, or the connection is older "
            f"than {settings.ws_max_connection_lifespan} s",
        ),
        (protocol.MESSAGE_TOO_BIG, f"a frame larger than {settings.ws_max_message_size} bytes"),
        (protocol.SHUTTING_DOWN, "the server is shutting down"),
        (protocol.TOO_SLOW, "the client stopped reading (see below)"),
    ]
    table = "\n".join(f"| {c.code.value} | `{c.reason}` | {why} |" for c, why in closes)
    return f"""Live OHLCV bars over one WebSocket. Every frame is text: a JSON envelope `{{"type", "payload"}}`.

Subscribe to `bars:SYMBOL:RESOLUTION` topics with `bars.subscribe`; one socket may hold up to
{settings.ws_max_subscriptions} topics. Every {settings.bar_broadcaster_interval} s each topic's forming bar
is sent as `bars.update`. Per topic `time` never goes back: an equal `time` replaces the forming bar, a
later one starts a new bar, and a bar's last update before a later `time` is its final state, exactly as
`/api/v1/datafeed/bars` serves it afterwards. Bar `time` is UTC milliseconds at the start of the period.

**The first updates.** Right after an `ok` the topic's latest bar is sent, whether or not the market is
open: the forming bar, or while the market is closed its last bar. A `bars.subscribe` for a topic the
socket already holds is answered `ok` and changes nothing (no second stream, no replay).

**Gap-free resume.** `bars.subscribe` may carry `since`, the `time` (ms) of the newest bar the client
holds, from history or from before a reconnection. The server then first sends every bar of the topic
with `time >= since`, in ascending time, closed bars with their final values exactly as
`/api/v1/datafeed/bars` serves them and the forming bar last (the latest bar if none is that recent), then
continues live: nothing is missed between loading history, or losing the connection, and the stream. A
`since` from which more than {MAX_REPLAY_BARS} bars exist (bars, not periods: a closed market has none) is
answered `status: error`; load those bars from `/api/v1/datafeed/bars`.

**Heartbeat and lifespan.** Send any message (`ping` is meant for it) at least every
{settings.ws_heartbeat_interval} s. The server also sends protocol-level pings every
{settings.ws_ping_interval} s and drops a peer that does not answer them.

**Slow clients.** Updates are written to each client without waiting for it. While more than
{settings.ws_send_buffer_limit} bytes wait for a client, its updates are dropped (a later update
supersedes them, so it only misses intermediate states). A client that stays that far behind for
{settings.ws_slow_client_timeout} s is disconnected with 1008, or cut off if even that cannot be sent.

**Close codes.**

| code | reason | when |
|---|---|---|
{table}
"""


def asyncapi_document(settings: Settings, host: str, secure: bool) -> dict[str, Any]:
    """The AsyncAPI document for a server reached at `host` (ws, or wss when `secure`)."""
    subscription = {"symbol": _TOPIC_EXAMPLE.symbol, "resolution": _TOPIC_EXAMPLE.resolution.value}
    resume = subscription | {"since": _BAR_EXAMPLE["time"]}
    response = protocol.subscribed(_TOPIC_EXAMPLE)
    unsubscribed = protocol.unsubscribed(_TOPIC_EXAMPLE)
    messages = {
        "BarsSubscribe": _message(
            protocol.SUBSCRIBE, "Follow a topic, from `since` if given", "BarsSubscription", resume
        ),
        "BarsUnsubscribe": _message(protocol.UNSUBSCRIBE, "Stop following a topic", "BarsSubscription", subscription),
        "Ping": _message(protocol.PING, "Keep the connection alive; any payload", "Ping", {}),
        "BarsSubscribeResponse": _message(
            protocol.SUBSCRIBE_RESPONSE,
            (
                "Subscription result (status error: unknown symbol or resolution, a resolution the instrument has "
                "no bars of (finer than an imported instrument's data: the message names those it has, as "
                "`/api/v1/datafeed/bars` does), a topic this server does not broadcast (BAR_BROADCASTER_*), the "
                f"subscription limit, or a `since` more than {MAX_REPLAY_BARS} bars back)"
            ),
            "SubscriptionResponse",
            response,
        ),
        "BarsUnsubscribeResponse": _message(
            protocol.UNSUBSCRIBE_RESPONSE, "Unsubscription result", "SubscriptionResponse", unsubscribed
        ),
        "BarsUpdate": _message(
            protocol.UPDATE,
            "A bar of a topic: the forming bar, or one sent after a subscription",
            "Bar",
            _BAR_EXAMPLE,
            topic=_TOPIC_EXAMPLE.name,
        ),
        "Pong": _message(protocol.PONG, "Answer to ping with the server time (ms)", "Pong", {"time": 1767225600000}),
    }

    def one_of(*names: str) -> dict[str, Any]:
        return {"oneOf": [{"$ref": f"#/components/messages/{name}"} for name in names]}

    return {
        "asyncapi": ASYNCAPI_VERSION,
        "id": "urn:trading-pro:ws:v1",
        "info": {"title": "Trading Pro WebSocket bar feed", "version": API_VERSION, "description": _rules(settings)},
        "servers": {"trading-pro": {"url": host, "protocol": "wss" if secure else "ws", "description": "This server"}},
        "defaultContentType": "application/json",
        "channels": {
            WS_PATH: {
                "description": "The only channel: every message below travels on the one socket.",
                "publish": {
                    "operationId": "sendToServer",
                    "summary": "Client to server",
                    "message": one_of("BarsSubscribe", "BarsUnsubscribe", "Ping"),
                },
                "subscribe": {
                    "operationId": "receiveFromServer",
                    "summary": "Server to client",
                    "message": one_of("BarsSubscribeResponse", "BarsUnsubscribeResponse", "BarsUpdate", "Pong"),
                },
                "bindings": {"ws": {"method": "GET", "bindingVersion": "0.1.0"}},
            }
        },
        "components": {"schemas": _json_schemas(), "messages": messages},
    }

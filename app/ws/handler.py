"""The `/api/v1/ws` endpoint: one reader per socket, enforcing the connection rules."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from typing import Any

import orjson
from aiohttp import WSMsgType, web
from marshmallow import ValidationError

from app.keys import BROADCASTER, FEED, HUB, SETTINGS
from app.market.resolutions import parse_resolution
from app.schemas.ws import BarsSubscriptionSchema, EnvelopeSchema
from app.ws import protocol
from app.ws.connection import Connection
from app.ws.protocol import INVALID_PAYLOAD, UNKNOWN_TYPE, Close, Topic

log = logging.getLogger(__name__)
_envelope = EnvelopeSchema()
_subscription = BarsSubscriptionSchema()
# The smallest wait handed to receive(): aiohttp treats a timeout of 0 as "no timeout".
_MIN_WAIT = 0.001


def _reply(message_type: str, payload: dict[str, Any]) -> str:
    return orjson.dumps({"type": message_type, "payload": payload}).decode()


async def websocket(request: web.Request) -> web.WebSocketResponse:
    """Serve one client until it leaves, breaks a rule, or the server stops."""
    settings = request.app[SETTINGS]
    # Pings are ours (see keepalive), so pongs reach the read loop and pings are answered there.
    ws = web.WebSocketResponse(autoping=False, max_msg_size=settings.ws_max_message_size, compress=False)
    await ws.prepare(request)
    transport = request.transport
    assert transport is not None, "a prepared WebSocket has a transport"
    loop = asyncio.get_running_loop()
    connection = Connection(ws, transport, loop.time())
    # Spread first pings over the interval: clients that connect together (after a restart) would
    # otherwise be pinged, and answer, in one burst every interval.
    connection.last_pong_at -= random.random() * settings.ws_ping_interval
    hub = request.app[HUB]
    hub.add(connection)
    log.debug("ws#%d opened from %s", connection.id, request.remote)
    try:
        close = await _serve(request, connection)
        if close is not None and not ws.closed:
            await ws.close(code=close.code, message=close.reason.encode())
    finally:
        hub.remove(connection)
        log.debug("ws#%d closed (%s)", connection.id, ws.close_code)
    return ws


async def _serve(request: web.Request, connection: Connection) -> Close | None:
    """Read frames until the client goes (None) or must be closed (the reason)."""
    settings = request.app[SETTINGS]
    heartbeat, lifespan = settings.ws_heartbeat_interval, settings.ws_max_connection_lifespan
    loop = asyncio.get_running_loop()
    ws = connection.ws
    while True:
        deadline = min(connection.last_message_at + heartbeat, connection.opened_at + lifespan)
        try:
            message = await ws.receive(timeout=max(deadline - loop.time(), _MIN_WAIT))
        except TimeoutError:
            return protocol.timed_out(heartbeat, lifespan)
        if message.type is WSMsgType.TEXT:
            connection.last_message_at = loop.time()
            close = await _handle(request, connection, message.data)
            if close is not None:
                return close
        elif message.type is WSMsgType.BINARY:
            return INVALID_PAYLOAD
        elif message.type is WSMsgType.PONG:
            connection.last_pong_at = loop.time()
            connection.ping_sent_at = None
        elif message.type is WSMsgType.PING:
            await ws.pong(message.data)
        else:  # CLOSE, CLOSING, CLOSED or ERROR (aiohttp has already answered an oversize frame with 1009)
            return None


async def _handle(request: web.Request, connection: Connection, text: str) -> Close | None:
    try:
        envelope = _envelope.load(orjson.loads(text))
    except (orjson.JSONDecodeError, ValidationError, TypeError):
        return INVALID_PAYLOAD
    message_type, payload = envelope["type"], envelope["payload"]
    if message_type == protocol.PING:
        await connection.ws.send_str(_reply(protocol.PONG, {"time": int(time.time() * 1000)}))
        return None
    if message_type not in (protocol.SUBSCRIBE, protocol.UNSUBSCRIBE):
        return UNKNOWN_TYPE
    try:
        wanted = _subscription.load(payload)
    except ValidationError:
        return INVALID_PAYLOAD
    if message_type == protocol.SUBSCRIBE:
        await _subscribe(request, connection, wanted["symbol"], wanted["resolution"])
    else:
        await _unsubscribe(request, connection, wanted["symbol"], wanted["resolution"])
    return None


def _topic(request: web.Request, symbol: str, resolution_name: str) -> Topic | str:
    """The topic asked for, or why it cannot be had."""
    instrument = request.app[FEED].instrument(symbol)
    if instrument is None:
        return f"Unknown symbol: {symbol.upper()}"
    resolution = parse_resolution(resolution_name)
    if resolution is None:
        return f"Unknown resolution: {resolution_name}"
    return Topic(instrument.symbol, resolution)


async def _subscribe(request: web.Request, connection: Connection, symbol: str, resolution: str) -> None:
    settings = request.app[SETTINGS]
    broadcaster = request.app[BROADCASTER]
    found = _topic(request, symbol, resolution)
    if isinstance(found, str):
        error = found
    elif not broadcaster.broadcasts(found):
        error = f"{found.name} is not broadcast by this server"
    elif found not in connection.topics and len(connection.topics) >= settings.ws_max_subscriptions:
        error = f"Subscription limit reached: at most {settings.ws_max_subscriptions} topics per connection"
    else:
        await connection.ws.send_str(_reply(protocol.SUBSCRIBE_RESPONSE, _ok(found, f"Subscribed to {found.symbol}")))
        # Bring the topic up to date for those already there, then join it and start the client at the
        # newest bar, so it is never older than history and continues the topic's one stream.
        hub, now = request.app[HUB], asyncio.get_running_loop().time()
        catchup = broadcaster.catch_up(found)
        if catchup.closed is not None:
            await hub.publish(found, catchup.closed, now)
        hub.subscribe(connection, found)
        if catchup.forming is not None:
            hub.deliver(connection, catchup.forming, now)
        return
    await connection.ws.send_str(_reply(protocol.SUBSCRIBE_RESPONSE, _error(symbol, resolution, error)))


async def _unsubscribe(request: web.Request, connection: Connection, symbol: str, resolution: str) -> None:
    found = _topic(request, symbol, resolution)
    if isinstance(found, str):
        payload = _error(symbol, resolution, found)
    else:
        request.app[HUB].unsubscribe(connection, found)
        payload = _ok(found, f"Unsubscribed from {found.symbol}")
    await connection.ws.send_str(_reply(protocol.UNSUBSCRIBE_RESPONSE, payload))


def _ok(topic: Topic, message: str) -> dict[str, str]:
    return {"status": "ok", "symbol": topic.symbol, "message": message, "topic": topic.name}


def _error(symbol: str, resolution: str, message: str) -> dict[str, str]:
    return {
        "status": "error",
        "symbol": symbol.upper(),
        "message": message,
        "topic": f"bars:{symbol.upper()}:{resolution}",
    }

"""The `/api/v1/ws` endpoint: one reader per socket, enforcing the connection rules."""

from __future__ import annotations

import asyncio
import logging
import random

import orjson
from aiohttp import WebSocketError, WSMsgType, web
from marshmallow import ValidationError

from app.keys import BROADCASTER, BROKER, CLOCK, FEED, HUB, RELAY, SETTINGS
from app.schemas.ws import BarsSubscriptionSchema, EnvelopeSchema
from app.stats import CloseReason
from app.ws import origin, protocol
from app.ws.connection import Connection
from app.ws.protocol import Close, Topic, TopicError

log = logging.getLogger(__name__)
_envelope = EnvelopeSchema()
_subscription = BarsSubscriptionSchema()
# The smallest wait handed to receive(): aiohttp treats a timeout of 0 as "no timeout".
_MIN_WAIT = 0.001


async def websocket(request: web.Request) -> web.WebSocketResponse:
    """Serve one client until it leaves, breaks a rule, or the server stops."""
    hub = request.app[HUB]
    try:
        origin.check_origin(request)
    except web.HTTPForbidden:
        hub.closed[CloseReason.ORIGIN] += 1
        raise
    settings = request.app[SETTINGS]
    # Pings are ours (see keepalive), so pongs reach the read loop and pings are answered there. aiohttp
    # refuses a frame of exactly max_msg_size; the contract accepts it, so the limit handed over is one more.
    ws = web.WebSocketResponse(autoping=False, max_msg_size=settings.ws_max_message_size + 1, compress=False)
    await ws.prepare(request)
    transport = request.transport
    assert transport is not None, "a prepared WebSocket has a transport"
    loop = asyncio.get_running_loop()
    connection = Connection(ws, transport, loop.time())
    # Spread first pings over the interval: clients that connect together (after a restart) would
    # otherwise be pinged, and answer, in one burst every interval.
    connection.last_pong_at -= random.random() * settings.ws_ping_interval
    hub.add(connection)
    log.info(
        "ws#%d opened from %s", connection.id, request.remote, extra={"ws": connection.id, "client": request.remote}
    )
    try:
        close = await _serve(request, connection)
        if close is not None and not ws.closed:
            # The hub's close, bounded by its timeout (aiohttp alone would wait 10 s for a peer that never answers).
            await hub.close([connection], close)
    finally:
        hub.remove(connection)
        _log_close(connection, request.remote, loop.time())
    return ws


def _log_close(connection: Connection, client: str | None, now: float) -> None:
    """The connection's one closing line: code, reason, seconds open, messages in, updates out and dropped; the
    client's address among its fields, as at the open."""
    reason = connection.close_reason or CloseReason.CLIENT
    code = connection.close_code if connection.close_code is not None else connection.ws.close_code
    duration = now - connection.opened_at
    log.info(
        "ws#%d closed: code %s (%s), %.1f s, %d messages in, %d updates out, %d dropped",
        connection.id,
        code,
        reason,
        duration,
        connection.received,
        connection.sent,
        connection.dropped,
        extra={
            "ws": connection.id,
            "client": client,
            "code": code,
            "reason": str(reason),
            "duration_s": round(duration, 3),
            "messages_in": connection.received,
            "updates_out": connection.sent,
            "updates_dropped": connection.dropped,
        },
    )


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
            silent = connection.last_message_at + heartbeat <= connection.opened_at + lifespan
            connection.close_reason = CloseReason.HEARTBEAT if silent else CloseReason.LIFESPAN
            return protocol.timed_out(heartbeat, lifespan)
        if message.type is WSMsgType.TEXT:
            connection.last_message_at = loop.time()
            connection.received += 1
            close = await _handle(request, connection, message.data)
            if close is not None:
                connection.close_reason = CloseReason.BAD_FRAME
                return close
        elif message.type is WSMsgType.BINARY:
            connection.close_reason = CloseReason.BAD_FRAME
            return protocol.INVALID_PAYLOAD
        elif message.type is WSMsgType.PONG:
            connection.last_pong_at = loop.time()
            connection.ping_sent_at = None
        elif message.type is WSMsgType.PING:
            await ws.pong(message.data)
        else:  # CLOSE, CLOSING, CLOSED or ERROR (aiohttp has already answered an oversize frame with 1009)
            if isinstance(message.data, WebSocketError) and message.data.code == protocol.MESSAGE_TOO_BIG.code:
                connection.close_reason = CloseReason.BAD_FRAME
                connection.close_code = protocol.MESSAGE_TOO_BIG.code
            return None


async def _handle(request: web.Request, connection: Connection, text: str) -> Close | None:
    try:
        envelope = _envelope.load(orjson.loads(text))
    except (orjson.JSONDecodeError, ValidationError, TypeError):
        return protocol.INVALID_PAYLOAD
    message_type, payload = envelope["type"], envelope["payload"]
    if message_type == protocol.PING:
        # The server's clock: on a replay, the replay's time.
        await connection.ws.send_str(protocol.pong(int(request.app[CLOCK]() * 1000)))
        return None
    if message_type not in (protocol.SUBSCRIBE, protocol.UNSUBSCRIBE):
        return protocol.UNKNOWN_TYPE
    try:
        wanted = _subscription.load(payload)
    except ValidationError:
        return protocol.INVALID_PAYLOAD
    if message_type == protocol.SUBSCRIBE:
        await _subscribe(request, connection, wanted["symbol"], wanted["resolution"], wanted["since"])
    else:
        await _unsubscribe(request, connection, wanted["symbol"], wanted["resolution"])
    return None


def _subscribable(request: web.Request, connection: Connection, symbol: str, resolution: str) -> Topic:
    """The topic a `bars.subscribe` asks for; TopicError when it is unknown, at a resolution its instrument has no
    bars of (as `/bars` says it), not broadcast or over the limit."""
    feed = request.app[FEED]
    topic = protocol.find_topic(feed, symbol, resolution)
    instrument = feed.instrument(topic.symbol)
    unserved = None if instrument is None else instrument.unserved(topic.resolution)
    if unserved is not None:
        raise TopicError(unserved)
    if not request.app[BROADCASTER].broadcasts(topic):
        raise TopicError(f"{topic.name} is not broadcast by this server")
    limit = request.app[SETTINGS].ws_max_subscriptions
    if topic not in connection.topics and len(connection.topics) >= limit:
        raise TopicError(f"Subscription limit reached: at most {limit} topics per connection")
    return topic


async def _subscribe(
    request: web.Request, connection: Connection, symbol: str, resolution: str, since: int | None
) -> None:
    broadcaster = request.app[BROADCASTER]
    try:
        topic = _subscribable(request, connection, symbol, resolution)
        held = topic in connection.topics
        if since is not None and not held:
            await broadcaster.check_since(topic, since, request.remote)
    except TopicError as error:
        await connection.ws.send_str(
            protocol.reply(protocol.SUBSCRIBE_RESPONSE, protocol.refused(symbol, resolution, str(error)))
        )
        return
    await connection.ws.send_str(protocol.reply(protocol.SUBSCRIBE_RESPONSE, protocol.subscribed(topic)))
    if held:  # the client already has this stream; a second one, or a replay inside it, would repeat bars
        return
    hub = request.app[HUB]
    if request.app[BROKER].shared:
        # The stream comes from the broker (maybe from another process): followed first, so that no update made
        # after this process's own view of the topic is missed; the client then goes on from the newest bar it got.
        async with request.app[RELAY].following(topic):
            view = await broadcaster.view(topic, since, request.remote)
            if view is not None:
                hub.deliver(connection, view.frames, asyncio.get_running_loop().time())
            hub.join(connection, topic, view.times[-1] if view is not None else None)
        return
    # The client joins right after receiving the frames that bring it from `since` (or the newest bar)
    # to now, with no wait in between, so it continues the topic's one stream where they end.
    frames = await broadcaster.admit(topic, since, request.remote)
    hub.subscribe(connection, topic)
    if frames:
        hub.deliver(connection, frames, asyncio.get_running_loop().time())


async def _unsubscribe(request: web.Request, connection: Connection, symbol: str, resolution: str) -> None:
    try:
        topic = protocol.find_topic(request.app[FEED], symbol, resolution)
    except TopicError as error:
        await connection.ws.send_str(
            protocol.reply(protocol.UNSUBSCRIBE_RESPONSE, protocol.refused(symbol, resolution, str(error)))
        )
        return
    request.app[HUB].unsubscribe(connection, topic)
    await connection.ws.send_str(protocol.reply(protocol.UNSUBSCRIBE_RESPONSE, protocol.unsubscribed(topic)))

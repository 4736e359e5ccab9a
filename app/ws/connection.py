"""One client's state: its socket, its topics, when it last spoke and answered a ping, how far behind it is."""

from __future__ import annotations

import asyncio
import itertools
import logging

from aiohttp import web

from app.stats import CloseReason
from app.ws.protocol import Topic

log = logging.getLogger(__name__)
_ids = itertools.count(1)


class Connection:
    """A subscribed WebSocket client, written to without awaiting so one client never delays another."""

    __slots__ = (
        "_close_reason",
        "behind_since",
        "close_code",
        "dropped",
        "evicted",
        "id",
        "last_message_at",
        "last_pong_at",
        "opened_at",
        "ping_sent_at",
        "received",
        "sent",
        "topics",
        "transport",
        "ws",
    )

    def __init__(self, ws: web.WebSocketResponse, transport: asyncio.Transport, now: float) -> None:
        self.id = next(_ids)
        self.ws = ws
        self.transport = transport
        self.topics: set[Topic] = set()
        self.opened_at = now
        self.last_message_at = now
        # Protocol pings (see keepalive): when the last pong came, and the ping still unanswered.
        self.last_pong_at = now
        self.ping_sent_at: float | None = None
        self.dropped = 0
        # Monotonic time since which the client's send buffer has been over the limit, if it is.
        self.behind_since: float | None = None
        self.evicted = False
        self._close_reason: CloseReason | None = None
        # The code the server closed it with, if it did (aiohttp's close_code then holds the client's echo).
        self.close_code: int | None = None
        # Text messages read from the client, and bar updates written to it (for the connection log).
        self.received = 0
        self.sent = 0

    @property
    def close_reason(self) -> CloseReason | None:
        """Why the server ends it, once it decided to (None: the client ended it); for metrics and the log."""
        return self._close_reason

    @close_reason.setter
    def close_reason(self, reason: CloseReason) -> None:
        # The first reason stays: what happens while a close waits for the peer (the keepalive sweep cutting off
        # a client that stopped reading, the server stopping) must not rename it.
        if self._close_reason is None:
            self._close_reason = reason

    def deliver(self, frame: bytes, buffer_limit: int, now: float) -> bool | None:
        """Write a pre-built frame unless the client is too far behind: True when written, False when dropped
        (counted in `dropped`), None when the connection is closing (neither: it is going away)."""
        transport = self.transport
        if transport.is_closing():
            return None
        if transport.get_write_buffer_size() > buffer_limit:
            # A bar update supersedes the last one, so a slow client loses only stale states.
            self.dropped += 1
            if self.behind_since is None:
                self.behind_since = now
                log.info("ws#%d is not reading; dropping its updates", self.id)
            return False
        self.behind_since = None
        transport.write(frame)
        self.sent += 1
        return True

"""The periodic sweep over every connection: protocol pings that find dead TCP peers, and slow-client eviction.

aiohttp's own heartbeat schedules a task for every ping of every connection (on Python 3.11); with
ten thousand clients connected at once those pings come in bursts whose garbage stalled the server
for hundreds of milliseconds. Here one sweep writes a two-byte ping frame to each connection that is
due, and drops a peer whose pong has not come back within half the interval. The same sweep closes
clients that have stayed too far behind, whether or not the broadcaster runs.
"""

from __future__ import annotations

import asyncio
import logging

from app.stats import CloseReason
from app.ws.hub import Hub
from app.ws.protocol import TOO_SLOW

log = logging.getLogger(__name__)
PING_FRAME = b"\x89\x00"  # FIN + ping opcode, empty unmasked payload
# Sweeps per ping interval (or slow-client timeout, if shorter): how late a due ping, a missing pong or
# a laggard may be noticed.
SWEEPS_PER_INTERVAL = 4


class Keepalive:
    """Pings every connection each `interval` seconds, cuts off those that do not answer, evicts laggards.

    A client whose updates have been dropped for more than `slow_client_timeout` seconds is closed
    with 1008 (`TOO_SLOW`).
    """

    def __init__(self, hub: Hub, interval: float, slow_client_timeout: float) -> None:
        self._hub = hub
        self.interval = interval
        self.slow_client_timeout = slow_client_timeout
        # Seconds between sweeps.
        self.period = min(interval, slow_client_timeout) / SWEEPS_PER_INTERVAL

    def sweep(self, now: float) -> None:
        """Send the pings that are due; abort peers whose pong is overdue; start evicting laggards."""
        patience = self.interval / 2
        for connection in list(self._hub.connections):
            if connection.close_reason is not None:
                # The server is closing it already, within the hub's close timeout: no ping after the close frame.
                continue
            if connection.ping_sent_at is not None:
                if now - connection.ping_sent_at > patience:
                    log.info("ws#%d did not answer a ping; dropping it", connection.id)
                    connection.close_reason = CloseReason.PING_TIMEOUT
                    connection.transport.abort()
            elif now - connection.last_pong_at >= self.interval:
                connection.transport.write(PING_FRAME)
                connection.ping_sent_at = now
        for connection in self._hub.laggards(now - self.slow_client_timeout):
            log.warning("ws#%d evicted: %d updates unread", connection.id, connection.dropped)
            connection.close_reason = CloseReason.SLOW_CONSUMER
            self._hub.evict(connection, TOO_SLOW)

    async def run(self) -> None:
        """Sweep until cancelled."""
        loop = asyncio.get_running_loop()
        while True:
            self.sweep(loop.time())
            await asyncio.sleep(self.period)

"""Protocol-level pings that find dead TCP peers, without a task per ping.

aiohttp's own heartbeat schedules a task for every ping of every connection (on Python 3.11); with
ten thousand clients connected at once those pings come in bursts whose garbage stalled the server
for hundreds of milliseconds. Here one sweep writes a two-byte ping frame to each connection that is
due, and drops a peer whose pong has not come back within half the interval.
"""

from __future__ import annotations

import asyncio
import logging

from app.ws.hub import Hub

log = logging.getLogger(__name__)
PING_FRAME = b"\x89\x00"  # FIN + ping opcode, empty unmasked payload
# Sweeps per ping interval: how late a due ping or a missing pong may be noticed.
SWEEPS_PER_INTERVAL = 4


class Keepalive:
    """Pings every connection each `interval` seconds and cuts off those that do not answer."""

    def __init__(self, hub: Hub, interval: float) -> None:
        self._hub = hub
        self.interval = interval

    def sweep(self, now: float) -> None:
        """Send the pings that are due; abort peers whose pong is overdue."""
        patience = self.interval / 2
        for connection in list(self._hub.connections):
            if connection.ping_sent_at is not None:
                if now - connection.ping_sent_at > patience:
                    log.info("ws#%d did not answer a ping; dropping it", connection.id)
                    connection.transport.abort()
            elif now - connection.last_pong_at >= self.interval:
                connection.transport.write(PING_FRAME)
                connection.ping_sent_at = now

    async def run(self) -> None:
        """Sweep until cancelled."""
        loop = asyncio.get_running_loop()
        while True:
            self.sweep(loop.time())
            await asyncio.sleep(self.interval / SWEEPS_PER_INTERVAL)

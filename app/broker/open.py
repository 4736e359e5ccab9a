"""The broker that BROKER_URL names."""

from __future__ import annotations

import os
import secrets
import socket

from app.broker.base import Broker, LeadershipListener, UpdateSink
from app.broker.memory import MemoryBroker
from app.settings import MEMORY_BROKER, Settings


def process_id() -> str:
    """This process among all a deployment's, in the lease and the logs: `host:pid:random` (a pid recurs across
    machines and restarts)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


def open_broker(settings: Settings, sink: UpdateSink, on_leadership: LeadershipListener) -> Broker:
    """memory:// (this process alone, always leading) or a Redis broker shared with the deployment's other
    processes. Connects nothing yet: see `Broker.start`."""
    if settings.broker_url == MEMORY_BROKER:
        return MemoryBroker(sink)
    # Imported here: with memory:// (the default) the server never loads redis-py.
    from app.broker.redis_broker import RedisBroker

    return RedisBroker(
        settings.broker_url,
        prefix=settings.broker_prefix,
        lease=settings.broker_lease,
        process_id=process_id(),
        sink=sink,
        on_leadership=on_leadership,
        candidate=settings.bar_broadcaster_enabled,
    )

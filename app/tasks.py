"""Ending background tasks, whatever they were awaiting."""

from __future__ import annotations

import asyncio
from typing import Any


async def finish(task: asyncio.Task[Any]) -> None:
    """Cancel `task` and wait until it ends, cancelling again if it swallowed the cancellation: Python 3.11's
    asyncio.wait_for, with which redis-py sends every command, does when its call completes at that moment."""
    while not task.done():
        task.cancel()
        await asyncio.wait((task,), timeout=0.1)
    if not task.cancelled():
        task.exception()  # retrieved: the caller ended it, whatever it raised meanwhile

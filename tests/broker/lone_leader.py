"""A process that takes the broadcaster's lease and then only keeps it, for a test to kill (SIGKILL: no release).

    python -m tests.broker.lone_leader URL PREFIX LEASE

prints `leading` once it holds the lease.
"""

from __future__ import annotations

import asyncio
import sys

from app.broker.base import Update
from app.broker.redis_broker import RedisBroker


async def main(url: str, prefix: str, lease: float) -> None:
    leading = asyncio.Event()

    async def sink(update: Update) -> None:
        pass

    def on_leadership(now: bool) -> None:
        if now:
            leading.set()

    broker = RedisBroker(url, prefix=prefix, lease=lease, process_id="lone", sink=sink, on_leadership=on_leadership)
    await broker.start()
    await leading.wait()
    print("leading", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], float(sys.argv[3])))

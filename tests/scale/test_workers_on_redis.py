"""`--workers 2` on a Redis broker with ingest on starts (memory:// refuses it: tests/ingest/test_start.py), one
worker leads, and a trade posted to the group is accepted."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiohttp
import pytest

from tests.live_server import HOST, free_port, start
from tests.scale.cluster import SHARED_REDIS, TOOK_OVER, broker_env, health, log_of, metrics, poll
from tests.scale.trades import TOKEN, post, store_with_coin

pytestmark = pytest.mark.timeout(120)


async def test_two_workers_on_redis_with_ingest_start_and_one_leads(
    session: aiohttp.ClientSession, broker_prefix: str, tmp_path: Path
) -> None:
    env = broker_env(SHARED_REDIS, broker_prefix, STORE_URL=store_with_coin(tmp_path), INGEST_TOKEN=TOKEN)
    port = free_port()
    args = ["--host", HOST, "--port", str(port), "--workers", "2"]
    server = await asyncio.to_thread(start, env, port=port, args=args)
    try:
        await asyncio.to_thread(server.wait_for_log, "2 workers listening")

        async def one_leads() -> bool:
            # The gauge sums the workers' (livesum): 1 when exactly one of them leads.
            return (await metrics(session, server))["tradingpro_broker_leader"] == 1

        await poll(one_leads, "one worker leading")
        assert (await health(session, server))["status"] == "ok"
        trade = {"symbol": "COIN", "price": 100.5, "size": 1, "time": int(time.time() * 1000)}
        assert await post(session, server, [trade]) == (200, {"accepted": 1})
        assert len(TOOK_OVER.findall(log_of(server))) == 1
    finally:
        server.stop()
        print(server.final_log)

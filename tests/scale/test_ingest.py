"""Ingest on any process of a deployment: trades posted to the leader and to a follower form one bar stream that the
clients of both get, and a bad trade is refused alike wherever it is posted."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiohttp
import pytest

from tests.scale.cluster import SHARED_REDIS, broker_env, sole_leader
from tests.scale.conftest import Launch
from tests.scale.streams import Stream, time_going_back
from tests.scale.trades import TOKEN, post, store_with_coin

pytestmark = pytest.mark.timeout(120)

TOPIC = "bars:COIN:1"
# Seconds both trades need to fall in one minute, posted one after the other on a loaded machine.
ROOM = 5.0


async def test_trades_posted_to_the_leader_and_a_follower_form_one_stream(
    launch: Launch, session: aiohttp.ClientSession, broker_prefix: str, tmp_path: Path
) -> None:
    env = broker_env(SHARED_REDIS, broker_prefix, STORE_URL=store_with_coin(tmp_path), INGEST_TOKEN=TOKEN)
    servers = await launch([env] * 2)
    leader = await sole_leader(session, servers)
    (follower,) = [server for server in servers if server is not leader]
    streams = [await Stream.open(session, server) for server in servers]
    for stream in streams:
        await stream.subscribe("COIN", "1")
    # Only the wall clock tells when the minute ends: both trades go to the next one if this one is nearly over.
    left = 60 - time.time() % 60
    if left < ROOM:
        await asyncio.sleep(left + 0.1)
    now_ms = int(time.time() * 1000)
    first = {"symbol": "COIN", "price": 100.5, "size": 2, "time": now_ms}
    bar = {"time": now_ms // 60_000 * 60_000, "open": 100.5, "high": 100.5, "low": 100.5, "close": 100.5, "volume": 2}
    assert await post(session, follower, [first]) == (200, {"accepted": 1})
    for stream in streams:
        await stream.wait_bar(TOPIC, bar)
    second = first | {"price": 101.25, "size": 0.5, "time": now_ms + 1}
    assert await post(session, leader, [second]) == (200, {"accepted": 1})
    bar |= {"high": 101.25, "close": 101.25, "volume": 2.5}
    for stream in streams:
        await stream.wait_bar(TOPIC, bar)
    # COIN trades now (its minute has trades): every tick sends its bar.
    posted = time.monotonic()
    for stream in streams:
        await stream.wait_updates(TOPIC, 3, after=posted)
    # Both subscribed before COIN's first trade: each got its whole stream.
    texts = [[frame.text for frame in stream.updates(TOPIC)] for stream in streams]
    shortest = min(len(sequence) for sequence in texts)
    assert texts[1][:shortest] == texts[0][:shortest]
    for stream in streams:
        assert time_going_back(stream.updates(TOPIC)) == []
    # Off COIN's tick grid (cents), and a symbol nobody has: the same 422 from either process.
    off_grid = {"symbol": "COIN", "price": 100.555, "size": 1, "time": now_ms}
    for bad in (off_grid, off_grid | {"symbol": "NOPE"}):
        on_follower, on_leader = await post(session, follower, [bad]), await post(session, leader, [bad])
        assert on_follower[0] == 422
        assert on_follower == on_leader
    for stream in streams:
        await stream.close()

"""Redis failing under a running deployment, on a private redis-server: restarted mid-stream, and dropping a paused
process whose pub/sub output grew past its limit. No process crashes, clients stay connected, updates resume on
every topic, and the gap shows in health, in /metrics, and to a client that resumes with `since`."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.redis_server import RedisServer
from tests.scale.cluster import (
    DEADLINE,
    bar_at,
    broker_env,
    health,
    metrics,
    poll,
    sole_leader,
)
from tests.scale.conftest import Launch
from tests.scale.streams import Stream, time_going_back

pytestmark = pytest.mark.timeout(180)

TOPICS = (("BTCUSD", "1"), ("ETHUSD", "5"))
NAMES = [f"bars:{symbol}:{resolution}" for symbol, resolution in TOPICS]
MINUTE_TOPIC = NAMES[0]
# Redis drops a subscriber holding more than 32 KiB of unsent messages, or more than 16 KiB for a second.
PUBSUB_LIMIT = "pubsub 32kb 16kb 1"
# Instruments open around the clock (crypto) or most of the week (forex), at every resolution: many topics, so that
# a paused subscriber's unsent messages pile up fast.
BUSY_SYMBOLS = ("BTCUSD", "ETHUSD", "EURUSD", "GBPUSD", "USDJPY")
RESOLUTIONS = ("1", "5", "15", "30", "60", "240", "1D", "1W", "1M")
# Topics each of the paused follower's clients holds.
PER_CLIENT = 15
# Seconds between the broadcaster's ticks in that test. Before Redis's output buffer for a subscriber grows at all,
# the kernel holds what the subscriber has not read: its receive buffer (128 KiB) and Redis's send buffer, which
# grows up to net.ipv4.tcp_wmem's maximum (4 MiB here). 45 topics every 20 ms fill them in seconds.
FAST_INTERVAL = 0.02
# Seconds of lease in that test: a process's interest in its topics lasts 3 leases past its last renewal, so the
# leader goes on publishing the paused follower's topics until Redis drops it.
SLOW_LEASE = 10.0


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    """A redis-server of the test's own on a free port, stopped at the end (requested before `launch`, it stops after
    the processes that use it)."""
    with RedisServer() as server:
        yield server


def local_ports(pid: int) -> set[int]:
    """The local TCP ports of process `pid`'s sockets (how Redis's CLIENT LIST tells its connections apart)."""
    inodes = set()
    for descriptor in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(descriptor)
        except FileNotFoundError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    ports = set()
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[9] in inodes:
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def subscriber_ids(server: RedisServer, pid: int) -> set[int]:
    """`server`'s ids of process `pid`'s connections subscribed to some channel or pattern."""
    with server.client() as client:
        listed = client.client_list()
    ports = local_ports(pid)
    return {
        int(entry["id"])
        for entry in listed
        if int(entry["addr"].rsplit(":", 1)[1]) in ports and (int(entry["sub"]) or int(entry["psub"]))
    }


def degraded_by_broker(answer: dict[str, object], port: int) -> bool:
    message = str(answer["message"])
    return (
        answer["status"] == "degraded"
        and f"the broker does not answer: Redis at 127.0.0.1:{port} unreachable since" in message
    )


async def test_redis_restarting_mid_stream_degrades_then_resumes_every_topic(
    redis_server: RedisServer, launch: Launch, session: aiohttp.ClientSession, broker_prefix: str
) -> None:
    servers = await launch([broker_env(redis_server.url, broker_prefix)] * 2)
    await sole_leader(session, servers)
    staying = [await Stream.open(session, server) for server in servers]
    leaving = await Stream.open(session, servers[0])
    for stream in [*staying, leaving]:
        for symbol, resolution in TOPICS:
            await stream.subscribe(symbol, resolution)
        await stream.wait_updates(MINUTE_TOPIC, 3)
    await asyncio.to_thread(redis_server.stop)

    async def all_degraded() -> bool:
        answers = await asyncio.gather(*(health(session, server) for server in servers))
        return all(degraded_by_broker(answer, redis_server.port) for answer in answers)

    await poll(all_degraded, "every process degraded, naming the broker")
    for stream in staying:
        await stream.pong()
    # The client that leaves meanwhile: where it will resume from.
    since = leaving.updates(MINUTE_TOPIC)[-1].time
    await leaving.close()
    await asyncio.to_thread(redis_server.start)
    restarted = time.monotonic()
    for stream in staying:
        for name in NAMES:
            await stream.wait_updates(name, 3, after=restarted, within=DEADLINE)

    async def all_ok() -> bool:
        answers = await asyncio.gather(*(health(session, server) for server in servers))
        return all(answer["status"] == "ok" for answer in answers)

    await poll(all_ok, "every process healthy again")
    for figures in await asyncio.gather(*(metrics(session, server) for server in servers)):
        assert figures["tradingpro_broker_connected"] == 1
        assert figures["tradingpro_broker_reconnects_total"] >= 1
        assert figures["tradingpro_broker_disconnected_seconds_total"] > 0
    await sole_leader(session, servers)
    for stream in staying:
        for name in NAMES:
            assert time_going_back(stream.updates(name)) == []
        await stream.pong()
    # Back with `since`: every bar from there on, closed ones as /bars serves them, then live.
    back = await Stream.open(session, servers[0])
    await back.subscribe(*TOPICS[0], since=since)
    await back.wait_updates(MINUTE_TOPIC, 3)
    frames = back.updates(MINUTE_TOPIC)
    assert frames[0].time == since
    assert time_going_back(frames) == []
    newest = frames[-1].time
    for stamp in range(since, newest, 60_000):
        final = [frame for frame in frames if frame.time == stamp][-1]
        assert final.body["payload"] == await bar_at(session, servers[0], *TOPICS[0], stamp)
    for stream in [*staying, back]:
        await stream.close()


async def test_a_paused_follower_that_redis_drops_resubscribes_and_its_clients_receive_again(
    redis_server: RedisServer, launch: Launch, session: aiohttp.ClientSession, broker_prefix: str
) -> None:
    with redis_server.client() as client:
        client.config_set("client-output-buffer-limit", PUBSUB_LIMIT)
    env = broker_env(
        redis_server.url, broker_prefix, BAR_BROADCASTER_INTERVAL=str(FAST_INTERVAL), BROKER_LEASE=str(SLOW_LEASE)
    )
    servers = await launch([env] * 2)
    leader = await sole_leader(session, servers)
    (follower,) = [server for server in servers if server is not leader]
    topics = [(symbol, resolution) for symbol in BUSY_SYMBOLS for resolution in RESOLUTIONS]
    streams = [await Stream.open(session, follower) for _ in range(0, len(topics), PER_CLIENT)]
    for index, stream in enumerate(streams):
        for symbol, resolution in topics[index * PER_CLIENT : (index + 1) * PER_CLIENT]:
            await stream.subscribe(symbol, resolution)
    for index, stream in enumerate(streams):
        symbol, resolution = topics[index * PER_CLIENT]
        await stream.wait_updates(f"bars:{symbol}:{resolution}", 5)
    (subscriber,) = await asyncio.to_thread(subscriber_ids, redis_server, follower.pid)
    follower.process.send_signal(signal.SIGSTOP)
    stopped = time.monotonic()
    # The topics whose markets are open now (a closed one sends its bar once, not every tick).
    live = [{frame.topic for frame in stream.frames if frame.topic and frame.at > stopped - 1.0} for stream in streams]
    try:

        async def dropped() -> bool:
            return subscriber not in await asyncio.to_thread(subscriber_ids, redis_server, follower.pid)

        await poll(dropped, "Redis dropping the paused follower's subscriber", within=DEADLINE * 2)
        print(f"Redis dropped the paused follower after {time.monotonic() - stopped:.1f} s")
    finally:
        follower.process.send_signal(signal.SIGCONT)
    resumed = time.monotonic()
    for stream, names in zip(streams, live, strict=True):
        for name in names:
            await stream.wait_updates(name, 1, after=resumed + 1.0, within=DEADLINE)
            assert time_going_back(stream.updates(name)) == []
    figures = await metrics(session, follower)
    assert figures["tradingpro_broker_reconnects_total"] >= 1
    assert figures["tradingpro_broker_connected"] == 1
    for stream in streams:
        await stream.close()

"""Three processes on one Redis, exactly one leading: a client of any of them gets the same frames, byte for byte, and
goes on getting them while the broadcaster's lease changes hands, from a leader killed with SIGKILL or paused with
SIGSTOP for longer than its lease and then resumed. Per topic `time` never goes back for any client, a bar that
closed while nobody led arrives with its final values, and what a paused leader would publish after it resumes
reaches nobody (its clients get the new leader's stream, and nobody gets more than one stream's frames)."""

from __future__ import annotations

import asyncio
import math
import signal
import time
from collections.abc import Sequence

import aiohttp
import pytest

from tests.live_server import LiveServer
from tests.scale.cluster import (
    DEADLINE,
    INTERVAL,
    LEASE,
    LOST,
    SHARED_REDIS,
    bar_at,
    broker_env,
    count_keys,
    leaders,
    metrics,
    sole_leader,
    tokens,
)
from tests.scale.conftest import Launch
from tests.scale.streams import Stream, common_runs, time_going_back

pytestmark = pytest.mark.timeout(180)

MINUTE = ("BTCUSD", "1")
TOPICS = (MINUTE, ("ETHUSD", "5"))
NAMES = [f"bars:{symbol}:{resolution}" for symbol, resolution in TOPICS]
MINUTE_TOPIC = NAMES[0]
# The lease lapses at most LEASE after the owner's last renewal; contenders try every LEASE / 3; then one tick.
TAKEOVER_BOUND = LEASE + LEASE / 3 + INTERVAL
# What a loaded two-core machine may add to it (seconds).
SLACK = 2.0
# Seconds before a minute's end at which the leader is killed: less than the earliest possible takeover (2/3 of the
# lease after the last renewal), so the minute's bar closes while nobody broadcasts.
KILL_AHEAD = 0.3
# Seconds the streams need before the kill (subscribed, several ticks received).
SETTLE = 3.0
# Seconds watched after the paused leader resumes.
WINDOW = 3.0
# Frames compared per topic between clients (a tick every INTERVAL).
COMPARED = 10


async def subscribed(session: aiohttp.ClientSession, servers: Sequence[LiveServer]) -> list[Stream]:
    """A client of each server, subscribed to TOPICS."""
    streams = []
    for server in servers:
        stream = await Stream.open(session, server)
        for symbol, resolution in TOPICS:
            await stream.subscribe(symbol, resolution)
        streams.append(stream)
    return streams


def next_minute_end(settle: float) -> int:
    """The next whole minute (UTC seconds) at least `settle` seconds away."""
    return math.ceil((time.time() + settle) / 60) * 60


async def test_clients_of_three_processes_get_the_same_frames_and_a_killed_leader_is_replaced(
    launch: Launch, session: aiohttp.ClientSession, broker_prefix: str
) -> None:
    servers = await launch([broker_env(SHARED_REDIS, broker_prefix)] * 3)
    old = await sole_leader(session, servers)
    survivors = [server for server in servers if server is not old]
    streams = await subscribed(session, servers)
    joined = time.monotonic()
    watching = [stream for stream in streams if stream.server is not old]
    for name in NAMES:
        runs = await common_runs(streams, name, COMPARED, after=joined, within=DEADLINE)
        assert runs[1:] == [runs[0]] * 2
    # Every process, the leader too, got its clients' updates through Redis; the keys lie under the prefix.
    for figures in await asyncio.gather(*(metrics(session, server) for server in servers)):
        assert figures["tradingpro_broker_connected"] == 1
        assert figures["tradingpro_broker_updates_received_total"] >= COMPARED
    assert count_keys(SHARED_REDIS, broker_prefix) >= 1
    assert await leaders(session, servers) == [old]
    minute_end = next_minute_end(SETTLE)
    # Only the wall clock tells when the minute ends.
    await asyncio.sleep(minute_end - KILL_AHEAD - time.time())
    old.process.kill()
    killed = time.monotonic()
    assert time.time() < minute_end, "killed after the minute's end: this machine is too slow for the test"
    await asyncio.to_thread(old.process.wait, 10)
    closed_ms, opened_ms = (minute_end - 60) * 1000, minute_end * 1000
    for stream in watching:
        await stream.wait_time(MINUTE_TOPIC, opened_ms, after=killed, within=DEADLINE)
    # The old leader's last frames were sent before the kill: later than a tick after it, a frame is the new leader's.
    first_new = min(
        frame.at for stream in watching for frame in stream.frames if frame.topic and frame.at > killed + INTERVAL
    )
    takeover = first_new - killed
    print(f"takeover: {takeover:.3f} s from the kill to a client's first update from the new leader")
    assert takeover < TAKEOVER_BOUND + SLACK
    new = await sole_leader(session, survivors)
    assert tokens(new)[-1] > tokens(old)[-1]
    assert (await metrics(session, new))["tradingpro_broker_leaderships_total"] == 1
    # The minute that closed while nobody led reaches every client with its final values, as /bars serves them.
    final = await bar_at(session, new, *MINUTE, closed_ms)
    for stream in watching:
        last = [frame for frame in stream.updates(MINUTE_TOPIC) if frame.time == closed_ms][-1]
        assert last.body["payload"] == final
        print(f"closed bar's final frame arrived {last.at - killed:+.3f} s after the kill")
    for name in NAMES:
        # Both survivors' clients keep receiving, the same frames.
        runs = await common_runs(watching, name, COMPARED, after=first_new, within=DEADLINE)
        assert runs[1] == runs[0]
        for stream in streams:
            assert time_going_back(stream.updates(name)) == []


async def test_a_paused_leader_that_resumes_publishes_nothing_any_client_gets(
    launch: Launch, session: aiohttp.ClientSession, broker_prefix: str
) -> None:
    servers = await launch([broker_env(SHARED_REDIS, broker_prefix)] * 3)
    paused = await sole_leader(session, servers)
    others = [server for server in servers if server is not paused]
    streams = await subscribed(session, servers)
    for stream in streams:
        await stream.wait_updates(MINUTE_TOPIC, 3)
    paused.process.send_signal(signal.SIGSTOP)
    stopped = time.monotonic()
    new = await sole_leader(session, others, within=TAKEOVER_BOUND + DEADLINE)
    took_over = time.monotonic()
    for stream in streams:
        if stream.server is not paused:
            await stream.wait_updates(MINUTE_TOPIC, 3, after=took_over)
    assert time.monotonic() - stopped > LEASE
    paused.process.send_signal(signal.SIGCONT)
    resumed = time.monotonic()
    await asyncio.to_thread(paused.wait_for_log, LOST, DEADLINE)
    assert (await metrics(session, paused))["tradingpro_broker_leader"] == 0
    assert await leaders(session, servers) == [new]
    assert tokens(new)[-1] > tokens(paused)[-1]
    for stream in streams:
        for name in NAMES:
            await stream.wait_updates(name, 1, after=resumed + WINDOW, within=WINDOW + DEADLINE)
    refused = (await metrics(session, paused))["tradingpro_broker_publishes_refused_total"]
    print(f"publishes refused by the fencing check on the resumed process: {refused:.0f}")
    for name in NAMES:
        # The resumed process's clients get the new leader's stream, once what queued up meanwhile is through.
        runs = await common_runs(streams, name, COMPARED, after=resumed + 1.0, within=DEADLINE)
        assert runs[1:] == [runs[0]] * (len(runs) - 1)
        for stream in streams:
            assert time_going_back(stream.updates(name)) == []
        for stream in streams:
            if stream.server is not paused:
                # One publisher ticks every INTERVAL (sending each bar whether it changed or not): a second one would
                # double the frames. (The resumed process's own clients get a burst: what queued up while it slept.)
                late = [frame for frame in stream.updates(name, after=resumed) if frame.at <= resumed + WINDOW]
                assert len(late) <= WINDOW / INTERVAL * 1.5 + 2

"""Who runs the broadcaster: exactly one process, another within lease + lease/3 when it dies (at once when it stops),
with tokens that only grow, and a leader that lost its lease never gets a publish through."""

from __future__ import annotations

import asyncio
import signal
import sys

import redis

from tests.broker.conftest import MakeNode
from tests.broker.nodes import LEASE, Node, until, update

# Seconds a busy two-core machine may add to any deadline of the election.
SLACK = 1.5


def token_in(url: str, prefix: str) -> int:
    """The token of the lease Redis holds now (0: none)."""
    with redis.Redis.from_url(url) as client:
        value = client.get(f"{prefix}:broadcaster")
    return int(value.split()[0]) if value else 0


async def one_leader(nodes: list[Node]) -> Node:
    await until(lambda: sum(node.broker.leading for node in nodes) == 1, "one leader")
    return next(node for node in nodes if node.broker.leading)


async def test_exactly_one_leads(make_node: MakeNode) -> None:
    nodes = [await make_node() for _ in range(3)]
    leader = await one_leader(nodes)
    # Several renewals later: still that one, and the others never led.
    await asyncio.sleep(2 * LEASE)
    assert [node.broker.leading for node in nodes] == [node is leader for node in nodes]
    assert [node.leadership for node in nodes] == [[True] if node is leader else [] for node in nodes]
    assert [node.broker.stats().leaderships for node in nodes] == [int(node is leader) for node in nodes]


async def test_stopped_leader_replaced_at_once(make_node: MakeNode, redis_url: str, prefix: str) -> None:
    first = await make_node()
    await until(lambda: first.broker.leading, "the first leads")
    second = await make_node()
    await until(lambda: second.broker.stats().connected, "the second connected")
    before = token_in(redis_url, prefix)
    await first.broker.stop()
    assert first.leadership == [True, False]
    took = await until(lambda: second.broker.leading, "the second took over")
    print(f"takeover after a release: {took * 1000:.0f} ms")
    # Told by the release, not by its next try a lease/3 later (nor by the lease running out).
    assert took < LEASE / 3
    assert token_in(redis_url, prefix) > before


async def test_dead_leader_replaced_within_lease_and_a_third(make_node: MakeNode, redis_url: str, prefix: str) -> None:
    command = [sys.executable, "-m", "tests.broker.lone_leader", redis_url, prefix, str(LEASE)]
    process = await asyncio.create_subprocess_exec(*command, stdout=asyncio.subprocess.PIPE)
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 30)
        assert line == b"leading\n"
        follower = await make_node()
        await until(lambda: follower.broker.stats().connected, "the follower connected")
        dead_token = token_in(redis_url, prefix)
        process.send_signal(signal.SIGKILL)
        await process.wait()
        took = await until(lambda: follower.broker.leading, "the follower took over")
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    print(f"takeover after a leader died: {took * 1000:.0f} ms")
    assert took < LEASE + LEASE / 3 + SLACK
    assert token_in(redis_url, prefix) > dead_token


async def test_tokens_only_grow(make_node: MakeNode, redis_url: str, prefix: str) -> None:
    tokens = []
    nodes = [await make_node() for _ in range(2)]
    for round_ in range(4):
        leader = await one_leader(nodes)
        tokens.append(token_in(redis_url, prefix))
        await leader.broker.stop()
        nodes = [node for node in nodes if node is not leader] + [await make_node(name=f"round {round_}")]
    assert tokens == sorted(set(tokens)), tokens
    assert len(tokens) == 4


async def test_leader_whose_lease_was_taken_publishes_nothing(make_node: MakeNode, redis_url: str, prefix: str) -> None:
    # The old leader renews only every 20 s: it does not notice before it publishes.
    old = await make_node(lease=60.0, name="old")
    await until(lambda: old.broker.leading, "the old one leads")
    new = await make_node(name="new")
    for node in (old, new):
        await node.broker.follow("bars:AAPL:1")
    # Its lease runs out (as if it had been paused), and the other takes over.
    with redis.Redis.from_url(redis_url) as client:
        client.pexpire(f"{prefix}:broadcaster", 1)
    await until(lambda: new.broker.leading, "the new one took over")
    assert old.broker.stats().leading
    assert await old.broker.publish([update("bars:AAPL:1", 1)]) is False
    assert not old.broker.leading
    assert old.leadership == [True, False]
    assert old.broker.stats().publishes_refused == 1
    # What the new leader publishes arrives, and nothing before it.
    assert await new.broker.publish([update("bars:AAPL:1", 2)]) is True
    await until(lambda: len(old.received) == len(new.received) == 1, "the new leader's update")
    assert [u.times for u in old.received + new.received] == [(2,), (2,)]
    with redis.Redis.from_url(redis_url) as client:
        assert client.hgetall(f"{prefix}:sent") == {b"bars:AAPL:1": b"2"}


async def test_a_process_whose_broadcaster_is_off_never_leads_but_receives(make_node: MakeNode) -> None:
    relay_only = await make_node(candidate=False)
    await relay_only.broker.follow("bars:AAPL:1")
    candidate = await make_node()
    await one_leader([relay_only, candidate])
    assert await candidate.broker.publish([update("bars:AAPL:1", 1_000)])
    await until(lambda: relay_only.topics() == ["bars:AAPL:1"], "the update relayed")
    await candidate.broker.stop()
    # A lease released is taken within moments by any candidate: this one stays a relay.
    await asyncio.sleep(LEASE)
    assert not relay_only.broker.leading
    assert relay_only.leadership == []

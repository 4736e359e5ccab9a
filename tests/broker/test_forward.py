"""Ingest forwarded through Redis to the process running the bar broadcaster: trades arrive bit for bit, the outcome
(count, refusals, unavailability, failure) comes back as the leader's ingest gave it, requests are served one at a
time in arrival order by whichever process leads, one nobody served in time is never applied later, and a Redis that
does not answer gives 503s naming it (never its password)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import numpy as np
import pytest
import redis

from app.broker.forward import IngestForwarding
from app.broker.forward_wire import ApplyFailedError, decode_request
from app.market.feed import FeedUnavailableError
from app.market.trades import Posted, RefusedTradesError
from tests.redis_server import RedisServer, free_port

TIMEOUT = 0.6
# Generous bounds for waits that end on an event (two cores shared with other test runs).
WAIT = 10.0


class Flag:
    """Whether a process leads, as the test says."""

    def __init__(self, on: bool) -> None:
        self.on = on

    def __call__(self) -> bool:
        return self.on


class Recorder:
    """An `apply` that records each batch, then waits for `gate` (when set) and answers `answer` (an exception to
    raise) or the batch's size."""

    def __init__(self) -> None:
        self.got: list[Posted] = []
        self.answer: Exception | None = None
        self.gate: asyncio.Event | None = None
        self.entered = asyncio.Event()
        self.running = 0
        self.most_running = 0

    async def __call__(self, posted: Posted) -> int:
        self.got.append(posted)
        self.entered.set()
        self.running += 1
        self.most_running = max(self.most_running, self.running)
        try:
            if self.gate is not None:
                await self.gate.wait()
            if self.answer is not None:
                raise self.answer
            return len(posted)
        finally:
            self.running -= 1


class Node:
    """One process's forwarding: its leadership flag and its ingest's recorder."""

    def __init__(self, forwarding: IngestForwarding, flag: Flag, recorder: Recorder) -> None:
        self.forwarding = forwarding
        self.flag = flag
        self.recorder = recorder

    def lead(self, leading: bool) -> None:
        self.flag.on = leading
        self.forwarding.leadership_changed(leading)


MakeNode = Callable[..., Awaitable[Node]]


@pytest.fixture
async def make_node(redis_url: str, prefix: str) -> AsyncIterator[MakeNode]:
    """Started forwardings on `prefix` (another URL when given), stopped at the end."""
    nodes: list[Node] = []

    async def make(leading: bool, *, url: str = redis_url, patience: float = TIMEOUT) -> Node:
        flag, recorder = Flag(leading), Recorder()
        name = f"process-{len(nodes)}"
        forwarding = IngestForwarding(
            url, prefix=prefix, process_id=name, leading=flag, apply=recorder, timeout=patience
        )
        node = Node(forwarding, flag, recorder)
        nodes.append(node)
        await forwarding.start()
        return node

    yield make
    for node in nodes:
        await node.forwarding.stop()


def batch(count: int, seed: int = 0) -> Posted:
    """`count` trades of awkward numbers: prices and sizes with no short decimal form, tiny and huge, times across
    int64 (UTC ms)."""
    rng = np.random.default_rng(seed)
    symbols = [f"SYM{i % 7}" if i % 3 else "btc-usd" for i in range(count)]
    prices = rng.random(count) * 10.0 ** rng.integers(-8, 14, count)
    prices[:2] = [0.1 + 0.2, 90_071_992_547_409.92][:count]
    sizes = rng.random(count) * 1e6
    times = rng.integers(-(2**62), 2**62, count, dtype=np.int64)
    return Posted(symbols, prices, sizes, times)


def same(got: Posted, sent: Posted) -> bool:
    """Whether `got` holds exactly `sent`'s trades, bit for bit."""
    return (
        list(got.symbols) == list(sent.symbols)
        and got.prices.dtype == got.sizes.dtype == np.float64
        and got.times.dtype == np.int64
        and np.array_equal(got.prices.view(np.int64), sent.prices.view(np.int64))
        and np.array_equal(got.sizes.view(np.int64), sent.sizes.view(np.int64))
        and np.array_equal(got.times, sent.times)
    )


def queued(redis_url: str, prefix: str) -> list[str]:
    """The ids of the requests waiting on the list, first first."""
    with redis.Redis.from_url(redis_url) as client:
        return [decode_request(data).id for data in client.lrange(f"{prefix}:ingest", 0, -1)]


async def until(condition: Callable[[], bool], what: str) -> None:
    """Return once `condition()` holds (looked at every 10 ms); AssertionError naming `what` after WAIT seconds."""
    loop = asyncio.get_running_loop()
    give_up = loop.time() + WAIT
    while not condition():
        if loop.time() > give_up:
            raise AssertionError(f"not within {WAIT:g} s: {what}")
        await asyncio.sleep(0.01)


async def test_forwarded_trades_arrive_bit_for_bit_and_the_count_comes_back(make_node: MakeNode) -> None:
    leader, follower = await make_node(True), await make_node(False)
    sent = batch(1000)
    assert await follower.forwarding.apply(sent) == 1000
    (got,) = leader.recorder.got
    assert same(got, sent)
    assert follower.recorder.got == []


async def test_the_leader_applies_what_is_posted_to_it_itself(make_node: MakeNode) -> None:
    leader = await make_node(True)
    sent = batch(3)
    assert await leader.forwarding.apply(sent) == 3
    (got,) = leader.recorder.got
    assert got is sent


async def test_refused_trades_come_back_with_the_same_problems(make_node: MakeNode) -> None:
    leader, follower = await make_node(True), await make_node(False)
    problems = {3: {"price": "100.005 is not on the tick grid"}, 12: {"symbol": "Unknown symbol X", "time": "older"}}
    leader.recorder.answer = RefusedTradesError(problems, 20)
    with pytest.raises(RefusedTradesError) as refused:
        await follower.forwarding.apply(batch(20))
    assert (refused.value.problems, refused.value.count) == (problems, 20)
    assert str(refused.value) == "2 of 20 trades refused"


async def test_an_unavailable_store_comes_back_as_such(make_node: MakeNode) -> None:
    leader, follower = await make_node(True), await make_node(False)
    leader.recorder.answer = FeedUnavailableError("store", "PostgreSQL connection refused")
    with pytest.raises(FeedUnavailableError) as unavailable:
        await follower.forwarding.apply(batch(2))
    assert (unavailable.value.component, unavailable.value.reason) == ("store", "PostgreSQL connection refused")
    assert str(unavailable.value) == "The store does not answer: PostgreSQL connection refused"


async def test_a_failure_of_the_leader_comes_back_as_a_failure(
    make_node: MakeNode, caplog: pytest.LogCaptureFixture
) -> None:
    leader, follower = await make_node(True), await make_node(False)
    leader.recorder.answer = RuntimeError("a bug")
    with pytest.raises(ApplyFailedError):
        await follower.forwarding.apply(batch(2))
    assert "applying 2 trades forwarded by" in caplog.text
    # The leader serves the next request as ever.
    leader.recorder.answer = None
    assert await follower.forwarding.apply(batch(4)) == 4


async def test_without_a_leader_the_sender_answers_503_and_the_request_is_never_applied(
    make_node: MakeNode, redis_url: str, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    follower = await make_node(False)
    loop = asyncio.get_running_loop()
    began = loop.time()
    with pytest.raises(FeedUnavailableError) as unavailable:
        await follower.forwarding.apply(batch(5))
    assert loop.time() - began >= TIMEOUT
    assert str(unavailable.value) == "The bar broadcaster does not answer: no process running it answered within 0.6 s"
    assert len(queued(redis_url, prefix)) == 1
    # Were no leader ever to come, the list would go once every request in it is past its deadline.
    with redis.Redis.from_url(redis_url) as client:
        assert 0 < client.pttl(f"{prefix}:ingest") <= 2 * TIMEOUT * 1000
    # A leader appears: it drops the request its sender gave up on, and serves the next one.
    leader = await make_node(True)
    assert await follower.forwarding.apply(batch(7)) == 7
    assert [len(posted) for posted in leader.recorder.got] == [7]
    assert "dropped 5 trades forwarded by" in caplog.text
    assert queued(redis_url, prefix) == []


async def test_requests_are_applied_one_at_a_time_in_arrival_order(
    make_node: MakeNode, redis_url: str, prefix: str
) -> None:
    leader, follower = await make_node(True, patience=WAIT), await make_node(False, patience=WAIT)
    leader.recorder.gate = asyncio.Event()
    # Sizes 1 to 12: each sender must get its own request's count.
    sending = [asyncio.create_task(follower.forwarding.apply(batch(size, seed=size))) for size in range(1, 13)]
    await until(lambda: len(leader.recorder.got) == 1 and len(queued(redis_url, prefix)) == 11, "1 applying, 11 queued")
    first = len(leader.recorder.got[0])
    with redis.Redis.from_url(redis_url) as client:
        sizes = [len(decode_request(data).posted) for data in client.lrange(f"{prefix}:ingest", 0, -1)]
    leader.recorder.gate.set()
    assert await asyncio.gather(*sending) == list(range(1, 13))
    assert [len(posted) for posted in leader.recorder.got] == [first, *sizes]
    assert leader.recorder.most_running == 1


async def test_a_new_leader_serves_the_requests_left_waiting(make_node: MakeNode, redis_url: str, prefix: str) -> None:
    old, new = await make_node(True, patience=WAIT), await make_node(False, patience=WAIT)
    follower = await make_node(False, patience=WAIT)
    old.recorder.gate = asyncio.Event()
    sending = [asyncio.create_task(follower.forwarding.apply(batch(size, seed=size))) for size in (1, 2, 3)]
    await until(lambda: len(old.recorder.got) == 1 and len(queued(redis_url, prefix)) == 2, "1 applying, 2 queued")
    # The old leader loses the lease while applying; the new one takes over what waits.
    old.lead(False)
    new.lead(True)
    await until(lambda: len(new.recorder.got) == 2, "the new leader applied the 2 queued")
    old.recorder.gate.set()
    assert sorted(await asyncio.gather(*sending)) == [1, 2, 3]
    assert len(old.recorder.got) == 1
    assert sorted(len(posted) for posted in old.recorder.got + new.recorder.got) == [1, 2, 3]
    # A request posted to the old leader now goes to the new one.
    assert await old.forwarding.apply(batch(4)) == 4
    assert [len(posted) for posted in new.recorder.got][-1] == 4
    assert len(old.recorder.got) == 1


async def test_a_request_popped_by_a_process_that_just_stopped_leading_goes_to_the_next_leader(
    make_node: MakeNode,
) -> None:
    old, new, follower = await make_node(True), await make_node(False), await make_node(False)
    # A first request: the old leader's loop is serving (then waits on the list again).
    assert await follower.forwarding.apply(batch(1)) == 1
    # Not told yet: it is waiting on the list, up to a second, and pops what comes.
    old.flag.on = False
    new.lead(True)
    assert await follower.forwarding.apply(batch(2)) == 2
    assert [len(posted) for posted in old.recorder.got] == [1]
    assert [len(posted) for posted in new.recorder.got] == [2]


async def test_stopping_fails_the_requests_waiting(make_node: MakeNode, redis_url: str, prefix: str) -> None:
    follower = await make_node(False, patience=WAIT)
    sending = asyncio.create_task(follower.forwarding.apply(batch(1)))
    await until(lambda: len(queued(redis_url, prefix)) == 1, "the request queued")
    await follower.forwarding.stop()
    with pytest.raises(FeedUnavailableError, match="this server is stopping"):
        await sending
    # Stopped twice: nothing more happens.
    await follower.forwarding.stop()


async def test_an_unreachable_redis_is_named_without_its_password(make_node: MakeNode) -> None:
    port = free_port()
    follower = await make_node(False, url=f"redis://:secret-word@127.0.0.1:{port}/0")
    expected = f"The broker does not answer: Redis at 127.0.0.1:{port} does not answer"
    for _ in range(2):
        with pytest.raises(FeedUnavailableError) as unavailable:
            await follower.forwarding.apply(batch(1))
        assert str(unavailable.value) == expected


async def test_forwarding_goes_on_after_redis_restarts(
    make_node: MakeNode, private_redis: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    leader = await make_node(True, url=private_redis.url)
    follower = await make_node(False, url=private_redis.url)
    assert await follower.forwarding.apply(batch(1)) == 1
    private_redis.stop()
    with pytest.raises(FeedUnavailableError, match="does not answer"):
        await follower.forwarding.apply(batch(2))
    private_redis.start()
    # Both sides reconnect by themselves (backoff up to two seconds).
    async with asyncio.timeout(WAIT):
        while True:
            try:
                assert await follower.forwarding.apply(batch(3)) == 3
                break
            except FeedUnavailableError:
                await asyncio.sleep(0.1)
    assert [len(posted) for posted in leader.recorder.got] == [1, 3]
    # Once per process, however many attempts it took.
    assert caplog.text.count("unreachable") == 2

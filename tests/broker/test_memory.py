"""memory:// : every update straight to the sink, in order; always leading, never cut off."""

from __future__ import annotations

from app.broker.base import Update
from app.broker.memory import MemoryBroker
from app.settings import MEMORY_BROKER
from app.stats import BrokerStats
from tests.broker.nodes import update


async def test_publish_awaits_the_sink_in_order() -> None:
    received: list[Update] = []

    async def sink(got: Update) -> None:
        received.append(got)

    broker = MemoryBroker(sink)
    await broker.start()
    sent = [update("bars:AAPL:1", 1), update("bars:MSFT:1", 2), update("bars:AAPL:1", 3)]
    assert await broker.publish(sent) is True
    assert received == sent
    assert broker.stats() == BrokerStats(MEMORY_BROKER, True, True, 0, 0, 0.0, 3, 0)
    await broker.stop()


async def test_alone() -> None:
    async def sink(got: Update) -> None:
        raise AssertionError("nothing was published")

    broker = MemoryBroker(sink)
    await broker.follow("bars:AAPL:1")
    await broker.unfollow("bars:AAPL:1")
    assert (broker.name, broker.leading, broker.shared, broker.problem()) == ("broker", True, False, None)
    assert await broker.watched({"bars:AAPL:1"}) == {"bars:AAPL:1"}
    assert await broker.last_times() == {}
    assert await broker.publish([]) is True

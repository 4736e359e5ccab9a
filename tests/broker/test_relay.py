"""The relay asks the broker for the topics this process's clients follow: a topic stays followed while a newcomer
is being joined, whenever the relay's sweep runs."""

from __future__ import annotations

from app.market.resolutions import Resolution
from app.ws.hub import Hub
from app.ws.protocol import Topic
from app.ws.relay import Relay
from tests.broker.conftest import MakeNode
from tests.broker.nodes import until, update
from tests.ws import served

AAPL_1 = Topic("AAPL", Resolution.M1)


async def test_a_sweep_while_a_newcomer_is_being_joined_keeps_its_topic(make_node: MakeNode) -> None:
    node = await make_node()
    await until(lambda: node.broker.leading, "the only process leads")
    hub = Hub(1 << 20)
    relay = Relay(hub, node.broker)
    async with served() as [(connection, _)]:
        hub.add(connection)
        async with relay.following(AAPL_1):
            # The newcomer's first frames are being made: not in the hub yet, and the sweep runs meanwhile.
            await relay.sweep()
            hub.join(connection, AAPL_1, None)
        await relay.sweep()
        assert await node.broker.publish([update(AAPL_1.name, 1_000)])
        await until(lambda: node.topics() == [AAPL_1.name], "the update of the joined topic arrives")
        hub.remove(connection)
        await relay.sweep()
        assert await node.broker.publish([update(AAPL_1.name, 2_000)])
        # The leader's own updates of a followed topic come back in order: a marker topic proves the first is gone.
        await relay.sweep()
        marker = Topic("MSFT", Resolution.M1)
        async with relay.following(marker):
            pass
        assert await node.broker.publish([update(marker.name, 3_000)])
        await until(lambda: node.topics()[-1] == marker.name, "the marker arrives")
        assert node.topics() == [AAPL_1.name, marker.name], "a topic nobody here follows is let go by a sweep"

"""The keepalive sweep over real sockets, with time passed in: pings when due, dead peers cut off, laggards evicted."""

from __future__ import annotations

import pytest

from app.ws.hub import Hub
from app.ws.keepalive import Keepalive
from app.ws.protocol import TOO_SLOW
from tests.ws import MARKER, OP_CLOSE, OP_PING, OP_TEXT, SMALL_BUFFER, Frame, behind, served

INTERVAL = 20.0
SLOW_CLIENT_TIMEOUT = 10.0


async def test_a_ping_is_written_when_one_is_due_and_not_before() -> None:
    hub = Hub(1 << 20)
    keepalive = Keepalive(hub, INTERVAL, SLOW_CLIENT_TIMEOUT)
    async with served() as [(connection, peer)]:
        hub.add(connection)
        connection.last_pong_at = 100.0
        keepalive.sweep(119.9)
        early = connection.ping_sent_at
        keepalive.sweep(120.0)
        assert (early, connection.ping_sent_at) == (None, 120.0)
        keepalive.sweep(125.0)  # the ping is out: no second one while it is unanswered
        hub.deliver(connection, MARKER, 125.0)
        assert await peer.frame() == Frame(OP_PING, b"")
        assert await peer.frame() == Frame(OP_TEXT, b"marker"), "one ping, then nothing but what we sent"


async def test_a_peer_whose_pong_is_overdue_is_cut_off_and_one_that_answered_is_not() -> None:
    hub = Hub(1 << 20)
    keepalive = Keepalive(hub, INTERVAL, SLOW_CLIENT_TIMEOUT)
    async with served(2) as [(silent, silent_peer), (answering, answering_peer)]:
        for connection in (silent, answering):
            hub.add(connection)
            connection.last_pong_at = 100.0
        keepalive.sweep(120.0)
        # What the handler does when a pong comes back.
        answering.last_pong_at, answering.ping_sent_at = 121.0, None
        keepalive.sweep(130.0)  # half the interval: still patient
        assert not silent.transport.is_closing()
        keepalive.sweep(130.1)
        assert silent.transport.is_closing()
        assert not answering.transport.is_closing()
        assert await silent_peer.frame() == Frame(OP_PING, b"")
        assert await silent_peer.cut_off()
        assert await answering_peer.frame() == Frame(OP_PING, b"")


async def test_a_client_behind_for_longer_than_the_timeout_is_evicted_with_1008_and_its_reason() -> None:
    hub = Hub(SMALL_BUFFER)
    keepalive = Keepalive(hub, INTERVAL, SLOW_CLIENT_TIMEOUT)
    async with behind(hub, since=101.0) as (connection, peer):
        connection.last_pong_at = 1e9  # no ping is due during this test
        keepalive.sweep(101.0 + SLOW_CLIENT_TIMEOUT)
        at_the_timeout = connection.evicted
        keepalive.sweep(101.1 + SLOW_CLIENT_TIMEOUT)
        assert (at_the_timeout, connection.evicted) == (False, True), "evicted only once behind for longer"
        assert len((await peer.frame()).payload) == 1 << 20
        reason = TOO_SLOW.reason.encode()
        assert await peer.frame() == Frame(OP_CLOSE, (1008).to_bytes(2, "big") + reason)


async def test_a_client_that_caught_up_in_time_is_not_evicted() -> None:
    hub = Hub(SMALL_BUFFER)
    keepalive = Keepalive(hub, INTERVAL, SLOW_CLIENT_TIMEOUT)
    async with behind(hub, since=101.0) as (connection, peer):
        connection.last_pong_at = 1e9
        assert len((await peer.frame()).payload) == 1 << 20
        hub.deliver(connection, MARKER, now=105.0)
        keepalive.sweep(200.0)
        assert not connection.evicted
        assert await peer.frame() == Frame(OP_TEXT, b"marker")


@pytest.mark.parametrize(("interval", "timeout", "period"), [(20.0, 10.0, 2.5), (0.2, 10.0, 0.05), (20.0, 40.0, 5.0)])
def test_the_sweep_runs_often_enough_for_the_shorter_of_ping_interval_and_slow_client_timeout(
    interval: float, timeout: float, period: float
) -> None:
    assert Keepalive(Hub(1), interval, timeout).period == period

"""One connection's buffer rule, over a real socket: write while little waits, drop while too much does."""

from __future__ import annotations

from app.ws.connection import Connection
from app.ws.protocol import text_frame
from tests.ws import BIG, OP_TEXT, SMALL, SMALL_BUFFER, Peer, served


def behind(connection: Connection) -> tuple[float | None, int]:
    """Since when the connection has been behind, and how many frames it has missed."""
    return connection.behind_since, connection.dropped


def fall_behind(connection: Connection, limit: int, now: float) -> None:
    """Make `connection` hold more than `limit` bytes unsent, for real: a frame its peer does not read."""
    assert connection.deliver(BIG, limit, now), "a frame is written while nothing waits"
    assert connection.transport.get_write_buffer_size() > limit


async def catch_up(peer: Peer) -> None:
    """The peer reads the big frame; the server's buffer then holds nothing."""
    frame = await peer.frame()
    assert (frame.opcode, len(frame.payload)) == (OP_TEXT, 1 << 20)


async def test_frames_are_written_while_no_more_than_the_limit_waits() -> None:
    async with served() as [(connection, peer)]:
        for n in range(3):
            assert connection.deliver(text_frame(b'{"n":%d}' % n), 1024, 10.0)
        assert [(await peer.frame()).payload for _ in range(3)] == [b'{"n":0}', b'{"n":1}', b'{"n":2}']
        assert behind(connection) == (None, 0)


async def test_a_frame_is_dropped_while_more_than_the_limit_waits() -> None:
    limit = SMALL_BUFFER
    async with served(small_buffers=True) as [(connection, peer)]:
        fall_behind(connection, limit, now=10.0)
        waiting = connection.transport.get_write_buffer_size()
        assert not connection.deliver(SMALL, limit, now=11.0)
        assert not connection.deliver(SMALL, limit, now=12.0)
        assert connection.dropped == 2
        assert connection.transport.get_write_buffer_size() == waiting, "a dropped frame is not queued"
        await catch_up(peer)
        assert connection.deliver(text_frame(b'{"n":2}'), limit, now=13.0)
        assert (await peer.frame()).payload == b'{"n":2}', "the dropped frames never arrive"


async def test_the_limit_is_what_may_wait_a_frame_goes_out_at_exactly_the_limit() -> None:
    async with served(small_buffers=True) as [(connection, _)]:
        fall_behind(connection, SMALL_BUFFER, now=10.0)
        waiting = connection.transport.get_write_buffer_size()
        assert connection.deliver(SMALL, waiting, now=11.0), "exactly the limit waits: still written"
        assert not connection.deliver(SMALL, waiting, now=12.0), "now more than the limit waits"


async def test_behind_since_is_set_by_the_first_drop_and_cleared_by_the_next_delivery() -> None:
    limit = SMALL_BUFFER
    async with served(small_buffers=True) as [(connection, peer)]:
        fall_behind(connection, limit, now=10.0)
        assert behind(connection) == (None, 0), "a delivery, however big, is not a drop"
        connection.deliver(SMALL, limit, now=11.0)
        assert behind(connection) == (11.0, 1)
        connection.deliver(SMALL, limit, now=12.5)
        assert behind(connection) == (11.0, 2), "behind since the first drop, not the latest"
        await catch_up(peer)
        assert connection.deliver(SMALL, limit, now=13.0)
        assert behind(connection) == (None, 2)


async def test_nothing_is_written_to_a_closing_transport() -> None:
    async with served() as [(connection, _)]:
        connection.transport.abort()
        assert not connection.deliver(SMALL, 1 << 20, now=10.0)
        assert behind(connection) == (None, 0), "a closed client is not behind; it is gone"

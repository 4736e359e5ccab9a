"""No client can take the server down: connection limits, deadlines and repeated errors, on the real process
(`python -m app`) over real sockets. Clients bind to other loopback addresses (all of 127/8) to be other clients."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import resource
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import pytest

from app.server import RESERVED_DESCRIPTORS, ConnectionLimits, connection_limits
from tests.live_server import HOST, LiveServer, log_tail, start

# Generous for a loaded 2-core machine; the deadlines under test are 1 s.
WAIT = 30.0
STALLED_QUOTES = (
    b"POST /api/v1/datafeed/quotes HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
    b"Content-Length: 1000000\r\n\r\n" + b'{"symbols"'
)
MALFORMED = b"POST /api/v1/datafeed/quotes HTTP/1.1\r\nHost: test\r\nContent-Length: -1\r\n\r\n"
HEALTH = b"GET /api/v1/health HTTP/1.1\r\nHost: test\r\n\r\n"
# The server closes after answering: once the client sees the end, the server has released the connection.
LAST_HEALTH = b"GET /api/v1/health HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"

Stream = tuple[asyncio.StreamReader, asyncio.StreamWriter]


@pytest.fixture
def server(request: pytest.FixtureRequest) -> Iterator[LiveServer]:
    live = start(request.param)
    try:
        yield live
    finally:
        live.stop()


def settings(**env: str) -> pytest.MarkDecorator:
    return pytest.mark.parametrize("server", [env], indirect=True, ids=[",".join(env)])


@asynccontextmanager
async def connection(server: LiveServer, client: str = HOST) -> AsyncIterator[Stream]:
    """A raw TCP connection to `server` from the loopback address `client`."""
    reader, writer = await asyncio.open_connection(HOST, server.port, local_addr=(client, 0))
    try:
        yield reader, writer
    finally:
        writer.close()


async def answer(stream: Stream, request: bytes = HEALTH) -> tuple[int, dict[str, object]]:
    """Send `request`; the status and JSON body of the answer."""
    reader, writer = stream
    writer.write(request)
    async with asyncio.timeout(WAIT):
        head = await reader.readuntil(b"\r\n\r\n")
        length = re.search(rb"(?i)content-length: (\d+)", head)
        assert length, head
        body = await reader.readexactly(int(length.group(1)))
    return int(head.split()[1]), json.loads(body)


async def closed_by_server(stream: Stream) -> bytes | None:
    """What the server still sends before it closes (or resets) the connection; None if it is open after WAIT s."""
    reader, _ = stream
    received = b""
    try:
        async with asyncio.timeout(WAIT):
            while chunk := await reader.read(65536):
                received += chunk
    except TimeoutError:
        return None
    except ConnectionResetError:
        pass
    return received


def count_not_logged(line: str) -> int:
    found = re.search(r"\[(\d+) more like this in the last \d+ s not logged\]", line)
    assert found, f"no count in {line!r}"
    return int(found.group(1))


def test_limits_count_per_address_and_zero_is_no_limit() -> None:
    limits = ConnectionLimits(total=3, per_client=2)
    assert [limits.admit(a) for a in ("a", "a", "a", "b", "c")] == [True, True, False, True, False]
    limits.release("a")
    assert (limits.open, limits.by_client) == (2, {"a": 1, "b": 1})
    assert [limits.admit(a) for a in ("c", "c")] == [True, False]
    unbounded = ConnectionLimits(total=0, per_client=0)
    assert all(unbounded.admit("a") for _ in range(10_000))


def test_the_total_limit_is_lowered_to_what_descriptors_allow(caplog: pytest.LogCaptureFixture) -> None:
    """Else accept() would fail for want of a descriptor before the limit refuses anyone."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    with caplog.at_level(logging.WARNING, "app.server"):
        limits = connection_limits(hard * 2, 7)
    assert (limits.total, limits.per_client) == (hard - RESERVED_DESCRIPTORS, 7)
    assert f"MAX_CONNECTIONS={hard * 2} exceeds" in caplog.text
    assert connection_limits(0, 0).total == 0, "0 stays no limit"


@settings(MAX_CONNECTIONS_PER_CLIENT="3")
async def test_a_client_over_its_limit_is_refused_while_another_address_is_served(server: LiveServer) -> None:
    async with connection(server) as a, connection(server) as b, connection(server) as c:
        for held in (a, b, c):
            assert (await answer(held))[0] == 200
        async with connection(server) as fourth:
            fourth[1].write(HEALTH)
            assert await closed_by_server(fourth) == b"", "the fourth connection of one client is answered"
        for held in (a, b, c):
            assert (await answer(held, LAST_HEALTH))[0] == 200
            assert await closed_by_server(held) == b""
        async with connection(server, "127.0.0.2") as other:
            status, body = await answer(other)
            assert (status, body["status"]) == (200, "ok")
    # Those closed were released: the first address is served again.
    async with connection(server) as again:
        assert (await answer(again))[0] == 200


@settings(MAX_CONNECTIONS="3", MAX_CONNECTIONS_PER_CLIENT="0")
async def test_the_total_limit_holds_across_addresses(server: LiveServer) -> None:
    async with (
        connection(server, "127.0.0.2") as a,
        connection(server, "127.0.0.3") as b,
        connection(server, "127.0.0.4") as c,
    ):
        for held in (a, b, c):
            assert (await answer(held))[0] == 200
        async with connection(server, "127.0.0.5") as fourth:
            fourth[1].write(HEALTH)
            assert await closed_by_server(fourth) == b"", "the fourth connection in all is answered"
        assert (await answer(c, LAST_HEALTH))[0] == 200
        assert await closed_by_server(c) == b""
    async with connection(server, "127.0.0.5") as later:
        assert (await answer(later))[0] == 200


@settings(REQUEST_BODY_TIMEOUT="1")
async def test_a_body_that_stalls_is_cut_off_at_its_deadline(server: LiveServer) -> None:
    async with connection(server, "127.0.0.2") as stalled:
        status, body = await answer(stalled, STALLED_QUOTES)
        assert (status, body) == (408, {"detail": "request body not received within 1 s"})
        assert await closed_by_server(stalled) == b""


@settings(KEEPALIVE_TIMEOUT="1")
async def test_idle_keep_alive_and_unfinished_headers_are_closed(server: LiveServer) -> None:
    async with connection(server) as idle, connection(server, "127.0.0.2") as half:
        assert (await answer(idle))[0] == 200
        half[1].write(b"GET /api/v1/health HTTP/1.1\r\nHo")
        assert await closed_by_server(idle) == b""
        assert await closed_by_server(half) == b""


# Without the access log's line per request, which would push the error lines out of the log's tail.
@settings(LOG_REPEAT_INTERVAL="1", ACCESS_LOG="false")
async def test_a_repeated_error_is_logged_once_per_interval_with_a_count(server: LiveServer) -> None:
    sent = 0
    async with asyncio.timeout(WAIT):
        # Until the interval has passed and the next error was logged with the count of those not logged.
        while "more like this" not in log_tail(server.log_path, 400):
            async with connection(server) as malformed:
                assert (await answer_text(malformed, MALFORMED))[0] == 400
            sent += 1
    server.stop()
    logged = [line for line in server.final_log.splitlines() if "Malformed request from" in line]
    assert len(logged) == 2, server.final_log
    # The first was logged, the last with the count of those between.
    assert count_not_logged(logged[1]) == sent - 2


async def answer_text(stream: Stream, request: bytes) -> tuple[int, bytes]:
    """Send `request`; the status and raw body of a plain-text answer (aiohttp's own 400)."""
    reader, writer = stream
    writer.write(request)
    async with asyncio.timeout(WAIT):
        head = await reader.readuntil(b"\r\n\r\n")
        return int(head.split()[1]), await reader.read()

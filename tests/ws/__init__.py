"""Tests of the WebSocket room; for its unit tests, real `Connection`s over real sockets.

`served()` starts an aiohttp server whose handler hands each accepted WebSocket to the test as a
`Connection`, and gives the test the client end as a `Peer`: a raw socket that reads only when the
test says so, so a client that stops reading is a real one, and what it receives is the exact bytes.
"""

from __future__ import annotations

import asyncio
import base64
import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import NamedTuple

from aiohttp import web
from aiohttp.test_utils import TestServer

from app.ws.connection import Connection
from app.ws.hub import Hub
from app.ws.protocol import text_frame

# How long one frame may take to arrive, on a loaded two-core machine.
RECEIVE_TIMEOUT = 5.0
_PATH = "/ws"
OP_TEXT, OP_CLOSE, OP_PING, OP_PONG = 0x1, 0x8, 0x9, 0xA
# Shrunken kernel buffers (bytes): a peer that does not read holds the server's writes back after a few KiB.
SMALL_BUFFER = 4096
# A frame far larger than those buffers, so most of it waits in the server's transport.
BIG = text_frame(b"x" * (1 << 20))
SMALL = text_frame(b'{"n":1}')
MARKER = text_frame(b"marker")


class Frame(NamedTuple):
    opcode: int
    payload: bytes


class Peer:
    """The client end of one WebSocket, reading from its socket only when asked."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._buffer = b""

    async def _read(self, size: int) -> bytes:
        loop = asyncio.get_running_loop()
        while len(self._buffer) < size:
            chunk = await loop.sock_recv(self.sock, 1 << 20)
            if not chunk:
                raise ConnectionResetError("the server closed the connection")
            self._buffer += chunk
        head, self._buffer = self._buffer[:size], self._buffer[size:]
        return head

    async def frame(self) -> Frame:
        """The next frame from the server, which must arrive within RECEIVE_TIMEOUT."""
        async with asyncio.timeout(RECEIVE_TIMEOUT):
            first, second = await self._read(2)
            assert not second & 0x80, "server frames are not masked"
            length = second & 0x7F
            if length == 126:
                length = int.from_bytes(await self._read(2), "big")
            elif length == 127:
                length = int.from_bytes(await self._read(8), "big")
            return Frame(first & 0x0F, await self._read(length))

    async def raw(self, size: int) -> bytes:
        """The next `size` bytes exactly as the server wrote them."""
        async with asyncio.timeout(RECEIVE_TIMEOUT):
            return await self._read(size)

    async def cut_off(self) -> bool:
        """Read until the server drops the connection; True once it has (within RECEIVE_TIMEOUT)."""
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(RECEIVE_TIMEOUT):
            try:
                while await loop.sock_recv(self.sock, 1 << 20):
                    pass
            except ConnectionResetError:
                pass
        return True

    async def send(self, opcode: int, payload: bytes) -> None:
        """A client frame (clients must mask; a zero mask keeps the payload as it is)."""
        length = len(payload)
        if length < 126:
            header = bytes((0x80 | opcode, 0x80 | length))
        else:
            header = bytes((0x80 | opcode, 0x80 | 126)) + length.to_bytes(2, "big")
        await asyncio.get_running_loop().sock_sendall(self.sock, header + b"\0\0\0\0" + payload)


async def _handshake(port: int, small_buffers: bool) -> Peer:
    sock = socket.socket()
    if small_buffers:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SMALL_BUFFER)
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    await loop.sock_connect(sock, ("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET {_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    await loop.sock_sendall(sock, request.encode())
    peer = Peer(sock)
    head = b""
    async with asyncio.timeout(RECEIVE_TIMEOUT):
        while not head.endswith(b"\r\n\r\n"):
            head += await peer._read(1)
    assert head.startswith(b"HTTP/1.1 101"), head
    return peer


@asynccontextmanager
async def served(count: int = 1, *, small_buffers: bool = False) -> AsyncIterator[list[tuple[Connection, Peer]]]:
    """`count` open WebSockets as (server-side Connection, client Peer) pairs.

    `small_buffers` shrinks the server's SO_SNDBUF and the peer's SO_RCVBUF to SMALL_BUFFER, so a peer
    that does not read makes the server's write buffer grow after a few kilobytes.
    """
    accepted: asyncio.Queue[Connection] = asyncio.Queue()

    async def handler(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=False, compress=False)
        await ws.prepare(request)
        transport = request.transport
        assert transport is not None
        if small_buffers:
            transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SMALL_BUFFER)
        accepted.put_nowait(Connection(ws, transport, asyncio.get_running_loop().time()))
        async for _ in ws:  # answers the peer's close; pings and pongs are the test's business
            pass
        return ws

    app = web.Application()
    app.router.add_get(_PATH, handler)
    async with TestServer(app) as server:
        assert server.port is not None
        pairs: list[tuple[Connection, Peer]] = []
        try:
            for _ in range(count):
                peer = await _handshake(server.port, small_buffers)
                async with asyncio.timeout(RECEIVE_TIMEOUT):
                    pairs.append((await accepted.get(), peer))
            yield pairs
        finally:
            for _, peer in pairs:
                peer.sock.close()


@asynccontextmanager
async def behind(hub: Hub, since: float) -> AsyncIterator[tuple[Connection, Peer]]:
    """A connection of `hub` (whose limit must be under 1 MiB) behind since `since`, for real.

    Its peer has not read BIG, written at `since - 1`, so SMALL was dropped at `since`.
    """
    async with served(small_buffers=True) as [(connection, peer)]:
        hub.add(connection)
        hub.deliver(connection, BIG, since - 1)
        hub.deliver(connection, SMALL, since)
        assert connection.behind_since == since
        yield connection, peer

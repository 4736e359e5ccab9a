"""The raw WebSocket client of the WebSocket benchmarks (`ws_fanout.py`, `ws_capacity.py`); not run by itself.

`WsClient` is an asyncio WebSocket client protocol (a BufferedProtocol over loop.create_connection).
It does the HTTP Upgrade by hand, subscribes to one topic, then counts the server's text frames by
walking their headers, so one client process can absorb a few hundred thousand frames per second
without allocating per read. Counting alone would take any frame for an update, so every
`sample_every`-th one of each client (its first update included) is parsed and checked: a
`bars.update` of the subscribed topic whose payload has numeric time/open/high/low/close/volume with
low <= open, close <= high, volume >= 0, and a time that never goes back for that client. Around it:
opening and subscribing clients one by one or in bulk, and the server settings such clients need.
Processes, /proc and reporting are in harness.py.
"""

from __future__ import annotations

import asyncio
import base64
import fcntl
import hashlib
import json
import os
import statistics
import struct
import termios
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from harness import CLIENT_CPU, CLK_TCK, HOST, Message, environment

WS_PATH = "/api/v1/ws"
# Settings every WebSocket benchmark server gets: these clients send nothing but pongs, so nobody
# must be closed for silence or age during a run; and only warnings are logged, so logging neither
# costs CPU nor floods the log during a measurement. Everything else is the server's default
# (config/defaults.toml), WS_PING_INTERVAL included.
SERVER_ENV = {
    "WS_HEARTBEAT_INTERVAL": "3600",
    "WS_MAX_CONNECTION_LIFESPAN": "86400",
    "LOG_LEVEL": "WARNING",
    # Every benchmark client connects from 127.0.0.1: thousands of connections from one address are the load.
    "MAX_CONNECTIONS": "0",
    "MAX_CONNECTIONS_PER_CLIENT": "0",
}

_WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_TEXT_FIN = 0x81
_OP_TEXT, _OP_CLOSE, _OP_PING, _OP_PONG = 0x1, 0x8, 0x9, 0xA
# An HTTP response head larger than this is not a WebSocket handshake.
_MAX_HANDSHAKE = 16384

# A topic as the client names it: (symbol, resolution).
Subscription = tuple[str, str]
# Every this many updates of a client, one is parsed and checked; cheap enough to keep up at saturation.
SAMPLE_EVERY = 50
BAR_FIELDS = ("time", "open", "high", "low", "close", "volume")


def ws_environment() -> dict[str, Any]:
    """What the WebSocket benchmarks' figures depend on besides the code."""
    return environment(client_cpu=CLIENT_CPU, clk_tck=CLK_TCK, server_env=SERVER_ENV)


# --- the WebSocket client ------------------------------------------------------------------------


def client_frame(opcode: int, payload: bytes) -> bytes:
    """A final, masked client frame (RFC 6455 requires clients to mask)."""
    mask = os.urandom(4)
    length = len(payload)
    if length < 126:
        header = bytes((0x80 | opcode, 0x80 | length))
    elif length < 1 << 16:
        header = bytes((0x80 | opcode, 0x80 | 126)) + length.to_bytes(2, "big")
    else:
        header = bytes((0x80 | opcode, 0x80 | 127)) + length.to_bytes(8, "big")
    masked = bytes(byte ^ mask[i & 3] for i, byte in enumerate(payload))
    return header + mask + masked


def subscribe_message(symbol: str, resolution: str) -> bytes:
    return json.dumps({"type": "bars.subscribe", "payload": {"symbol": symbol, "resolution": resolution}}).encode()


def topic_of(subscription: Subscription) -> str:
    """The topic the server names in its replies and updates (`bars:SYMBOL:RESOLUTION`)."""
    symbol, resolution = subscription
    return f"bars:{symbol}:{resolution}"


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def update_problem(frame: bytes | bytearray, topic: str, previous_time: int | None) -> tuple[str | None, int | None]:
    """Check one text frame as an update of `topic` after one stamped `previous_time` (ms, or None).

    Returns (what is wrong or None, the update's time when it has one).
    """
    try:
        message = json.loads(frame)
    except ValueError:
        return f"not JSON: {bytes(frame[:100])!r}", None
    if not isinstance(message, dict) or message.get("type") != "bars.update":
        return f"not a bars.update: {bytes(frame[:100])!r}", None
    if message.get("topic") != topic:
        return f"topic {message.get('topic')!r} on a client subscribed to {topic!r}", None
    bar = message.get("payload")
    if not isinstance(bar, dict) or not all(_is_number(bar.get(name)) for name in BAR_FIELDS):
        return f"payload without numeric {'/'.join(BAR_FIELDS)}: {str(bar)[:120]}", None
    time_ms = bar["time"]
    if not isinstance(time_ms, int):
        return f"time {time_ms!r} is not whole milliseconds", None
    if not bar["low"] <= min(bar["open"], bar["close"]) <= max(bar["open"], bar["close"]) <= bar["high"]:
        return f"OHLC out of order: {str(bar)[:160]}", time_ms
    if bar["volume"] < 0:
        return f"negative volume: {str(bar)[:160]}", time_ms
    if previous_time is not None and time_ms < previous_time:
        return f"time went back from {previous_time} to {time_ms} on {topic}", time_ms
    return None, time_ms


def _accept_key(key: bytes) -> bytes:
    return base64.b64encode(hashlib.sha1(key + _WS_GUID).digest())


def _settle(future: asyncio.Future[Any], error: Exception) -> None:
    """Fail `future` if it is still pending, without a "never retrieved" warning if nobody awaits it."""
    if not future.done():
        future.set_exception(error)
        future.exception()


# One receive buffer for every connection in the process. asyncio.Protocol would have each read
# allocate a fresh bytes object of the transport's max_size (256 KiB): above glibc's mmap threshold,
# so every read cost an mmap, an mremap, a munmap and two page faults (measured with perf: the
# client spent ~10 us per frame instead of ~4). With BufferedProtocol the loop reads straight into
# this buffer and calls buffer_updated() before it reads any other socket, so sharing it is safe.
_RECEIVED = bytearray(1 << 18)
_RECEIVED_VIEW = memoryview(_RECEIVED)


class WsClient(asyncio.BufferedProtocol):
    """One raw WebSocket connection: `opened` after the upgrade, `subscribed` on the first text frame.

    After the first text frame (the subscription response) every text frame adds one to `texts`,
    and every `sample_every`-th one (the first included) is checked (`sampled`, `malformed`, the
    first `problem`). Pings are answered, so the server's own keep-alive never drops us.
    """

    def __init__(self, port: int, sample_every: int = SAMPLE_EVERY) -> None:
        loop = asyncio.get_running_loop()
        self.opened: asyncio.Future[None] = loop.create_future()
        self.subscribed: asyncio.Future[bytes] = loop.create_future()
        self.texts = 0
        self.topic = ""
        self.sample_every = sample_every
        self.sampled = 0
        self.malformed = 0
        self.problem: str | None = None
        self._countdown = 1
        self._last_time: int | None = None
        # Bytes read, the handshake included: tells "the server never answered" from "we lost it".
        self.received = 0
        self.lost = False
        self.close_code: int | None = None
        self.transport: asyncio.Transport | None = None
        self._port = port
        self._key = base64.b64encode(os.urandom(16))
        self._handshaking = True
        self._counting = False
        self._pending = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(
            b"GET " + WS_PATH.encode() + b" HTTP/1.1\r\n"
            b"Host: " + f"{HOST}:{self._port}".encode() + b"\r\n"
            b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: " + self._key + b"\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )

    def subscribe(self, subscription: Subscription) -> None:
        assert self.transport is not None, "subscribe only once opened"
        self.topic = topic_of(subscription)
        self.transport.write(client_frame(_OP_TEXT, subscribe_message(*subscription)))

    def get_buffer(self, sizehint: int) -> memoryview:
        return _RECEIVED_VIEW

    def buffer_updated(self, nbytes: int) -> None:
        self.received += nbytes
        if self._handshaking or self._pending:
            self._received_slowly(bytes(_RECEIVED_VIEW[:nbytes]))
            return
        # The common case: whole frames counted in place, nothing copied.
        consumed = self._count_frames(_RECEIVED, nbytes)
        if consumed < nbytes:
            self._pending = bytes(_RECEIVED_VIEW[consumed:nbytes])

    def _received_slowly(self, data: bytes) -> None:
        """Bytes that belong to the handshake or complete a frame split across reads."""
        if self._handshaking:
            data = self._handshake(data)
            if self._handshaking:
                return
        buffer = self._pending + data
        self._pending = buffer[self._count_frames(buffer, len(buffer)) :]

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        error = ConnectionError(f"connection lost ({exc or 'closed'})")
        _settle(self.opened, error)
        _settle(self.subscribed, error)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def _fail(self, reason: str) -> None:
        _settle(self.opened, ConnectionError(reason))
        _settle(self.subscribed, ConnectionError(reason))
        self.close()

    def _handshake(self, data: bytes) -> bytes:
        """Consume the HTTP response; returns the bytes after it (frames), once it is complete."""
        self._pending += data
        head, end, rest = self._pending.partition(b"\r\n\r\n")
        if not end:
            if len(self._pending) > _MAX_HANDSHAKE:
                self._fail("oversized handshake response")
            return b""
        self._pending = b""
        if not head.startswith(b"HTTP/1.1 101") or _accept_key(self._key) not in head:
            status = head.partition(b"\r\n")[0]
            self._fail(f"handshake refused: {status!r}")
            return b""
        self._handshaking = False
        self.opened.set_result(None)
        return rest

    def _count_frames(self, buffer: bytes | bytearray, end: int) -> int:
        """Count the complete frames in `buffer[:end]`; the offset of the first incomplete one.

        This is the hot path: server frames are never masked, so once subscribed a frame costs a
        few index operations and, but for the sampled ones, no allocation.
        """
        pos, texts, counting, countdown = 0, 0, self._counting, self._countdown
        while end - pos >= 2:
            first, size = buffer[pos], buffer[pos + 1]
            head = 2
            if size == 126:
                if end - pos < 4:
                    break
                size, head = (buffer[pos + 2] << 8) | buffer[pos + 3], 4
            elif size == 127:
                if end - pos < 10:
                    break
                size, head = int.from_bytes(buffer[pos + 2 : pos + 10], "big"), 10
            stop = pos + head + size
            if stop > end:
                break
            if first == _TEXT_FIN and counting:
                texts += 1
                countdown -= 1
                if not countdown:
                    countdown = self.sample_every
                    self._check(buffer[pos + head : stop])
            else:
                self._on_frame(first & 0x0F, bytes(buffer[pos + head : stop]))
                counting = self._counting
            pos = stop
        self.texts += texts
        self._countdown = countdown
        return pos

    def _check(self, frame: bytes | bytearray) -> None:
        self.sampled += 1
        problem, time_ms = update_problem(frame, self.topic, self._last_time)
        if problem is not None:
            self.malformed += 1
            self.problem = self.problem or problem
        if time_ms is not None:
            self._last_time = max(time_ms, self._last_time or time_ms)

    def _on_frame(self, opcode: int, payload: bytes) -> None:
        if opcode == _OP_TEXT:
            # The first text frame answers the subscription; updates are counted from here on.
            self._counting = True
            if not self.subscribed.done():
                self.subscribed.set_result(payload)
        elif opcode == _OP_PING and self.transport is not None:
            self.transport.write(client_frame(_OP_PONG, payload))
        elif opcode == _OP_CLOSE:
            self.close_code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else None
            self._fail(f"closed by the server: {self.close_code} {payload[2:]!r}")


def check_subscribed(response: bytes, topic: str) -> None:
    """Raise ConnectionError unless `response` is an ok `bars.subscribe.response` naming `topic`."""
    try:
        reply = json.loads(response)
    except ValueError:
        reply = None
    payload = reply.get("payload") if isinstance(reply, dict) else None
    if (
        not isinstance(reply, dict)
        or reply.get("type") != "bars.subscribe.response"
        or not isinstance(payload, dict)
        or payload.get("status") != "ok"
        or payload.get("topic") != topic
    ):
        raise ConnectionError(f"subscription to {topic} refused: {response[:200]!r}")


async def open_one(port: int, time_limit: float) -> WsClient:
    """Connect and upgrade within `time_limit` seconds."""
    loop = asyncio.get_running_loop()
    client: WsClient | None = None
    try:
        async with asyncio.timeout(time_limit):
            _, client = await loop.create_connection(lambda: WsClient(port), HOST, port)
            await client.opened
    except BaseException:
        if client is not None:
            client.close()
        raise
    return client


async def subscribe_one(port: int, subscription: Subscription, time_limit: float) -> WsClient:
    """Connect, upgrade, subscribe and wait for an OK response, all within `time_limit` seconds."""
    async with asyncio.timeout(time_limit):
        client = await open_one(port, time_limit)
        try:
            client.subscribe(subscription)
            check_subscribed(await client.subscribed, client.topic)
        except BaseException:
            client.close()
            raise
    return client


async def open_many(
    port: int, count: int, *, concurrency: int, time_limit: float
) -> tuple[list[WsClient], list[BaseException]]:
    """Open `count` connections, at most `concurrency` handshakes at a time, each within `time_limit`.

    The limit keeps the server's accept queue (aiohttp's default backlog is 128) from overflowing,
    which would turn into SYN retransmits seconds long rather than into a measurement.
    """
    gate = asyncio.Semaphore(concurrency)

    async def one() -> WsClient:
        async with gate:
            return await open_one(port, time_limit)

    results = await asyncio.gather(*(one() for _ in range(count)), return_exceptions=True)
    return [r for r in results if isinstance(r, WsClient)], [r for r in results if isinstance(r, BaseException)]


async def subscribe_all(
    clients: Sequence[WsClient], subscriptions: Sequence[Subscription], time_limit: float
) -> tuple[list[WsClient], list[BaseException]]:
    """Subscribe every open client (topics round-robin) at once; those answered OK within `time_limit`.

    All requests go out before any answer is awaited: the server then subscribes everyone in a few
    loop iterations, instead of serving handshakes while it already broadcasts to thousands.
    """
    for index, client in enumerate(clients):
        client.subscribe(subscriptions[index % len(subscriptions)])
    if clients:
        await asyncio.wait([c.subscribed for c in clients], timeout=time_limit)
    subscribed: list[WsClient] = []
    errors: list[BaseException] = []
    for client in clients:
        try:
            check_subscribed(_answer(client), client.topic)
            subscribed.append(client)
        except (ConnectionError, TimeoutError) as error:
            errors.append(error)
            client.close()
    return subscribed, errors


def _answer(client: WsClient) -> bytes:
    if not client.subscribed.done():
        raise TimeoutError(f"no subscription response in time; {client.received} bytes read, handshake included")
    return client.subscribed.result()


@dataclass
class Crowd:
    """Clients opened and subscribed in bulk, with what went wrong and how long each phase took."""

    clients: list[WsClient]
    errors: list[BaseException]
    open_seconds: float
    subscribe_seconds: float

    def report(self) -> Message:
        return {
            "connected": len(self.clients),
            "failed": len(self.errors),
            "errors": summarize_errors(self.errors),
            "open_seconds": self.open_seconds,
            "subscribe_seconds": self.subscribe_seconds,
            "connect_seconds": self.open_seconds + self.subscribe_seconds,
        }


async def gather_crowd(
    port: int,
    subscriptions: Sequence[Subscription],
    count: int,
    *,
    concurrency: int,
    time_limit: float,
    sample_every: int = SAMPLE_EVERY,
) -> Crowd:
    """Open `count` connections, then subscribe them all, each checking every `sample_every`-th update.

    See open_many and subscribe_all.
    """
    started = time.perf_counter()
    opened, open_errors = await open_many(port, count, concurrency=concurrency, time_limit=time_limit)
    for client in opened:
        client.sample_every = sample_every
    opened_at = time.perf_counter()
    # Generous: the server answers subscriptions in bulk, but each one costs it a little.
    clients, errors = await subscribe_all(opened, subscriptions, time_limit + count / 1000)
    return Crowd(clients, open_errors + errors, opened_at - started, time.perf_counter() - opened_at)


def summarize_errors(errors: Iterable[BaseException], top: int = 5) -> list[str]:
    """The commonest errors with their counts, for a report that stays short."""
    counts = Counter(f"{type(e).__name__}: {e}" for e in errors)
    return [f"{n} x {text}" for text, n in counts.most_common(top)]


def sampling_report(clients: Sequence[WsClient], top: int = 5) -> Message:
    """What the checked frames showed: how many, how many were wrong (on how many clients), the commonest faults."""
    problems = Counter(client.problem for client in clients if client.problem is not None)
    return {
        "frames_sampled": sum(client.sampled for client in clients),
        "malformed_frames": sum(client.malformed for client in clients),
        "malformed_clients": sum(1 for client in clients if client.malformed),
        "problems": [f"{n} client(s): {text}" for text, n in problems.most_common(top)],
    }


def delivery_failures(sampling: Message, per_client: Message) -> list[str]:
    """Why the deliveries make a run FAILED whatever its speed: malformed frames, no frame checked at all, or
    subscribed clients that received nothing (`sampling` from sampling_report, `per_client` from spread)."""
    found = []
    if sampling["malformed_frames"]:
        found.append(
            f"{sampling['malformed_frames']} malformed frame(s) of {sampling['frames_sampled']:,} checked, on "
            f"{sampling['malformed_clients']} client(s): {sampling['problems']}"
        )
    if not sampling["frames_sampled"]:
        found.append("no frame was checked")
    if per_client["starved"]:
        found.append(f"{per_client['starved']} subscribed client(s) received no update while measured")
    return found


def spread(counts: Sequence[int]) -> Message:
    """Min, median and max of per-client delivery counts, and how many clients got none ("starved")."""
    if not counts:
        return {"min": 0, "median": 0, "max": 0, "starved": 0}
    return {"min": min(counts), "median": statistics.median(counts), "max": max(counts), "starved": counts.count(0)}


def unread_bytes(clients: Iterable[WsClient]) -> int:
    """Bytes the kernel holds for these clients that they have not read yet (FIONREAD).

    If this grows over a measurement, the client is falling behind the server, whatever its CPU says.
    """
    total = 0
    for client in clients:
        sock = client.transport.get_extra_info("socket") if client.transport is not None else None
        if sock is not None and not client.lost:
            total += struct.unpack("i", fcntl.ioctl(sock.fileno(), termios.FIONREAD, b"\0\0\0\0"))[0]
    return total


async def close_all(clients: Iterable[WsClient], linger: float = 1.0) -> None:
    """Close every connection, then give the loop a moment to flush the FINs."""
    for client in clients:
        client.close()
    await asyncio.sleep(linger)


async def timed_subscribe(port: int, subscription: Subscription, time_limit: float) -> float:
    """Seconds from connect() to the subscription response for one new client, which is then closed."""
    started = time.perf_counter()
    client = await subscribe_one(port, subscription, time_limit)
    elapsed = time.perf_counter() - started
    client.close()
    return elapsed


def warm_up(port: int, subscription: Subscription = ("BTCUSD", "1"), timeout: float = 10.0) -> None:
    """One client served end to end, so one-off start-up costs do not count against connections."""

    async def run() -> None:
        await timed_subscribe(port, subscription, timeout)
        await asyncio.sleep(0.5)

    asyncio.run(run())

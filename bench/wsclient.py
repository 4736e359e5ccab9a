"""Shared machinery of the WebSocket benchmarks (`ws_fanout.py`, `ws_capacity.py`); not run by itself.

- `WsClient`: a raw asyncio WebSocket client protocol (a BufferedProtocol over
  loop.create_connection). It does the HTTP Upgrade by hand, subscribes to one topic, then only
  counts the server's text frames by walking their headers, so one client process can absorb a
  few hundred thousand frames per second without parsing JSON or allocating per read.
- Server and client-process management: the server runs as `python -m app` pinned to one CPU with
  its output in a temporary log; load clients run as spawned processes pinned to the other CPU and
  talk to the driving script over a pipe.
- Readers of /proc: a process's CPU time and resident memory, each core's busy time (to notice
  other processes disturbing a run on a shared machine).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import fcntl
import hashlib
import json
import multiprocessing
import os
import resource
import socket
import struct
import subprocess
import sys
import tempfile
import termios
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = REPO_ROOT / "bench" / "results"
HOST = "127.0.0.1"
WS_PATH = "/api/v1/ws"
SERVER_CPU = 0
CLIENT_CPU = 1
# Enough descriptors for 10,000 sockets plus the interpreter's own; root may raise the hard limit too.
FD_LIMIT = 65536
CLK_TCK = os.sysconf("SC_CLK_TCK")
# Settings every benchmark server gets: nobody is closed for silence or age during a run, and only
# warnings are logged, so logging neither costs CPU nor floods the log during a measurement.
BENCH_SERVER_ENV = {
    "WS_HEARTBEAT_INTERVAL": "3600",
    "WS_MAX_CONNECTION_LIFESPAN": "86400",
    "LOG_LEVEL": "WARNING",
}
_WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_TEXT_FIN = 0x81
_OP_TEXT, _OP_CLOSE, _OP_PING, _OP_PONG = 0x1, 0x8, 0x9, 0xA
# An HTTP response head larger than this is not a WebSocket handshake.
_MAX_HANDSHAKE = 16384

Message = dict[str, Any]
# A topic as the client names it: (symbol, resolution).
Subscription = tuple[str, str]
P = TypeVar("P")


# --- /proc readers -------------------------------------------------------------------------------


def cpu_times(pid: int) -> tuple[float, float]:
    """User and system CPU seconds of `pid` (fields 14 and 15 of /proc/<pid>/stat)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    # The command name (field 2) may contain spaces, so count fields from after its closing ')'.
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[11]) / CLK_TCK, int(fields[12]) / CLK_TCK


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of `pid`."""
    return sum(cpu_times(pid))


class CoreTimes(NamedTuple):
    """CPU seconds one core spent running tasks (user + system), in softirq, and stolen by the host."""

    tasks: float
    softirq: float
    steal: float


def core_times() -> list[CoreTimes]:
    """Per core, from /proc/stat; compared with a process's own time it reveals other load."""
    cores = []
    for line in Path("/proc/stat").read_text().splitlines():
        name, *ticks = line.split()
        if name.startswith("cpu") and name != "cpu":
            user, nice, system, _idle, _iowait, _irq, softirq, steal = (int(t) for t in ticks[:8])
            cores.append(CoreTimes((user + nice + system) / CLK_TCK, softirq / CLK_TCK, steal / CLK_TCK))
    return cores


def busiest_core(sample: float = 1.0) -> float:
    """The largest share of a core that tasks and softirqs used over `sample` seconds."""
    before = core_times()
    time.sleep(sample)
    after = core_times()
    return max((a.tasks + a.softirq - b.tasks - b.softirq) / sample for a, b in zip(after, before, strict=True))


def wait_for_quiet(threshold: float = 0.1, patience: float = 120.0) -> float:
    """Wait (at most `patience` s) until no core is busier than `threshold`; the last reading.

    The machine may be shared: another benchmark running at the same time would make both wrong.
    """
    deadline = time.monotonic() + patience
    busiest = busiest_core()
    while busiest > threshold and time.monotonic() < deadline:
        print(f"  waiting: other processes keep a core {busiest:.0%} busy", flush=True)
        time.sleep(4)
        busiest = busiest_core()
    return busiest


def rss_kb(pid: int) -> int:
    """Resident memory of `pid` in KiB (VmRSS of /proc/<pid>/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


# --- process setup -------------------------------------------------------------------------------


def raise_fd_limit(wanted: int = FD_LIMIT) -> int:
    """Raise this process's open-files limit as far as allowed; the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    for limit in ((wanted, max(wanted, hard)), (min(wanted, hard), hard)):
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, limit)
            return limit[0]
        except (ValueError, OSError):
            continue
    return soft


def pin_to_cpu(cpu: int) -> None:
    os.sched_setaffinity(0, {cpu})


def _prepare_server_process(cpu: int) -> None:
    # Runs in the forked child before exec, so the limits and the pinning are the server's own.
    pin_to_cpu(cpu)
    raise_fd_limit()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


# aiohttp's start-up banner, which says nothing about the run.
_BANNER = ("======== Running on ", "(Press CTRL+C to quit)")


def log_tail(path: Path, lines: int = 40) -> str:
    """The last `lines` lines the server wrote, without its banner; empty if it said nothing else."""
    try:
        text = path.read_text(errors="replace")
    except OSError as error:
        return f"(cannot read {path}: {error})"
    said = [line for line in text.splitlines() if not line.startswith(_BANNER)]
    return "\n".join(said[-lines:])


def stop_process(process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """SIGTERM, wait up to `timeout`, then SIGKILL."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout)


# --- the server ----------------------------------------------------------------------------------


@dataclass
class Server:
    """A running `python -m app` and where its output goes; after stop(), what it said (`final_log`)."""

    process: subprocess.Popen[bytes]
    port: int
    log_path: Path
    final_log: str = ""

    @property
    def pid(self) -> int:
        return self.process.pid

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            code = self.process.returncode
            raise RuntimeError(f"server exited with {code}; its log ends:\n{log_tail(self.log_path)}")

    def stop(self, timeout: float = 10.0) -> None:
        """Stop it, keep the tail of its log (shutdown included) and delete the log file."""
        stop_process(self.process, timeout)
        if self.log_path.exists():
            self.final_log = log_tail(self.log_path)
            self.log_path.unlink()


def start_server(env: Mapping[str, str], *, cpu: int = SERVER_CPU, ready_timeout: float = 30.0) -> Server:
    """Start the server pinned to `cpu` with `env` on top of BENCH_SERVER_ENV; returns once it accepts."""
    port = free_port()
    log = tempfile.NamedTemporaryFile(prefix="ws-bench-server-", suffix=".log", delete=False)  # noqa: SIM115
    command = [sys.executable, "-m", "app", "--host", HOST, "--port", str(port)]
    process = subprocess.Popen(
        command,
        cwd=REPO_ROOT,
        env=os.environ | BENCH_SERVER_ENV | dict(env),
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        preexec_fn=lambda: _prepare_server_process(cpu),
    )
    log.close()
    server = Server(process, port, Path(log.name))
    try:
        _wait_listening(server, ready_timeout)
    except BaseException:
        server.stop()
        raise
    return server


def _wait_listening(server: Server, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        server.check_alive()
        try:
            with socket.create_connection((HOST, server.port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"server not listening on port {server.port} after {timeout} s:\n{log_tail(server.log_path)}")


# --- load-client processes -----------------------------------------------------------------------


@dataclass
class Child:
    """A load-client process and the driver's end of its pipe."""

    process: BaseProcess
    pipe: Connection

    def send(self, message: Message) -> None:
        self.pipe.send(message)

    def recv(self, timeout: float) -> Message:
        """The child's next message; raises if it failed, died, or stayed silent for `timeout` s."""
        if not self.pipe.poll(timeout):
            state = "exited" if not self.process.is_alive() else "silent"
            raise TimeoutError(f"client process {state} for {timeout} s (exit code {self.process.exitcode})")
        try:
            message: Message = self.pipe.recv()
        except EOFError:
            raise RuntimeError(f"client process died (exit code {self.process.exitcode})") from None
        if "error" in message:
            raise RuntimeError(f"client process failed: {message['error']}")
        return message

    def stop(self, timeout: float = 10.0) -> None:
        """Let it close its sockets and exit; SIGTERM, then SIGKILL, if it does not in time."""
        with contextlib.suppress(OSError):
            self.pipe.send({"command": "stop"})
        self.process.join(timeout)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(timeout)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(timeout)
        self.pipe.close()


def start_child(main: Callable[[Connection, P], Awaitable[None]], params: P, *, cpu: int = CLIENT_CPU) -> Child:
    """Run `asyncio.run(main(pipe, params))` in a fresh interpreter pinned to `cpu`."""
    # Spawned rather than forked, so the client starts with nothing of the driver's state.
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    process = context.Process(target=_child_entry, args=(main, params, theirs, cpu), daemon=True)
    process.start()
    theirs.close()
    return Child(process, ours)


def _child_entry(main: Callable[[Connection, P], Awaitable[None]], params: P, pipe: Connection, cpu: int) -> None:
    pin_to_cpu(cpu)
    raise_fd_limit()
    try:
        asyncio.run(_as_coroutine(main(pipe, params)))
    except BaseException as error:
        with contextlib.suppress(OSError):
            pipe.send({"error": f"{type(error).__name__}: {error}"})
        raise


async def _as_coroutine(awaitable: Awaitable[None]) -> None:
    await awaitable


async def recv_async(pipe: Connection, time_limit: float) -> Message:
    """The driver's next message, without blocking the child's event loop."""
    loop = asyncio.get_running_loop()
    ready: asyncio.Future[None] = loop.create_future()

    def readable() -> None:
        if not ready.done():
            ready.set_result(None)

    loop.add_reader(pipe.fileno(), readable)
    try:
        async with asyncio.timeout(time_limit):
            await ready
    finally:
        loop.remove_reader(pipe.fileno())
    message: Message = pipe.recv()
    return message


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

    After the first text frame (the subscription response) every text frame only adds one to
    `texts`. Pings are answered, so the server's own keep-alive never drops us.
    """

    def __init__(self, port: int) -> None:
        loop = asyncio.get_running_loop()
        self.opened: asyncio.Future[None] = loop.create_future()
        self.subscribed: asyncio.Future[bytes] = loop.create_future()
        self.texts = 0
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
        few index operations and no allocation.
        """
        pos, texts, counting = 0, 0, self._counting
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
            else:
                self._on_frame(first & 0x0F, bytes(buffer[pos + head : stop]))
                counting = self._counting
            pos = stop
        self.texts += texts
        return pos

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


def check_subscribed(response: bytes) -> None:
    if not response.startswith(b'{"type":"bars.subscribe.response"') or b'"status":"ok"' not in response:
        raise ConnectionError(f"subscription refused: {response[:200]!r}")


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
            check_subscribed(await client.subscribed)
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
            check_subscribed(_answer(client))
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
    port: int, subscriptions: Sequence[Subscription], count: int, *, concurrency: int, time_limit: float
) -> Crowd:
    """Open `count` connections, then subscribe them all; see open_many and subscribe_all."""
    started = time.perf_counter()
    opened, open_errors = await open_many(port, count, concurrency=concurrency, time_limit=time_limit)
    opened_at = time.perf_counter()
    # Generous: the server answers subscriptions in bulk, but each one costs it a little.
    clients, errors = await subscribe_all(opened, subscriptions, time_limit + count / 1000)
    return Crowd(clients, open_errors + errors, opened_at - started, time.perf_counter() - opened_at)


def summarize_errors(errors: Iterable[BaseException], top: int = 5) -> list[str]:
    """The commonest errors with their counts, for a report that stays short."""
    counts = Counter(f"{type(e).__name__}: {e}" for e in errors)
    return [f"{n} x {text}" for text, n in counts.most_common(top)]


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


# --- reporting -----------------------------------------------------------------------------------


def format_table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    cells = [list(headers), *([str(value) for value in row] for row in rows)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True)) for row in cells]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def write_json(name: str, data: Mapping[str, Any]) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / name
    path.write_text(json.dumps(data, indent=2) + "\n")
    return path


def environment() -> dict[str, Any]:
    """What the figures depend on besides the code."""
    from importlib.metadata import version

    return {
        "python": sys.version.split()[0],
        "aiohttp": version("aiohttp"),
        "cpus": os.cpu_count(),
        "server_cpu": SERVER_CPU,
        "client_cpu": CLIENT_CPU,
        "clk_tck": CLK_TCK,
        # Everything else is the server's default (config/defaults.toml), WS_PING_INTERVAL included.
        "server_env": BENCH_SERVER_ENV,
    }

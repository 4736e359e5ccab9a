"""Serving the application so that no client can take the server down.

- `ConnectionLimits` bounds the open connections in all and per client address; an excess connection is
  reset at accept time, before aiohttp builds anything for it.
- `body_deadline`, a middleware that `create_app` installs, gives a request's body a deadline (a client that
  announces a large body and goes silent is answered 408 and disconnected) and answers a body that does not
  decode with 400; aiohttp's keep-alive timeout closes idle connections and those whose request headers
  never complete (aiohttp counts them as idle).
- `JsonErrorHandler` answers a request that aiohttp's parser refuses (a bad request line, a header too long, an
  unknown Content-Encoding) in JSON with the security headers, like every other error.
- `RepeatFilter` logs a repeated error once per interval with a count, never once per event.
- `serve` runs it all until SIGINT or SIGTERM, as `python -m app` does, and `Drain` bounds the shutdown that
  follows; as one of several workers it shares the port (SO_REUSEPORT) and names itself in an `X-Worker`
  header.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import resource
import signal
import socket
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus

from aiohttp import web
from aiohttp.http_exceptions import BadHttpMethod, ContentEncodingError
from aiohttp.typedefs import Handler, Middleware
from aiohttp.web_protocol import RequestHandler, RequestPayloadError
from aiohttp.web_request import BaseRequest

log = logging.getLogger(__name__)

# Descriptors kept back from the connection limit: the listening socket, log files, the event loop's own.
RESERVED_DESCRIPTORS = 64
# Connections the kernel queues for accept(): a burst of them (a client opening thousands at once) must not
# fill the queue, or the SYN of a well-behaved client is dropped and retried a second later. Linux caps it
# at net.core.somaxconn.
BACKLOG = 1024
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@dataclass(frozen=True, slots=True)
class ServeOptions:
    """How `serve` listens and what it bounds; 0 for a connection limit means none. Times in seconds."""

    host: str
    port: int
    max_connections: int
    max_connections_per_client: int
    keepalive_timeout: float
    shutdown_timeout: float = 5.0
    # One of several workers on the port (SO_REUSEPORT); each answer then names its process in `X-Worker`.
    reuse_port: bool = False
    # Headers of the answers aiohttp's parser gives (a request it cannot parse never reaches the app's hooks).
    error_headers: Mapping[str, str] = field(default_factory=dict)


class ConnectionLimits:
    """Counts of open connections, in all and per client address (0: no limit)."""

    def __init__(self, total: int, per_client: int) -> None:
        self.total = total
        self.per_client = per_client
        self.open = 0
        self.by_client: dict[str, int] = {}

    def admit(self, client: str) -> bool:
        """Count a new connection from `client` if both limits allow it; whether they did."""
        held = self.by_client.get(client, 0)
        if (self.total and self.open >= self.total) or (self.per_client and held >= self.per_client):
            return False
        self.open += 1
        self.by_client[client] = held + 1
        return True

    def release(self, client: str) -> None:
        """Forget one connection of `client` (one that `admit` counted)."""
        self.open -= 1
        held = self.by_client[client] - 1
        if held:
            self.by_client[client] = held
        else:
            # Addresses come and go: keep only those with connections open, so the map stays bounded.
            del self.by_client[client]


class JsonErrorHandler(RequestHandler):
    """aiohttp's connection protocol, answering the requests its parser refuses (a bad request line, a header
    line too long: 400; a Content-Encoding it cannot decode: 415, RFC 9110 §15.5.16) with `{"detail"}` JSON and
    `error_headers`, as the app answers every other error, instead of text/plain without them (which a browser
    would sniff). A client's malformed request is a warning of one line, not an error with a traceback."""

    __slots__ = ()
    error_headers: Mapping[str, str] = {}

    def handle_error(
        self, request: BaseRequest, status: int = 500, exc: BaseException | None = None, message: str | None = None
    ) -> web.StreamResponse:
        if request.writer.output_size > 0:
            # As aiohttp's own: part of an answer is out, so no other can follow; the connection is dropped.
            raise ConnectionError("Response is sent already, cannot send another response with the error message")
        if status >= 500:
            self.logger.exception("Error handling request from %s", request.remote, exc_info=exc)
            detail = HTTPStatus(status).phrase
        elif isinstance(exc, ContentEncodingError):
            status = HTTPStatus.UNSUPPORTED_MEDIA_TYPE
            detail = "Unsupported Content-Encoding: send the body as it is, or gzip or deflate it"
        else:
            # A parser's message quotes the offending bytes on the lines after the first ("Invalid header token:").
            reason = message.splitlines()[0].rstrip(": ") if message else "malformed request"
            detail = f"{HTTPStatus(status).phrase}: {reason}"
        if status < 500:
            # TLS or other non-HTTP bytes on the port (BadHttpMethod) are the internet's background noise.
            level = logging.DEBUG if isinstance(exc, BadHttpMethod) else logging.WARNING
            self.logger.log(level, "Malformed request from %s: %s", request.remote, detail)
        response = web.json_response({"detail": detail}, status=status, headers=self.error_headers)
        response.force_close()
        return response


def _json_errors(server: web.Server, headers: Mapping[str, str]) -> Callable[[], RequestHandler]:
    """The protocol factory of `server`, its protocols answering parser errors as `JsonErrorHandler` does."""
    answering = type("JsonErrorHandler", (JsonErrorHandler,), {"__slots__": (), "error_headers": headers})

    def protocol() -> RequestHandler:
        handler = server()
        # aiohttp offers no hook for these answers and builds its protocol itself (web.Server.__call__): the
        # protocol becomes the subclass, whose slots are the same, so nothing of aiohttp's state is touched.
        handler.__class__ = answering
        return handler

    return protocol


class _Gate(asyncio.Protocol):
    """The protocol asyncio gets for each accepted socket: it resets an excess connection at once, and hands an
    admitted one to aiohttp's protocol, forwarding every event to it."""

    __slots__ = ("_client", "_factory", "_inner", "_limits")

    def __init__(self, limits: ConnectionLimits, factory: Callable[[], asyncio.Protocol]) -> None:
        self._limits = limits
        self._factory = factory
        self._inner: asyncio.Protocol | None = None
        self._client = ""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        peer = transport.get_extra_info("peername")
        client = str(peer[0]) if isinstance(peer, tuple) else ""
        if not self._limits.admit(client):
            # A reset costs nothing more than the accept: no parser, no task, no TIME_WAIT on our side.
            log.warning("refused a connection from %s: over MAX_CONNECTIONS or MAX_CONNECTIONS_PER_CLIENT", client)
            assert isinstance(transport, asyncio.Transport)
            transport.abort()
            return
        self._client = client
        self._inner = self._factory()
        self._inner.connection_made(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._inner is not None:
            self._limits.release(self._client)
            self._inner.connection_lost(exc)
            self._inner = None

    def data_received(self, data: bytes) -> None:
        if self._inner is not None:
            self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received() if self._inner is not None else None

    def pause_writing(self) -> None:
        if self._inner is not None:
            self._inner.pause_writing()

    def resume_writing(self) -> None:
        if self._inner is not None:
            self._inner.resume_writing()


class ListenError(Exception):
    """The server cannot listen where it is told to; the message names the setting at fault and why."""


@dataclass(frozen=True, slots=True)
class ListenAddress:
    """Where to listen, and how the operator named each part (`--host` or `HOST`, `--port` or `PORT`)."""

    host: str
    port: int
    host_name: str = "HOST"
    port_name: str = "PORT"

    def refusal(self, where: str, error: OSError) -> ListenError:
        """The ListenError for a failed bind on `where` (one of the addresses the host resolved to)."""
        if error.errno == errno.EADDRINUSE:
            return ListenError(f"{self.port_name} {self.port} is in use on {where}")
        if error.errno == errno.EACCES:
            return ListenError(f"{self.port_name} {self.port} needs privileges this process lacks (below 1024)")
        if error.errno == errno.EADDRNOTAVAIL:
            return ListenError(f"{self.host_name} {self.host!r} is not an address of this machine ({where})")
        return ListenError(f"{self.host_name} {self.host!r}, {self.port_name} {self.port}: {error.strerror or error}")


def probe_listen(address: ListenAddress) -> None:
    """Bind every address `address.host` resolves to, without SO_REUSEPORT, and let go at once; ListenError
    when the host does not resolve, is not on this machine, or the port is taken, including by a group of
    workers (their SO_REUSEPORT sockets let only another such socket share the port, so a second group would
    otherwise start silently on the same port)."""
    try:
        found = socket.getaddrinfo(address.host, address.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (OSError, UnicodeError, ValueError) as error:
        cause = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        raise ListenError(f"{address.host_name} {address.host!r} does not resolve: {cause}") from None
    for family, kind, protocol, _name, where in found:
        with socket.socket(family, kind, protocol) as probe:
            # As asyncio binds: SO_REUSEADDR (a port left in TIME_WAIT is free), IPv6 sockets IPv6 only.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                probe.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                probe.bind(where)
            except OSError as error:
                raise address.refusal(str(where[0]), error) from None


class LimitedSite(web.BaseSite):
    """A TCP site whose accepted connections pass `ConnectionLimits` first."""

    __slots__ = ("_error_headers", "_host", "_limits", "_port", "_reuse_port")

    def __init__(
        self,
        runner: web.AppRunner,
        host: str,
        port: int,
        limits: ConnectionLimits,
        *,
        reuse_port: bool = False,
        error_headers: Mapping[str, str] = {},
    ) -> None:
        super().__init__(runner, backlog=BACKLOG)
        self._host = host
        self._port = port
        self._limits = limits
        self._reuse_port = reuse_port
        self._error_headers = error_headers

    @property
    def name(self) -> str:
        return f"http://{self._host}:{self._port}"

    async def start(self) -> None:
        await super().start()
        server = self._runner.server
        assert server is not None, "the runner is set up before its site starts"
        limits, protocol = self._limits, _json_errors(server, self._error_headers)
        try:
            self._server = await asyncio.get_running_loop().create_server(
                lambda: _Gate(limits, protocol),
                self._host,
                self._port,
                backlog=self._backlog,
                reuse_address=True,
                reuse_port=self._reuse_port or None,
            )
        except OSError as error:
            # Taken since `probe_listen` found it free (another process was quicker): said as plainly.
            raise ListenAddress(self._host, self._port).refusal(self._host, error) from None


async def _answer_and_close(request: web.Request, status: int, detail: str) -> web.StreamResponse:
    """Send `{"detail"}` with `status` and close the connection, leaving the rest of the body unread."""
    response = web.json_response({"detail": detail}, status=status)
    response.force_close()
    await response.prepare(request)
    await response.write_eof()
    if request.transport is not None:
        request.transport.close()
    return response


def body_deadline(timeout: float) -> Middleware:
    """Middleware: a request's body must arrive within `timeout` seconds of its headers, else 408 and the
    connection closes. The body is read here (at most the app's client_max_size) and kept for the handler."""

    @web.middleware
    async def read_body_in_time(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.body_exists:
            try:
                async with asyncio.timeout(timeout):
                    await request.read()
            except TimeoutError:
                # Closed at once: aiohttp would otherwise linger, waiting for the rest of the body from a silent client.
                return await _answer_and_close(request, 408, f"request body not received within {timeout:g} s")
            except RequestPayloadError:
                # A body that cannot be decoded (Content-Encoding gzip over plain bytes, a truncated chunk). Answered
                # and closed here: aiohttp would otherwise read on, fail again and log it as an unhandled error.
                return await _answer_and_close(request, 400, "Malformed request body: it does not decode")
            except ConnectionResetError:
                if request.transport is not None and not request.transport.is_closing():
                    raise
                # The client left mid-body: routine, and nobody is left to read an answer.
                log.debug("Client left during the body of %s %s", request.method, request.path)
                return web.json_response({"detail": "client closed the connection"}, status=400)
        return await handler(request)

    return read_body_in_time


class RepeatFilter(logging.Filter):
    """Lets the first of a kind of record through, then drops the same kind for `interval` seconds; the first
    record after that says how many were dropped. A kind is the logger, the level and the message template."""

    def __init__(self, interval: float, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.interval = interval
        self._clock = clock
        # kind -> (when its interval began, records dropped since)
        self._seen: dict[tuple[str, int, str], tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        now = self._clock()
        kind = (record.name, record.levelno, str(record.msg))
        began, dropped = self._seen.get(kind, (float("-inf"), 0))
        if now - began < self.interval:
            self._seen[kind] = (began, dropped + 1)
            return False
        if len(self._seen) > 1000:
            # Messages that vary (a formatted string each time) must not grow the map without end.
            self._seen = {k: v for k, v in self._seen.items() if now - v[0] < self.interval}
        self._seen[kind] = (now, 0)
        if dropped:
            record.msg = f"{record.msg} [{dropped} more like this in the last {now - began:.0f} s not logged]"
        return True


def descriptor_room() -> int:
    """Raise this process's descriptor limit to its hard limit; the connections it leaves room for."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        soft = hard
    return max(1, soft - RESERVED_DESCRIPTORS)


def connection_limits(total: int, per_client: int) -> ConnectionLimits:
    """Limits for this process: `total` is lowered (with a warning) to what its descriptors allow, so that
    accept() never fails for want of one; 0 stays no limit."""
    room = descriptor_room()
    if total > room:
        log.warning("MAX_CONNECTIONS=%d exceeds the %d descriptors this process may open; using %d", total, room, room)
        total = room
    return ConnectionLimits(total, per_client)


class Drain:
    """The shutdown after a first SIGINT or SIGTERM, bounded whatever clients do.

    aiohttp alone may take twice its shutdown timeout (it waits for a request in flight, cancels only its body
    reader, then waits again), and a client reading an answer slowly holds it to the end: past the platform's
    grace (30 s, then SIGKILL). Here the whole shutdown has one `deadline` (seconds after the signal); what it
    still waits for is logged every REPORT_EVERY seconds, and at the deadline the connections left are closed.
    A second SIGINT or SIGTERM ends the process at once: the operator's "stop now".
    """

    REPORT_EVERY = 5.0

    def __init__(self, runner: web.AppRunner, deadline: float) -> None:
        self._runner = runner
        self._deadline = deadline
        # Each connection's latest request (weakly held: a closed connection goes with its transport).
        self._requests: weakref.WeakKeyDictionary[asyncio.BaseTransport, web.Request] = weakref.WeakKeyDictionary()

    def _connections(self) -> list[RequestHandler]:
        server = self._runner.server
        return server.connections if server is not None else []

    @web.middleware
    async def track(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Middleware: remember each connection's request, to say what it is and to stop its task."""
        if request.transport is not None:
            self._requests[request.transport] = request
        return await handler(request)

    def _request(self, connection: RequestHandler) -> web.Request | None:
        return self._requests.get(connection.transport) if connection.transport is not None else None

    def waiting_for(self) -> str:
        """What the shutdown still waits for, e.g. "1 request in flight and 2 WebSockets"; "" for nothing."""
        connections = self._connections()
        sockets = 0
        for connection in connections:
            request = self._request(connection)
            sockets += request is not None and request.headers.get("Upgrade", "").lower() == "websocket"
        requests = len(connections) - sockets
        parts = [f"{requests} request{'s' * (requests != 1)} in flight"] if requests else []
        parts += [f"{sockets} WebSocket{'s' * (sockets != 1)}"] if sockets else []
        return " and ".join(parts)

    async def watch(self) -> None:
        """Runs beside aiohttp's shutdown: reports what it waits for, ends what is left at the deadline."""
        loop = asyncio.get_running_loop()
        ends = loop.time() + self._deadline
        while (left := ends - loop.time()) > 0:
            await asyncio.sleep(min(self.REPORT_EVERY, left))
            waiting = self.waiting_for()
            if not waiting:
                return
            if ends - loop.time() > 0:
                log.warning("shutdown waits for %s; closing them in %.0f s", waiting, ends - loop.time())
        log.warning("shutdown gave up after %g s: closing %s", self._deadline, self.waiting_for())
        connections = self._connections()
        # The tasks first: one blocked in sendfile ignores its socket's closing, and only a cancel frees it.
        for connection in connections:
            if (request := self._request(connection)) is not None and not request.task.done():
                request.task.cancel()
        await asyncio.sleep(0)
        for connection in connections:
            # Aborted, not closed: a close would wait for the stalled client to take the rest of the answer.
            if connection.transport is not None:
                connection.transport.abort()

    def exit_now(self, signum: int) -> None:
        """A second stop signal: leave at once, dying of that signal as the operator asked."""
        name = signal.Signals(signum).name
        log.warning("%s during shutdown: exiting now%s", name, f", dropping {w}" if (w := self.waiting_for()) else "")
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)


async def serve(app: web.Application, options: ServeOptions, listening: Callable[[], None] | None = None) -> None:
    """Serve `app` until SIGINT or SIGTERM, then shut it down gracefully: WebSockets are closed at once (1001),
    requests in flight get until `shutdown_timeout` s after the signal, and a second signal exits at once.
    `listening` is called once the socket is bound."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in STOP_SIGNALS:
        loop.add_signal_handler(signum, stop.set)
    if options.reuse_port:
        app.on_response_prepare.append(_name_worker)
    runner = web.AppRunner(
        app,
        access_log=None,
        keepalive_timeout=options.keepalive_timeout,
        # Longer than the drain's deadline: the drain ends what is left first; aiohttp cancelling the same
        # handlers at that moment makes asyncio log an error for a sendfile cancelled and aborted at once.
        shutdown_timeout=options.shutdown_timeout + Drain.REPORT_EVERY,
    )
    drain = Drain(runner, options.shutdown_timeout)
    app.middlewares.append(drain.track)
    await runner.setup()
    try:
        limits = connection_limits(options.max_connections, options.max_connections_per_client)
        site = LimitedSite(
            runner,
            options.host,
            options.port,
            limits,
            reuse_port=options.reuse_port,
            error_headers=options.error_headers,
        )
        await site.start()
        log.info("serving on %s", site.name)
        if listening is not None:
            listening()
        await stop.wait()
        for signum in STOP_SIGNALS:
            loop.add_signal_handler(signum, drain.exit_now, signum)
        watch = asyncio.create_task(drain.watch())
        await runner.cleanup()
        watch.cancel()
    finally:
        if runner.server is not None:
            await runner.cleanup()


async def _name_worker(request: web.Request, response: web.StreamResponse) -> None:
    """Which of several workers answered (its process id): for an operator chasing one worker's fault."""
    response.headers["X-Worker"] = str(os.getpid())


def install_repeat_filter(interval: float) -> None:
    """Put a `RepeatFilter` on every handler of the root logger (records of every logger pass them)."""
    repeat = RepeatFilter(interval)
    for handler in logging.getLogger().handlers:
        handler.addFilter(repeat)

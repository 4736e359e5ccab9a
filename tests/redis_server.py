"""A redis-server of a test's own, for what the shared one (127.0.0.1:6379) must never undergo: a restart, a pause,
a configuration change.

    with RedisServer() as server:       # started on a free port, answering PING
        server.url                      # redis://127.0.0.1:<port>/0
        server.client().config_set(...)  # a synchronous redis-py client (close it, or use it in a with block)
        server.stop(); server.start()   # a restart on the same port, with no data (nothing is saved)
        server.pause(); server.resume() # SIGSTOP / SIGCONT: a Redis that is there but does not answer
    # stopped (killed if it must be) and its directory removed
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import tempfile
import time
from types import TracebackType

import redis

# Seconds redis-server may take to answer PING after it starts, and to exit after SIGTERM, on a loaded machine.
START_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class RedisServer:
    """`redis-server --port <port> --save "" --appendonly no` in a temporary directory (port: a free one)."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port if port is not None else free_port()
        self._dir = tempfile.TemporaryDirectory(prefix="tp-redis-")
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Its URL, database 0."""
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def pid(self) -> int:
        """The running server's process id (RuntimeError when it is stopped)."""
        if self._process is None:
            raise RuntimeError("redis-server is not running")
        return self._process.pid

    def client(self) -> redis.Redis:
        """A new synchronous client of it."""
        return redis.Redis.from_url(self.url, socket_timeout=5)

    def start(self) -> None:
        """Start it on its port (again after `stop`: a restart with no data); returns once it answers PING, or
        raises RuntimeError."""
        if self._process is not None:
            raise RuntimeError("redis-server is already running")
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        command += ["--appendonly", "no", "--dir", self._dir.name, "--logfile", "redis.log"]
        self._process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                with self.client() as client:
                    client.ping()
                return
            except redis.ConnectionError:
                if self._process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"redis-server on port {self.port} did not start") from None
                time.sleep(0.05)

    def stop(self) -> None:
        """Stop it (SIGTERM, SIGKILL if it lingers); its clients' connections close. Nothing when stopped."""
        process, self._process = self._process, None
        if process is None:
            return
        os.kill(process.pid, signal.SIGCONT)  # a paused server cannot handle SIGTERM
        process.terminate()
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def pause(self) -> None:
        """SIGSTOP: connections stay open and nothing answers."""
        os.kill(self.pid, signal.SIGSTOP)

    def resume(self) -> None:
        """SIGCONT after `pause`."""
        os.kill(self.pid, signal.SIGCONT)

    def __enter__(self) -> RedisServer:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()
        self._dir.cleanup()

"""`python -m app` (or another command that takes its flags) as a real process on a local port: the one helper
that pytest, the Node tests and the benchmarks use to start a server.

From Python: `start(env)` or `with serving(env) as server:` gives a `LiveServer` once its health check
answers; `server.restart()` brings it back on the same port (a client then reconnects to the same URL).
From another language: `python -m tests.live_server [--port N] [NAME=VALUE ...]` prints the base URL on
one line once the server is healthy, and stops it when its standard input closes or it gets SIGTERM.
"""

from __future__ import annotations

import argparse
import os
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
HEALTH_PATH = "/api/v1/health"
STARTUP_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
# A free port can be taken by someone else between the probe and the server's bind.
START_ATTEMPTS = 3
# aiohttp's start-up banner, which says nothing about the run.
_BANNER = ("======== Running on ", "(Press CTRL+C to quit)")


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def is_healthy(url: str) -> bool:
    """Whether the server answers its health check with 200."""
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def log_tail(path: Path, lines: int = 40) -> str:
    """The last `lines` lines the server wrote, without its banner."""
    try:
        text = path.read_text(errors="replace")
    except OSError as error:
        return f"(cannot read {path}: {error})"
    said = [line for line in text.splitlines() if not line.startswith(_BANNER)]
    return "\n".join(said[-lines:])


def _server_preexec(cpu: int | None, fd_limit: int | None) -> Callable[[], None] | None:
    """What the forked child does before exec: pin itself to one core, raise its descriptor limit."""
    if cpu is None and fd_limit is None:
        return None

    def prepare() -> None:
        if cpu is not None:
            os.sched_setaffinity(0, {cpu})
        if fd_limit is not None:
            _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
            try:
                # Root may raise the hard limit too (not inside every container)...
                resource.setrlimit(resource.RLIMIT_NOFILE, (fd_limit, max(fd_limit, hard)))
            except (ValueError, OSError):
                # ...anyone may raise the soft one up to the hard one.
                resource.setrlimit(resource.RLIMIT_NOFILE, (min(fd_limit, hard), hard))

    return prepare


class LiveServer:
    """A running `python -m app` (or `command`); its output goes to a log file whose tail explains any failure."""

    def __init__(
        self,
        env: Mapping[str, str],
        port: int,
        *,
        cpu: int | None = None,
        fd_limit: int | None = None,
        args: Sequence[str] | None = None,
        command: Sequence[str] | None = None,
        cwd: Path | None = None,
        inherit_env: bool = True,
    ) -> None:
        self.env = dict(env)
        self.command = list(command) if command is not None else [sys.executable, "-m", "app"]
        self.cwd = cwd or ROOT
        self.inherit_env = inherit_env
        self.port = port
        self.cpu = cpu
        self.fd_limit = fd_limit
        self.args = args
        # What the server said, kept after stop() (the log file is then deleted).
        self.final_log = ""
        log = tempfile.NamedTemporaryFile(prefix="trading-pro-server-", suffix=".log", delete=False)  # noqa: SIM115
        log.close()
        self.log_path = Path(log.name)
        self.process = self._spawn()

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def url(self, path: str) -> str:
        return self.base_url + path

    def _spawn(self) -> subprocess.Popen[bytes]:
        flags = ("--host", HOST, "--port", str(self.port)) if self.args is None else self.args
        with self.log_path.open("ab") as log:
            return subprocess.Popen(
                [*self.command, *flags],
                cwd=self.cwd,
                env=os.environ | self.env if self.inherit_env else self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=_server_preexec(self.cpu, self.fd_limit),
            )

    def check_alive(self) -> None:
        """Raise, with the log's tail, if the process has exited."""
        if self.process.poll() is not None:
            code, tail = self.process.returncode, log_tail(self.log_path)
            raise RuntimeError(f"server exited with {code}; its log ends:\n{tail}")

    def wait_for_log(self, text: str, timeout: float = STARTUP_TIMEOUT) -> None:
        """Poll the server's log until it holds `text` (another process's words: nothing to await)."""
        deadline = time.monotonic() + timeout
        while text not in self.log_path.read_text(errors="replace"):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{text!r} not logged after {timeout} s:\n{log_tail(self.log_path)}")
            self.check_alive()
            try:
                self.process.wait(timeout=0.05)
            except subprocess.TimeoutExpired:
                continue

    def wait_healthy(self, timeout: float = STARTUP_TIMEOUT) -> None:
        """Poll the health check: a listening socket alone does not prove the application serves.

        Polling, not an event: nothing can be awaited across processes before the server listens.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            if is_healthy(self.url(HEALTH_PATH)):
                return
            try:
                # Waiting on the process rather than sleeping notices at once if it exits.
                self.process.wait(timeout=0.05)
            except subprocess.TimeoutExpired:
                continue
        self.check_alive()
        raise TimeoutError(f"server on port {self.port} not healthy after {timeout} s:\n{log_tail(self.log_path)}")

    def terminate(self, timeout: float = STOP_TIMEOUT) -> int:
        """SIGTERM, wait up to `timeout`, then SIGKILL; the exit code."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
        return self.process.returncode

    def restart(self, timeout: float = STARTUP_TIMEOUT) -> None:
        """Stop the server and start it again on the same port, with the same settings."""
        self.terminate()
        self.process = self._spawn()
        self.wait_healthy(timeout)

    def stop(self, *, keep_log: bool = False) -> None:
        """Stop it, keep the tail of its log in `final_log`, delete the log unless `keep_log`."""
        self.terminate()
        if self.log_path.exists():
            self.final_log = log_tail(self.log_path)
            if not keep_log:
                self.log_path.unlink()


def start(
    env: Mapping[str, str] = {},
    *,
    port: int | None = None,
    cpu: int | None = None,
    fd_limit: int | None = None,
    args: Sequence[str] | None = None,
    command: Sequence[str] | None = None,
    cwd: Path | None = None,
    inherit_env: bool = True,
    timeout: float = STARTUP_TIMEOUT,
) -> LiveServer:
    """A server with `env` on top of this process's environment, once healthy.

    `port=None` picks a free port (retried if it gets taken meanwhile); `cpu` pins the server to one
    core; `fd_limit` raises its descriptor limit; `args` replaces the `--host/--port` flags (then `env`
    must name the port, as PORT, and `port` must be given); `command` runs another program than
    `python -m app` (an installed `trading-pro`, `python trading-pro.pyz`) with the same flags, in `cwd`
    (default: the checkout); `inherit_env=False` gives it `env` alone, not this process's environment.
    """
    attempts = START_ATTEMPTS if port is None else 1
    for attempt in range(attempts):
        server = LiveServer(
            env,
            port or free_port(),
            cpu=cpu,
            fd_limit=fd_limit,
            args=args,
            command=command,
            cwd=cwd,
            inherit_env=inherit_env,
        )
        try:
            server.wait_healthy(timeout)
        except (RuntimeError, TimeoutError):
            server.stop(keep_log=attempt + 1 == attempts)
            if attempt + 1 == attempts:
                raise
            continue
        return server
    raise AssertionError("unreachable: the last attempt returns or raises")


@contextmanager
def serving(env: Mapping[str, str] = {}, **options: Any) -> Iterator[LiveServer]:
    """A running server (see `start` for the options), stopped on exit."""
    server = start(env, **options)
    try:
        yield server
    finally:
        server.stop()


def main(argv: Sequence[str] | None = None) -> None:
    """Serve for a process in another language: print the URL, stop on EOF of stdin or on SIGTERM."""
    parser = argparse.ArgumentParser(prog="python -m tests.live_server", description=__doc__)
    parser.add_argument("--port", type=int, help="listen on this port (default: a free one)")
    parser.add_argument("env", nargs="*", metavar="NAME=VALUE", help="settings for the server")
    options = parser.parse_args(argv)
    env = dict(item.split("=", 1) for item in options.env)
    server = start(env, port=options.port)

    def on_sigterm(_signum: int, _frame: object) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, on_sigterm)
    try:
        print(server.base_url, flush=True)
        sys.stdin.read()
    finally:
        server.stop()
        if server.process.returncode not in (0, -signal.SIGTERM):
            print(server.final_log, file=sys.stderr)


if __name__ == "__main__":
    main()

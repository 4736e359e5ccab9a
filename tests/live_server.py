"""`python -m app` as a real process on a free local port, for tests that need one."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
HEALTH_PATH = "/api/v1/health"
STARTUP_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0
START_ATTEMPTS = 3


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def is_healthy(url: str) -> bool:
    """Whether the server answers its health check."""
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def stop(process: subprocess.Popen[bytes]) -> None:
    """Terminate the server, killing it if it does not exit in time."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def start(env: Mapping[str, str] = {}, args: tuple[str, ...] | None = None) -> tuple[subprocess.Popen[bytes], str]:
    """The server, once its health check answers; retried if the port got taken meanwhile.

    `args` replaces the default `--host/--port` flags (then `env` must name the port, as PORT).
    """
    for _ in range(START_ATTEMPTS):
        port = int(env["PORT"]) if args is not None else free_port()
        base_url = f"http://{HOST}:{port}"
        flags = args if args is not None else ("--host", HOST, "--port", str(port))
        command = [sys.executable, "-m", "app", *flags]
        process = subprocess.Popen(command, cwd=ROOT, env=os.environ | dict(env), stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if is_healthy(base_url + HEALTH_PATH):
                return process, base_url
            try:
                # Waiting on the process rather than sleeping notices at once if it exits.
                process.wait(timeout=0.05)
            except subprocess.TimeoutExpired:
                continue
            break
        stop(process)
    raise RuntimeError(f"`{' '.join(command)}` did not become healthy (its output is in the captured stderr)")


@contextmanager
def serving(env: Mapping[str, str] = {}, args: tuple[str, ...] | None = None) -> Iterator[str]:
    """The base URL of a running server, stopped on exit."""
    process, base_url = start(env, args)
    try:
        yield base_url
    finally:
        stop(process)

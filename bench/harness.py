"""Shared machinery of the benchmarks (`rest.py`, `ws_fanout.py`, `ws_capacity.py`); not run by itself.

- Server and client-process management: the server runs as `python -m app` pinned to one CPU with
  its output in a temporary log; load clients run as spawned processes pinned to the other CPU and
  talk to the driving script over a pipe.
- Readers of /proc: a process's CPU time and resident memory, each core's busy time (to notice
  other processes disturbing a run on a shared machine).
- Reporting: a plain-text table, and the JSON results file under bench/results/.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import multiprocessing
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = REPO_ROOT / "bench" / "results"
HOST = "127.0.0.1"
HEALTH_PATH = "/api/v1/health"
SERVER_CPU = 0
# Where the load runs: client processes, wrk, and the driving script itself.
CLIENT_CPU = 1
# Enough descriptors for 10,000 sockets plus the interpreter's own; root may raise the hard limit too.
FD_LIMIT = 65536
CLK_TCK = os.sysconf("SC_CLK_TCK")

Message = dict[str, Any]
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
    """CPU seconds one core spent running tasks (user + nice + system), in hard and soft interrupts,
    and stolen by the host."""

    tasks: float
    irq: float
    softirq: float
    steal: float


def core_times() -> dict[int, CoreTimes]:
    """Per core (keyed by its number), from /proc/stat; compared with a process's own time it reveals other load."""
    cores = {}
    for line in Path("/proc/stat").read_text().splitlines():
        name, *ticks = line.split()
        if name.startswith("cpu") and name != "cpu":
            user, nice, system, _idle, _iowait, irq, softirq, steal = (int(t) for t in ticks[:8])
            times = (user + nice + system, irq, softirq, steal)
            cores[int(name.removeprefix("cpu"))] = CoreTimes(*(t / CLK_TCK for t in times))
    return cores


def core_time(cpu: int) -> CoreTimes:
    """CoreTimes of one core; raises if /proc/stat does not list it (offline)."""
    try:
        return core_times()[cpu]
    except KeyError:
        raise RuntimeError(f"no cpu{cpu} in /proc/stat") from None


def busiest_core(sample: float = 1.0) -> float:
    """The largest share of a core that tasks and softirqs used over `sample` seconds."""
    before = core_times()
    time.sleep(sample)
    after = core_times()
    return max(
        (a.tasks + a.softirq - b.tasks - b.softirq) / sample
        for a, b in ((after[cpu], before[cpu]) for cpu in after.keys() & before.keys())
    )


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
    """Pin the calling process; threads it starts later (and children it forks) inherit the pinning."""
    os.sched_setaffinity(0, {cpu})


def _prepare_server_process(cpu: int) -> None:
    # Runs in the forked child before exec, so the limits and the pinning are the server's own.
    pin_to_cpu(cpu)
    raise_fd_limit()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


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


def fetch(url: str, timeout: float = 5.0) -> tuple[int, bytes]:
    """Status and body of a GET; an HTTP error status is an answer, not an exception."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as error:
        return error.code, error.read()


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

    def url(self, path: str) -> str:
        return f"http://{HOST}:{self.port}{path}"

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            code = self.process.returncode
            raise RuntimeError(f"server exited with {code}; its log ends:\n{log_tail(self.log_path)}")

    def stop(self, timeout: float = 10.0, *, keep_log: bool = False) -> None:
        """Stop it and keep the tail of its log (shutdown included); the log file is deleted unless `keep_log`."""
        stop_process(self.process, timeout)
        if self.log_path.exists():
            self.final_log = log_tail(self.log_path)
            if not keep_log:
                self.log_path.unlink()


def start_server(name: str, env: Mapping[str, str], *, cpu: int = SERVER_CPU, ready_timeout: float = 30.0) -> Server:
    """Start the server pinned to `cpu` with `env` on top of ours; returns once its health endpoint answers 200.

    `name` (the benchmark's) prefixes the log file's name. Raises, with the log's tail, if the server exits or
    is not ready in `ready_timeout` seconds.
    """
    port = free_port()
    log = tempfile.NamedTemporaryFile(prefix=f"{name}-bench-server-", suffix=".log", delete=False)  # noqa: SIM115
    command = [sys.executable, "-m", "app", "--host", HOST, "--port", str(port)]
    process = subprocess.Popen(
        command,
        cwd=REPO_ROOT,
        env=os.environ | dict(env),
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        preexec_fn=lambda: _prepare_server_process(cpu),
    )
    log.close()
    server = Server(process, port, Path(log.name))
    try:
        _wait_ready(server, ready_timeout)
    except BaseException:
        server.stop()
        raise
    return server


def _wait_ready(server: Server, timeout: float) -> None:
    """Poll the health endpoint: a listening socket alone does not prove the application serves."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        server.check_alive()
        try:
            if fetch(server.url(HEALTH_PATH), timeout=1.0)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"server on port {server.port} not ready after {timeout} s:\n{log_tail(server.log_path)}")


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


# --- reporting -----------------------------------------------------------------------------------


def format_table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    cells = [list(headers), *([str(value) for value in row] for row in rows)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True)) for row in cells]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def write_json(name: str, data: Mapping[str, Any]) -> Path:
    """Write `data` to bench/results/`name`; its path."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / name
    path.write_text(json.dumps(data, indent=2) + "\n")
    return path


def environment(**extra: Any) -> dict[str, Any]:
    """What the figures depend on besides the code: the common part, then the benchmark's own `extra`."""
    from importlib.metadata import version

    return {
        "python": sys.version.split()[0],
        "aiohttp": version("aiohttp"),
        "cpus": os.cpu_count(),
        "server_cpu": SERVER_CPU,
        **extra,
    }

"""Shared machinery of the benchmarks (`rest.py`, `ws_fanout.py`, `ws_capacity.py`, `page.py`); not run by itself.

- The server: `tests/live_server.py`, the one helper that starts `python -m app` for tests and benchmarks,
  here pinned to one CPU with a descriptor limit for thousands of sockets. Load clients run as spawned
  processes pinned to the other CPU and talk to the driving script over a pipe.
- Readers of /proc: a process's CPU time and resident memory, each core's busy time (to notice
  other processes disturbing a run on a shared machine), and how the kernel accounts interrupt time.
- Reporting: a plain-text table, and the JSON results file under bench/results/.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gzip
import json
import multiprocessing
import os
import platform
import resource
import sys
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
# The benchmarks run as scripts (`python bench/X.py`), so only bench/ is on the path; the root makes the
# repository's own modules importable, the server helper first of all.
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from tests.live_server import HOST as HOST  # noqa: E402
from tests.live_server import LiveServer as LiveServer  # noqa: E402
from tests.live_server import start  # noqa: E402

RESULTS_DIR = REPO_ROOT / "bench" / "results"
SERVER_CPU = 0
# Where the load runs: client processes, wrk, and the driving script itself.
CLIENT_CPU = 1
# Enough descriptors for 10,000 sockets plus the interpreter's own; root may raise the hard limit too.
FD_LIMIT = 65536
CLK_TCK = os.sysconf("SC_CLK_TCK")

Message = dict[str, Any]
P = TypeVar("P")


# --- the server ----------------------------------------------------------------------------------


def start_server(env: Mapping[str, str]) -> LiveServer:
    """`python -m app` with `env` on top of ours, pinned to SERVER_CPU, once healthy.

    Raises RuntimeError or TimeoutError, with the tail of the server's log, if it exits or is not healthy in time.
    """
    # Ask for no more descriptors than this process could get: even root may lack the right to raise the hard
    # limit (a container without CAP_SYS_RESOURCE), and a refused request would fail the server's start.
    return start(env, cpu=SERVER_CPU, fd_limit=raise_fd_limit())


def fetch(url: str, timeout: float = 5.0) -> tuple[int, bytes]:
    """Status and body of a GET; an HTTP error status is an answer, not an exception."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as error:
        return error.code, error.read()


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


_ACCOUNTING_OPTIONS = (
    "CONFIG_TICK_CPU_ACCOUNTING",
    "CONFIG_VIRT_CPU_ACCOUNTING_GEN",
    "CONFIG_IRQ_TIME_ACCOUNTING",
    "CONFIG_HZ",
)
_ACCOUNTING_MEANING = {
    "tick": "sampled at each timer tick: a tick that lands in a softirq counts as softirq in /proc/stat AND as "
    "system time of the task it interrupted, so a process's CPU time includes the softirqs it ran",
    "precise": "interrupt time measured at entry and exit and charged to no task: softirq work (loopback TCP) "
    "is missing from every process's CPU time and appears only in /proc/stat's softirq column",
    "virt-gen": "measured at kernel entry and exit on nohz_full cores, sampled at ticks elsewhere",
}


def kernel_config() -> tuple[dict[str, str], str] | tuple[None, str]:
    """The running kernel's build options and where they were read, or None and why they could not be."""
    release = platform.release()
    reasons = []
    for path in (Path("/proc/config.gz"), Path(f"/boot/config-{release}")):
        try:
            raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        except OSError as error:
            reasons.append(f"{path}: {error.strerror or error}")
            continue
        options = {}
        for line in raw.decode(errors="replace").splitlines():
            if line.startswith("CONFIG_"):
                name, _, value = line.partition("=")
                options[name] = value
            elif line.startswith("# CONFIG_") and line.endswith(" is not set"):
                options[line[2:].removesuffix(" is not set")] = "n"
        return options, str(path)
    return None, "; ".join(reasons)


@functools.cache
def irq_time_accounting() -> dict[str, Any]:
    """How the kernel splits CPU time between tasks and interrupts, which decides what the softirq figures mean.

    From the kernel's build options (/proc/config.gz, else /boot/config-<release>) and its command line (x86's
    `tsc=noirqtime` turns precise interrupt accounting off at boot). Mode "unknown" (with the reason) when neither
    file is readable. The kernel may also turn precise accounting off at run time if it finds the TSC unstable;
    nothing in /proc or /sys shows that, so the clock source is recorded beside it.
    """
    options, source = kernel_config()
    try:
        cmdline = Path("/proc/cmdline").read_text().split()
    except OSError:
        cmdline = []
    try:
        clocksource = Path("/sys/devices/system/clocksource/clocksource0/current_clocksource").read_text().strip()
    except OSError:
        clocksource = "unknown"
    found: dict[str, Any] = {"kernel": platform.release(), "clocksource": clocksource}
    if options is None:
        return found | {"mode": "unknown", "why": f"no kernel configuration readable ({source})"}
    if options.get("CONFIG_IRQ_TIME_ACCOUNTING") == "y":
        mode = "tick" if "tsc=noirqtime" in cmdline else "precise"
    elif options.get("CONFIG_VIRT_CPU_ACCOUNTING_GEN") == "y":
        mode = "virt-gen"
    elif options.get("CONFIG_TICK_CPU_ACCOUNTING") == "y":
        mode = "tick"
    else:
        return found | {"mode": "unknown", "why": f"no CPU accounting option set in {source}", "source": source}
    return found | {
        "mode": mode,
        "meaning": _ACCOUNTING_MEANING[mode],
        "source": source,
        "options": {name: options.get(name, "absent") for name in _ACCOUNTING_OPTIONS},
        "noirqtime_on_cmdline": "tsc=noirqtime" in cmdline,
    }


def accounting_line() -> str:
    """One line for a report that shows softirq figures: the accounting mode, where it was read, what it means."""
    found = irq_time_accounting()
    if found["mode"] == "unknown":
        return f"Kernel interrupt time accounting: unknown ({found['why']})"
    return f"Kernel interrupt time accounting: {found['mode']} (from {found['source']}): {found['meaning']}"


def softirq_in_process_time() -> bool:
    """Whether a process's CPU time includes the softirqs it ran (true unless accounting is precise)."""
    return bool(irq_time_accounting()["mode"] != "precise")


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
        "irq_time_accounting": irq_time_accounting(),
        **extra,
    }

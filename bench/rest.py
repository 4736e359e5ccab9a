"""REST benchmark: throughput, latency and server CPU per request of the HTTP endpoints, measured with wrk.

A fresh server (`python -m app`, bar broadcaster off so only requests cost CPU) runs pinned to CPU 0; wrk runs
pinned to CPU 1 with one thread and --connections keep-alive connections (default 50). Each scenario gets a 2 s
warm-up run, which is discarded, then a measured run of --duration seconds (default 10) that reports:

- requests/s and the p50 / p99 latency, from a Lua `done` callback in wrk;
- non-2xx answers and socket errors (connect, read, write, timeout), so errors never pass for speed;
- server CPU per request: the server's utime + stime (/proc/<pid>/stat) over the measured run divided by the
  requests, so it includes the kernel's share of loopback TCP;
- server CPU utilisation (CPU seconds / wall seconds) and the server's VmRSS after the run;
- how busy CPU 0 was in all (/proc/stat), and its softirq share: whether loopback TCP work done in softirq
  is charged to the server process depends on the kernel's accounting, so "core %" near 100 is the sign that
  the server's core was full, even when "CPU %" is lower.

Every URL is fetched once beforehand and must answer 200 with at least 300 bars, so an error page is never
benchmarked. The targets (/bars with 300 bars: at least 5,000 req/s with p99 under 25 ms; health: at least
10,000 req/s) are printed next to the figures, not asserted.

Run from the repository root:

    .venv/bin/python bench/rest.py [--duration 10] [--connections 50]

Results are printed and written to bench/results/rest.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from harness import (
    CLIENT_CPU,
    REPO_ROOT,
    SERVER_CPU,
    Server,
    core_time,
    cpu_seconds,
    environment,
    fetch,
    format_table,
    rss_kb,
    start_server,
    write_json,
)

RESULTS_NAME = "rest.json"
WRK_CPU = CLIENT_CPU
WARM_UP_SECONDS = 2
MIN_BARS = 300
# The ticking bar broadcaster would spend server CPU that has nothing to do with the requests measured.
SERVER_ENV = {"BAR_BROADCASTER_ENABLED": "false"}
RESULT_MARKER = "WRK_RESULT "

# wrk reports latencies and duration in microseconds; percentile() yields whole numbers, hence %d.
WRK_LUA = f"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{RESULT_MARKER}{{"requests": %d, "duration_us": %d, "bytes": %d, "p50_us": %d, "p99_us": %d, "max_us": %d, '
    .. '"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}}\\n',
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.status, e.timeout))
end
"""


@dataclass(frozen=True)
class Target:
    min_rps: float
    max_p99_ms: float | None = None

    def describe(self) -> str:
        p99 = f", p99 < {self.max_p99_ms:g} ms" if self.max_p99_ms is not None else ""
        return f">= {self.min_rps:,.0f} req/s{p99}"

    def met(self, rps: float, p99_ms: float) -> bool:
        return rps >= self.min_rps and (self.max_p99_ms is None or p99_ms < self.max_p99_ms)


@dataclass(frozen=True)
class Scenario:
    name: str
    path: str
    # Which JSON list must hold at least MIN_BARS entries; None for endpoints without bars.
    bars_key: str | None
    target: Target | None


@dataclass(frozen=True)
class WrkResult:
    requests: int
    duration_us: int
    bytes: int
    p50_us: int
    p99_us: int
    max_us: int
    connect: int
    read: int
    write: int
    status: int
    timeout: int


@dataclass(frozen=True)
class Measurement:
    scenario: str
    path: str
    requests: int
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    bytes_per_request: float
    server_cpu_us_per_request: float
    server_cpu_utilisation: float
    # All non-idle time of the server's core, softirq included: with precise IRQ time accounting the kernel
    # charges softirq work (loopback TCP) to no process, so the process's own CPU time can understate the load.
    server_core_busy: float
    server_core_softirq: float
    server_rss_mb: float
    non_2xx: int
    socket_errors: int
    target: str | None
    target_met: bool | None


# --- scenarios ------------------------------------------------------------------------------------------------


def scenarios(now: int) -> list[Scenario]:
    """The URLs measured; the time windows are tiny on purpose so count_back alone decides the 300 bars."""
    bars_target = Target(min_rps=5_000, max_p99_ms=25)
    minute = f"from_time={now - 60}&to_time={now + 60}&count_back={MIN_BARS}"
    day = f"from_time={now - 86_400}&to_time={now + 86_400}&count_back={MIN_BARS}"
    udf_minute = f"from={now - 60}&to={now + 60}&countback={MIN_BARS}"
    udf_day = f"from={now - 86_400}&to={now + 86_400}&countback={MIN_BARS}"
    return [
        Scenario("health", "/api/v1/health", None, Target(min_rps=10_000)),
        Scenario("bars 1", f"/api/v1/datafeed/bars?symbol=BTCUSD&resolution=1&{minute}", "bars", bars_target),
        Scenario("bars 1D", f"/api/v1/datafeed/bars?symbol=AAPL&resolution=1D&{day}", "bars", bars_target),
        Scenario("udf history 1", f"/api/v1/udf/history?symbol=BTCUSD&resolution=1&{udf_minute}", "t", None),
        Scenario("udf history 1D", f"/api/v1/udf/history?symbol=AAPL&resolution=1D&{udf_day}", "t", None),
    ]


def check_scenario(server: Server, scenario: Scenario) -> None:
    """Fail unless the URL answers 200 with enough bars: a fast error page would be a meaningless figure."""
    status, body = fetch(server.url(scenario.path))
    if status != 200:
        raise SystemExit(f"{scenario.name}: {scenario.path} answered {status}: {body[:500]!r}")
    if scenario.bars_key is None:
        return
    bars = json.loads(body).get(scenario.bars_key)
    count = len(bars) if isinstance(bars, list) else 0
    if count < MIN_BARS:
        raise SystemExit(f"{scenario.name}: {scenario.path} answered {count} bars, expected at least {MIN_BARS}")


# --- server log -----------------------------------------------------------------------------------------------


def log_problems(path: Path) -> list[str]:
    """Lines of the server's log that hint at failures during the run."""
    words = ("Traceback", "ERROR", "Error", "Exception", "WARNING")
    return [line for line in path.read_text(errors="replace").splitlines() if any(word in line for word in words)]


# --- CPU usage ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Usage:
    """Cumulative CPU counters and the clock; the difference of two is the usage over a run."""

    process: float
    core_busy: float
    core_softirq: float
    wall: float

    @classmethod
    def now(cls, pid: int) -> Usage:
        # Busy time as the kernel counts it for the core: tasks and interrupts; steal and guest time left out.
        core = core_time(SERVER_CPU)
        return cls(cpu_seconds(pid), core.tasks + core.irq + core.softirq, core.softirq, time.monotonic())

    def __sub__(self, other: Usage) -> Usage:
        return Usage(
            self.process - other.process,
            self.core_busy - other.core_busy,
            self.core_softirq - other.core_softirq,
            self.wall - other.wall,
        )


# --- wrk ------------------------------------------------------------------------------------------------------


def run_wrk(url: str, lua: Path, seconds: int, connections: int) -> WrkResult:
    command = [
        *("taskset", "-c", str(WRK_CPU)),
        *("wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s", "-s", str(lua), url),
    ]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=False)
    if completed.returncode != 0:
        raise SystemExit(f"wrk failed ({completed.returncode}): {completed.stderr or completed.stdout}")
    return parse_wrk(completed.stdout)


def parse_wrk(output: str) -> WrkResult:
    for line in output.splitlines():
        if line.startswith(RESULT_MARKER):
            return WrkResult(**json.loads(line.removeprefix(RESULT_MARKER)))
    raise SystemExit(f"no {RESULT_MARKER.strip()} line in wrk's output:\n{output}")


def measure(server: Server, scenario: Scenario, lua: Path, seconds: int, connections: int) -> Measurement:
    url = server.url(scenario.path)
    run_wrk(url, lua, WARM_UP_SECONDS, connections)
    before = Usage.now(server.pid)
    result = run_wrk(url, lua, seconds, connections)
    usage = Usage.now(server.pid) - before
    return summarize(scenario, result, usage, rss_kb(server.pid) / 1024)


def summarize(scenario: Scenario, result: WrkResult, usage: Usage, rss: float) -> Measurement:
    requests = max(result.requests, 1)
    cpu, wall = usage.process, usage.wall
    rps = result.requests / (result.duration_us / 1e6)
    p99_ms = result.p99_us / 1000
    return Measurement(
        scenario=scenario.name,
        path=scenario.path,
        requests=result.requests,
        requests_per_s=round(rps, 1),
        p50_ms=result.p50_us / 1000,
        p99_ms=p99_ms,
        max_ms=result.max_us / 1000,
        bytes_per_request=round(result.bytes / requests, 1),
        server_cpu_us_per_request=round(cpu / requests * 1e6, 1),
        server_cpu_utilisation=round(cpu / wall, 3),
        server_core_busy=round(usage.core_busy / wall, 3),
        server_core_softirq=round(usage.core_softirq / wall, 3),
        server_rss_mb=round(rss, 1),
        non_2xx=result.status,
        socket_errors=result.connect + result.read + result.write + result.timeout,
        target=scenario.target.describe() if scenario.target else None,
        target_met=scenario.target.met(rps, p99_ms) if scenario.target else None,
    )


# --- reporting ------------------------------------------------------------------------------------------------


def report(measurements: Sequence[Measurement]) -> str:
    headers = ["scenario", "req/s", "p50 ms", "p99 ms", "CPU us/req", "CPU %", "core %", "softirq %", "RSS MB"]
    headers += ["non-2xx", "sock err", "target", "met"]
    rows = [
        [
            m.scenario,
            f"{m.requests_per_s:,.0f}",
            f"{m.p50_ms:.2f}",
            f"{m.p99_ms:.2f}",
            f"{m.server_cpu_us_per_request:.0f}",
            f"{m.server_cpu_utilisation * 100:.0f}",
            f"{m.server_core_busy * 100:.0f}",
            f"{m.server_core_softirq * 100:.0f}",
            f"{m.server_rss_mb:.0f}",
            m.non_2xx,
            m.socket_errors,
            m.target or "-",
            "-" if m.target_met is None else ("yes" if m.target_met else "NO"),
        ]
        for m in measurements
    ]
    return format_table(headers, rows)


def bench_environment(args: argparse.Namespace) -> dict[str, Any]:
    """What the figures depend on besides the code."""
    return environment(
        wrk_cpu=WRK_CPU,
        wrk_threads=1,
        connections=args.connections,
        duration_s=args.duration,
        warm_up_s=WARM_UP_SECONDS,
        server_env=SERVER_ENV,
    )


# --- main -----------------------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Benchmark the REST endpoints with wrk.")
    parser.add_argument("--duration", type=int, default=10, help="seconds of each measured run (default 10)")
    parser.add_argument("--connections", type=int, default=50, help="wrk connections (default 50)")
    args = parser.parse_args()
    if args.duration < 1 or args.connections < 1:
        parser.error("--duration and --connections must be at least 1")
    return args


def check_machine() -> None:
    if not {SERVER_CPU, WRK_CPU} <= os.sched_getaffinity(0):
        raise SystemExit(f"needs CPUs {SERVER_CPU} and {WRK_CPU}: server and wrk must not share a core")
    missing = [tool for tool in ("wrk", "taskset") if shutil.which(tool) is None]
    if missing:
        raise SystemExit(f"missing tools: {', '.join(missing)}")


def run_all(server: Server, lua: Path, args: argparse.Namespace) -> list[Measurement]:
    plan = scenarios(int(time.time()))
    for scenario in plan:
        check_scenario(server, scenario)
    measurements = []
    for scenario in plan:
        print(f"measuring {scenario.name} ...", flush=True)
        measurements.append(measure(server, scenario, lua, args.duration, args.connections))
    return measurements


def main() -> None:
    args = parse_args()
    check_machine()
    with tempfile.TemporaryDirectory(prefix="rest-bench-") as workdir:
        lua = Path(workdir) / "report.lua"
        lua.write_text(WRK_LUA)
        try:
            server = start_server("rest", SERVER_ENV)
        except (OSError, RuntimeError, TimeoutError) as error:
            raise SystemExit(f"server did not start: {error}") from None
        try:
            measurements = run_all(server, lua, args)
        finally:
            server.stop(keep_log=True)
    print()
    print(report(measurements))
    path = write_json(
        RESULTS_NAME, {"environment": bench_environment(args), "results": [asdict(m) for m in measurements]}
    )
    print(f"\nwritten to {path.relative_to(REPO_ROOT)}")
    problems = log_problems(server.log_path)
    if not problems:
        server.log_path.unlink()
        print("server log: no errors or warnings")
        return
    print(f"server log {server.log_path} (kept): {len(problems)} line(s) with errors or warnings, first ones:")
    for line in problems[:20]:
        print(f"  {line}")


if __name__ == "__main__":
    main()

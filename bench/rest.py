"""REST benchmark: throughput, latency and server CPU per request of the HTTP endpoints, measured with wrk.

A fresh server (`python -m app`, bar broadcaster off so only requests cost CPU) runs pinned to CPU 0; wrk runs
pinned to CPU 1 with one thread and --connections keep-alive connections (default 50). Two kinds of load:

- hot (one URL repeated): health, /bars and UDF /history at 1 minute and 1 day, 300 bars each. Every answer
  after the first comes from warm caches, so these are the best case;
- rotating: --rotating-urls (default 3,000) /bars URLs of 300 bars each, drawn with a fixed --seed over every
  instrument, resolutions 1/5/15/60/1D and windows anywhere in the last 50 days (intraday) or 15 years (daily);
  see rotating.py. They are verified on the first server, then measured on a fresh one: first one pass through
  all of them (cold: no window has been served before, nothing is cached), then cycling through them as the
  hot loads do. The output says whether the set needs more cache blocks than the server keeps, which is what
  would keep the cycling run cold too.

Each hot or cycling scenario gets a 2 s warm-up run, which is discarded (the cycling one then continues where
the warm-up stopped), then a measured run of --duration seconds (default 10); the cold pass stops after one
answer per URL. Each reports:

- requests/s and the p50 / p99 latency, from a Lua `done` callback in wrk;
- non-2xx answers (counted by a Lua `response` callback) and socket errors (connect, read, write, timeout): a
  run with any of them is FAILED, whatever its speed, and the script exits with status 1;
- server CPU per request: the server's utime + stime (/proc/<pid>/stat) over the measured run divided by the
  requests;
- server CPU utilisation (CPU seconds / wall seconds) and the server's VmRSS after the run;
- how busy CPU 0 was in all (/proc/stat), and its softirq share. What the process's own CPU time includes of
  the softirq work (loopback TCP) depends on the kernel's interrupt time accounting, recorded with the results
  ("irq_time_accounting"); "core %" near 100 says the server's core was full, whatever "CPU %" says.

Every URL is fetched beforehand and must answer 200 with 300 bars (all of the rotating ones, each with exactly
300 bars before its end), so an error page is never benchmarked. The targets are printed next to the figures,
never asserted: hot /bars at least 5,000 req/s with p99 under 25 ms, health at least 10,000 req/s; the rotating
load (both runs are shown against them; the cycling one is the scenario they were set for) at least 40 % of the
hot /bars throughput, p99 at most 50 ms and server RSS at most 300 MB.

Run from the repository root:

    .venv/bin/python bench/rest.py [--duration 10] [--connections 50] [--rotating-urls 3000] [--seed 7]

Results are printed and written to bench/results/rest.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import rotating
from harness import (
    CLIENT_CPU,
    REPO_ROOT,
    SERVER_CPU,
    LiveServer,
    Message,
    accounting_line,
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
# The ticking bar broadcaster would spend server CPU that has nothing to do with the requests measured, and the
# access log's line per request (about 50 us of CPU; bench/access_log.py measures it) would hide the handlers'.
SERVER_ENV = {"BAR_BROADCASTER_ENABLED": "false", "ACCESS_LOG": "false"}
RESULT_MARKER = "WRK_RESULT "
HOT = "hot (one URL repeated)"
COLD = "rotating, first pass (cold)"
ROTATING = "rotating, cycling"
# Longest a first pass through the rotating URLs may take (wrk waits this long whatever happens).
COLD_PASS_SECONDS = 30
# Targets of the rotating load, from a later issue: printed, never asserted.
ROTATING_MIN_SHARE = 0.40
ROTATING_MAX_P99_MS = 50.0
ROTATING_MAX_RSS_MB = 300.0

# One script for every scenario, so wrk does the same work per request whatever the load: it cycles through
# the paths of a file (one per line) from a given line, stops after a given number of answers (0: at the end of
# its duration), and counts answers outside 2xx, which wrk's own
# `status` error count does not (it counts only 4xx and 5xx). wrk reports latencies and duration in
# microseconds; percentile() yields whole numbers, hence %d.
WRK_LUA = f"""
local ffi = require("ffi")
ffi.cdef[[
typedef struct {{ long tv_sec; long tv_nsec; }} timespec;
int clock_gettime(int clock, timespec *now);
]]
local now = ffi.new("timespec")

-- CLOCK_MONOTONIC, in microseconds.
local function monotonic_us()
  ffi.C.clock_gettime(1, now)
  return tonumber(now.tv_sec) * 1000000 + math.floor(tonumber(now.tv_nsec) / 1000)
end

local threads = {{}}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  paths = {{}}
  for line in io.lines(args[1]) do paths[#paths + 1] = line end
  position = tonumber(args[2])
  limit = tonumber(args[3])
  answered = 0
  first_sent_us = 0
  last_answer_us = 0
  non_2xx = 0
  first_bad_status = 0
end

function request()
  if first_sent_us == 0 then first_sent_us = monotonic_us() end
  local path = paths[position]
  position = position % #paths + 1
  return wrk.format(nil, path)
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non_2xx = non_2xx + 1
    if first_bad_status == 0 then first_bad_status = status end
  end
  answered = answered + 1
  if limit > 0 and answered >= limit then
    last_answer_us = monotonic_us()
    wrk.thread:stop()
  end
end

done = function(summary, latency, requests)
  local non_2xx, first_bad_status = 0, 0
  -- With a limit, wrk itself still waits out its duration: the run lasted from the first request to the last
  -- answer counted.
  local duration = summary.duration
  for _, thread in ipairs(threads) do
    non_2xx = non_2xx + thread:get("non_2xx")
    if first_bad_status == 0 then first_bad_status = thread:get("first_bad_status") end
    if thread:get("last_answer_us") > 0 then duration = thread:get("last_answer_us") - thread:get("first_sent_us") end
  end
  local e = summary.errors
  io.write(string.format(
    '{RESULT_MARKER}{{"requests": %d, "duration_us": %d, "bytes": %d, "p50_us": %d, "p99_us": %d, "max_us": %d, '
    .. '"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d, "non_2xx": %d, '
    .. '"first_bad_status": %d}}\\n',
    summary.requests, duration, summary.bytes,
    latency:percentile(50), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.status, e.timeout, non_2xx, first_bad_status))
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
    load: str
    # wrk cycles through these; a hot scenario has one.
    paths: Sequence[str]
    # Which JSON list of a hot answer must hold at least MIN_BARS entries; None for endpoints without bars.
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
    non_2xx: int
    first_bad_status: int


@dataclass(frozen=True)
class Measurement:
    scenario: str
    load: str
    urls: int
    first_path: str
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
    first_bad_status: int
    socket_errors: int
    failed: bool
    target: str | None
    target_met: bool | None

    def verdict(self) -> str:
        """FAILED for any error answer or socket error, whatever the speed; else whether the target was met."""
        if self.failed:
            return f"FAILED ({self.non_2xx} non-2xx, first {self.first_bad_status}; {self.socket_errors} socket errors)"
        if self.target_met is None:
            return "-"
        return "yes" if self.target_met else "NO"


# --- scenarios ------------------------------------------------------------------------------------------------


def hot_scenarios(now: int) -> list[Scenario]:
    """The single URLs measured; the time windows are tiny on purpose so count_back alone decides the 300 bars."""
    bars_target = Target(min_rps=5_000, max_p99_ms=25)
    minute = f"from_time={now - 60}&to_time={now + 60}&count_back={MIN_BARS}"
    day = f"from_time={now - 86_400}&to_time={now + 86_400}&count_back={MIN_BARS}"
    udf_minute = f"from={now - 60}&to={now + 60}&countback={MIN_BARS}"
    udf_day = f"from={now - 86_400}&to={now + 86_400}&countback={MIN_BARS}"
    return [
        Scenario("health", HOT, ["/api/v1/health"], None, Target(min_rps=10_000)),
        Scenario("bars 1", HOT, [f"/api/v1/datafeed/bars?symbol=BTCUSD&resolution=1&{minute}"], "bars", bars_target),
        Scenario("bars 1D", HOT, [f"/api/v1/datafeed/bars?symbol=AAPL&resolution=1D&{day}"], "bars", bars_target),
        Scenario("udf history 1", HOT, [f"/api/v1/udf/history?symbol=BTCUSD&resolution=1&{udf_minute}"], "t", None),
        Scenario("udf history 1D", HOT, [f"/api/v1/udf/history?symbol=AAPL&resolution=1D&{udf_day}"], "t", None),
    ]


def check_hot(server: LiveServer, scenario: Scenario) -> None:
    """Fail unless the URL answers 200 with enough bars: a fast error page would be a meaningless figure."""
    (path,) = scenario.paths
    status, body = fetch(server.url(path))
    if status != 200:
        raise SystemExit(f"{scenario.name}: {path} answered {status}: {body[:500]!r}")
    if scenario.bars_key is None:
        return
    bars = json.loads(body).get(scenario.bars_key)
    count = len(bars) if isinstance(bars, list) else 0
    if count < MIN_BARS:
        raise SystemExit(f"{scenario.name}: {path} answered {count} bars, expected at least {MIN_BARS}")


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


def run_wrk(
    base_url: str, lua: Path, paths_file: Path, first: int, seconds: int, connections: int, limit: int = 0
) -> WrkResult:
    """wrk cycling through `paths_file` from its line `first` (1-based) for `seconds`, or until `limit` answers."""
    command = [
        *("taskset", "-c", str(WRK_CPU)),
        *("wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s", "-s", str(lua), base_url),
        *("--", str(paths_file), str(first), str(limit)),
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


def measure_cold_pass(server: LiveServer, scenario: Scenario, workdir: Path, args: argparse.Namespace) -> Measurement:
    """One pass through every URL of `scenario` on a server that has served none of them: every window is new."""
    lua = workdir / "bench.lua"
    paths_file = workdir / "paths.txt"
    paths_file.write_text("".join(f"{path}\n" for path in scenario.paths))
    before = Usage.now(server.pid)
    result = run_wrk(server.base_url, lua, paths_file, 1, COLD_PASS_SECONDS, args.connections, len(scenario.paths))
    if result.requests < len(scenario.paths):
        raise SystemExit(
            f"the cold pass answered {result.requests:,} of {len(scenario.paths):,} in {COLD_PASS_SECONDS} s"
        )
    # The server did nothing between the pass's last answer and wrk's end: CPU shares are of the pass's time.
    usage = replace(Usage.now(server.pid) - before, wall=result.duration_us / 1e6)
    return summarize(replace(scenario, load=COLD), result, usage, rss_kb(server.pid) / 1024)


def measure(server: LiveServer, scenario: Scenario, workdir: Path, args: argparse.Namespace) -> Measurement:
    lua = workdir / "bench.lua"
    paths_file = workdir / "paths.txt"
    paths_file.write_text("".join(f"{path}\n" for path in scenario.paths))
    warm_up = run_wrk(server.base_url, lua, paths_file, 1, WARM_UP_SECONDS, args.connections)
    # The measured run goes on where the warm-up stopped, so it starts with URLs the warm-up did not serve.
    first = warm_up.requests % len(scenario.paths) + 1
    before = Usage.now(server.pid)
    result = run_wrk(server.base_url, lua, paths_file, first, args.duration, args.connections)
    usage = Usage.now(server.pid) - before
    return summarize(scenario, result, usage, rss_kb(server.pid) / 1024)


def summarize(scenario: Scenario, result: WrkResult, usage: Usage, rss: float) -> Measurement:
    requests = max(result.requests, 1)
    cpu, wall = usage.process, usage.wall
    rps = result.requests / (result.duration_us / 1e6)
    p99_ms = result.p99_us / 1000
    socket_errors = result.connect + result.read + result.write + result.timeout
    # wrk's own count of 4xx and 5xx answers as well as ours, in case the Lua callback were ever skipped.
    non_2xx = max(result.non_2xx, result.status)
    return Measurement(
        scenario=scenario.name,
        load=scenario.load,
        urls=len(scenario.paths),
        first_path=scenario.paths[0],
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
        non_2xx=non_2xx,
        first_bad_status=result.first_bad_status,
        socket_errors=socket_errors,
        failed=bool(non_2xx or socket_errors or not result.requests),
        target=scenario.target.describe() if scenario.target else None,
        target_met=scenario.target.met(rps, p99_ms) if scenario.target else None,
    )


# --- reporting ------------------------------------------------------------------------------------------------


def report(measurements: Sequence[Measurement]) -> str:
    headers = ["scenario", "load", "URLs", "req/s", "p50 ms", "p99 ms", "CPU us/req", "CPU %", "core %"]
    headers += ["softirq %", "RSS MB", "non-2xx", "sock err", "target", "verdict"]
    rows = [
        [
            m.scenario,
            m.load,
            f"{m.urls:,}",
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
            m.verdict(),
        ]
        for m in measurements
    ]
    return format_table(headers, rows)


def met(ok: bool) -> str:
    return "met" if ok else "MISSED"


def rotating_targets(measurements: Sequence[Measurement], urls: rotating.RotatingSet) -> tuple[list[str], Message]:
    """Both rotating runs against the targets and against the best hot /bars throughput (the harsher ratio): the
    cycling run is the scenario the targets were set for; the cold first pass shows what a window nobody asked
    for before costs."""
    hot_bars = [m for m in measurements if m.load == HOT and m.first_path.startswith(rotating.BARS_PATH)]
    runs = [m for m in measurements if m.load in (ROTATING, COLD)]
    if not runs or not hot_bars:
        return [], {}
    hot = max(hot_bars, key=lambda m: m.requests_per_s)
    cache = (
        f"needs at least {urls.touched_mb:,.0f} MB of cache ({urls.blocks_touched:,} blocks), the server keeps "
        f"{urls.cache_mb:,} MB: cycling through it stays cold"
        if urls.cold
        else f"needs at least {urls.touched_mb:,.0f} MB of cache ({urls.blocks_touched:,} blocks) of the server's "
        f"{urls.cache_mb:,} MB: cycling through it is served from the cache after the first pass"
    )
    lines = [
        f"Rotating set: {len(urls.paths):,} URLs over {urls.pairs} instrument/resolution pairs (seed {urls.seed}); "
        f"{cache}. Verified all beforehand in {urls.verify_seconds:.0f} s ({urls.redrawn} windows redrawn).",
        *(f"  left out: {pair}: {why}" for pair, why in urls.skipped.items()),
        f"Targets (printed, never asserted), against {hot.scenario} hot at {hot.requests_per_s:,.0f} req/s:",
    ]
    figures: Message = {"hot_reference": hot.scenario}
    for run in runs:
        share = run.requests_per_s / hot.requests_per_s if hot.requests_per_s else 0.0
        failed = " -- the run FAILED, so none of these counts" if run.failed else ""
        lines += [
            f"  {run.load}{failed}:",
            f"    throughput >= {ROTATING_MIN_SHARE:.0%} of hot -> {run.requests_per_s:,.0f} req/s = {share:.1%} "
            f"({met(share >= ROTATING_MIN_SHARE)})",
            f"    p99 <= {ROTATING_MAX_P99_MS:g} ms -> {run.p99_ms:.1f} ms ({met(run.p99_ms <= ROTATING_MAX_P99_MS)})",
            f"    server RSS <= {ROTATING_MAX_RSS_MB:g} MB -> {run.server_rss_mb:.0f} MB "
            f"({met(run.server_rss_mb <= ROTATING_MAX_RSS_MB)})",
        ]
        figures[run.load] = {
            "throughput_share_of_hot": round(share, 4),
            "throughput_share_met": share >= ROTATING_MIN_SHARE,
            "p99_met": run.p99_ms <= ROTATING_MAX_P99_MS,
            "rss_met": run.server_rss_mb <= ROTATING_MAX_RSS_MB,
            "run_failed": run.failed,
        }
    return lines, figures


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
    parser.add_argument("--rotating-urls", type=int, default=3000, help="URLs of the rotating load; 0 skips it")
    parser.add_argument("--seed", type=int, default=7, help="seed of the rotating URLs (default 7)")
    args = parser.parse_args()
    if args.duration < 1 or args.connections < 1 or args.rotating_urls < 0:
        parser.error("--duration and --connections must be at least 1, --rotating-urls at least 0")
    return args


def check_machine() -> None:
    if not {SERVER_CPU, WRK_CPU} <= os.sched_getaffinity(0):
        raise SystemExit(f"needs CPUs {SERVER_CPU} and {WRK_CPU}: server and wrk must not share a core")
    missing = [tool for tool in ("wrk", "taskset") if shutil.which(tool) is None]
    if missing:
        raise SystemExit(f"missing tools: {', '.join(missing)}")


def plan(server: LiveServer, args: argparse.Namespace) -> tuple[list[Scenario], rotating.RotatingSet | None]:
    """Every scenario, each URL checked: the hot ones, then the rotating one (built and verified here)."""
    now = int(time.time())
    scenarios = hot_scenarios(now)
    for scenario in scenarios:
        check_hot(server, scenario)
    if not args.rotating_urls:
        return scenarios, None
    print(f"drawing and verifying {args.rotating_urls:,} rotating URLs ...", flush=True)
    urls = rotating.build(server.port, now, args.rotating_urls, args.seed, SERVER_ENV)
    return [*scenarios, Scenario("bars rotating", ROTATING, urls.paths, "bars", None)], urls


def main() -> None:
    args = parse_args()
    check_machine()
    with tempfile.TemporaryDirectory(prefix="rest-bench-") as workdir:
        (Path(workdir) / "bench.lua").write_text(WRK_LUA)
        try:
            server = start_server(SERVER_ENV)
        except (OSError, RuntimeError, TimeoutError) as error:
            raise SystemExit(f"server did not start: {error}") from None
        servers = [server]
        try:
            scenarios, urls = plan(server, args)
            measurements = []
            for scenario in scenarios:
                if scenario.load != HOT:
                    continue
                print(f"measuring {scenario.name}, {scenario.load} ...", flush=True)
                measurements.append(measure(server, scenario, Path(workdir), args))
        finally:
            server.stop(keep_log=True)
        for scenario in scenarios:
            if scenario.load == HOT:
                continue
            # A server that has served none of the rotating URLs (the verification warmed the first one's caches).
            server = start_server(SERVER_ENV)
            servers.append(server)
            try:
                print(f"measuring {scenario.name}, {COLD} on a fresh server ...", flush=True)
                measurements.append(measure_cold_pass(server, scenario, Path(workdir), args))
                print(f"measuring {scenario.name}, {scenario.load} ...", flush=True)
                measurements.append(measure(server, scenario, Path(workdir), args))
            finally:
                server.stop(keep_log=True)
    print()
    print(report(measurements))
    print(accounting_line())
    target_lines, rotating_figures = rotating_targets(measurements, urls) if urls else ([], {})
    print()
    for line in target_lines:
        print(line)
    results: dict[str, Any] = {"environment": bench_environment(args), "results": [asdict(m) for m in measurements]}
    if urls:
        results["rotating"] = urls.summary() | rotating_figures
    path = write_json(RESULTS_NAME, results)
    print(f"\nwritten to {path.relative_to(REPO_ROOT)}")
    for server in servers:
        print_log_problems(server)
    failed = [m.scenario for m in measurements if m.failed]
    if failed:
        sys.exit(f"FAILED: {', '.join(failed)} had error answers or socket errors")


def print_log_problems(server: LiveServer) -> None:
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

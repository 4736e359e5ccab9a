"""Access-log benchmark: `/api/v1/health` with the request log on and off.

A fresh server (`python -m app`, pinned to CPU 0, LOG_LEVEL INFO, broadcaster off so only requests cost CPU)
runs with ACCESS_LOG=true, then another with ACCESS_LOG=false, --rounds times in alternation; wrk (one
thread, --connections, pinned to CPU 1) drives `GET /api/v1/health` for --duration seconds after a short
warm-up. Printed per run: requests/s, p50 and p99 latency, the server's CPU microseconds per request; then,
over the best run of each, the ratio of requests/s (off / on) and of CPU per request (on / off). The log
lines go to the server's log file, as they would to a collector's pipe.

Run from the repository root:

    .venv/bin/python bench/access_log.py [--duration 10] [--connections 50] [--rounds 2]

Results are printed and written to bench/results/access_log.json.
"""

from __future__ import annotations

import argparse
import re
import subprocess
from typing import Any

from harness import CLIENT_CPU, cpu_seconds, format_table, pin_to_cpu, start_server, wait_for_quiet, write_json

PATH = "/api/v1/health"
WARM_UP_SECONDS = 2
SERVER_ENV = {"LOG_LEVEL": "INFO", "BAR_BROADCASTER_ENABLED": "false", "MAX_CONNECTIONS_PER_CLIENT": "0"}
_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def wrk(url: str, seconds: int, connections: int) -> dict[str, float]:
    """Requests/s and p50/p99 latency (ms) of wrk against `url`."""
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    latencies = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)", output, re.MULTILINE))
    if rate is None or set(latencies) != {"50", "99"}:
        raise SystemExit(f"unexpected wrk output:\n{output}")

    def ms(text: str) -> float:
        number, unit = re.findall(r"([\d.]+)(\w+)", text)[0]
        return float(number) * _UNITS[unit]

    return {"requests_per_second": float(rate[1]), "p50_ms": ms(latencies["50"]), "p99_ms": ms(latencies["99"])}


def measure(access_log: bool, args: argparse.Namespace) -> dict[str, Any]:
    server = start_server(SERVER_ENV | {"ACCESS_LOG": "true" if access_log else "false"})
    try:
        wrk(server.url(PATH), WARM_UP_SECONDS, args.connections)
        before = cpu_seconds(server.pid)
        result = wrk(server.url(PATH), args.duration, args.connections)
        cpu = cpu_seconds(server.pid) - before
        lines = sum(1 for line in server.log_path.read_text().splitlines() if " app.access: " in line)
    finally:
        server.stop()
    requests = result["requests_per_second"] * args.duration
    return {"access_log": access_log, **result, "server_us_per_request": cpu / requests * 1e6, "log_lines": lines}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=10, help="measured seconds per run")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=2, help="runs of each setting, alternating")
    args = parser.parse_args()
    pin_to_cpu(CLIENT_CPU)
    runs = []
    for _ in range(args.rounds):
        for access_log in (True, False):
            wait_for_quiet()
            runs.append(measure(access_log, args))
            print(f"ACCESS_LOG={str(access_log).lower()}: {runs[-1]['requests_per_second']:,.0f} req/s", flush=True)
    rows = [
        [
            "on" if r["access_log"] else "off",
            f"{r['requests_per_second']:,.0f}",
            f"{r['p50_ms']:.2f}",
            f"{r['p99_ms']:.2f}",
            f"{r['server_us_per_request']:.1f}",
            f"{r['log_lines']:,}",
        ]
        for r in runs
    ]
    print()
    print(format_table(("access log", "req/s", "p50 ms", "p99 ms", "srv us/req", "log lines"), rows))
    best = {
        flag: max((r for r in runs if r["access_log"] is flag), key=lambda r: r["requests_per_second"])
        for flag in (True, False)
    }
    throughput = best[False]["requests_per_second"] / best[True]["requests_per_second"]
    cpu = best[True]["server_us_per_request"] / best[False]["server_us_per_request"]
    print(
        f"\nBest runs: {best[True]['requests_per_second']:,.0f} req/s with the access log, "
        f"{best[False]['requests_per_second']:,.0f} without (ratio off/on {throughput:.3f}); "
        f"server CPU per request on/off {cpu:.3f}"
    )
    path = write_json("access_log.json", {"settings": vars(args), "runs": runs, "throughput_ratio": throughput})
    print(f"Written to {path}")


if __name__ == "__main__":
    main()

"""REST benchmark of stored instruments: `/bars` of 300 stored bars per second, on each store, beside the simulation's.

A store of each engine (an SQLite file; a throw-away PostgreSQL database on 127.0.0.1:5432, dropped afterwards)
gets one crypto instrument (24x7, so every minute has a bar) with 60 days of minute bars, written through the
store's own interface. A fresh server (`python -m app`, broadcaster and access log off, pinned to CPU 0) on that
store is then measured with wrk (CPU 1, 50 connections) exactly as `bench/rest.py` measures its hot loads:

- stored 1: the newest 300 minute bars, as stored;
- stored 60: the newest 300 hourly bars, aggregated from the minutes;
- simulated 1: the simulation's BTCUSD, the same request, on the same server.

Each is one URL repeated, so after the first answer it comes from memory: the figures are the serving path's,
not the store's read speed (`bench/import_store.py` measures reads). Run from the repository root:

    .venv/bin/python bench/stored_rest.py [--duration 10] [--connections 50]

Results are printed and written to bench/results/stored_rest.json.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path

import numpy as np
import psycopg
import rest
from harness import environment, format_table, start_server, write_json

from app.market.instruments import AssetClass
from app.market.resolutions import Resolution
from app.store.base import BarRows, InstrumentSpec
from app.store.open import open_store

SYMBOL = "STORED"
DAYS = 60
POSTGRES = "postgresql://postgres@127.0.0.1:5432"


def minute_bars(end: int, days: int) -> BarRows:
    """`days` of consistent minute bars ending before `end` (UTC seconds), prices around 100.00 in cents."""
    count = days * 1440
    rng = np.random.default_rng(11)
    opens = 10_000 + np.cumsum(rng.integers(-5, 6, count))
    closes = opens + rng.integers(-10, 11, count)
    highs = np.maximum(opens, closes) + rng.integers(0, 5, count)
    lows = np.minimum(opens, closes) - rng.integers(0, 5, count)
    start = end // 60 * 60 - count * 60
    times = start + 60 * np.arange(count, dtype=np.int64)
    return BarRows(times, opens, highs, lows, closes, rng.integers(1, 1000, count).astype(np.float64))


def fill(url: str, now: int) -> None:
    """The benchmark's instrument and its bars in the store at `url`."""
    store = open_store(url)
    try:
        store.migrate()
        spec = InstrumentSpec(SYMBOL, AssetClass.CRYPTO, "CRYPTO", "Etc/UTC", "24x7", "Stored benchmark coin", 100)
        store.put_instrument(spec)
        store.write_bars(SYMBOL, Resolution.M1, minute_bars(now, DAYS))
    finally:
        store.close()


@contextmanager
def postgres_database() -> Iterator[str]:
    """A throw-away database, dropped on exit."""
    name = f"tp_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{POSTGRES}/{name}"
    finally:
        with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def scenarios(now: int) -> list[rest.Scenario]:
    window = f"from_time={now - 60}&to_time={now + 60}&count_back={rest.MIN_BARS}"
    bars = "/api/v1/datafeed/bars"
    return [
        rest.Scenario("stored 1", rest.HOT, [f"{bars}?symbol={SYMBOL}&resolution=1&{window}"], "bars", None),
        rest.Scenario("stored 60", rest.HOT, [f"{bars}?symbol={SYMBOL}&resolution=60&{window}"], "bars", None),
        rest.Scenario("simulated 1", rest.HOT, [f"{bars}?symbol=BTCUSD&resolution=1&{window}"], "bars", None),
    ]


def measure_store(engine: str, url: str, args: argparse.Namespace, workdir: Path) -> list[dict[str, object]]:
    now = int(time.time())
    fill(url, now)
    server = start_server({**rest.SERVER_ENV, "STORE_URL": url})
    try:
        rows = []
        for scenario in scenarios(now):
            rest.check_hot(server, scenario)
            print(f"measuring {scenario.name} on {engine} ...", flush=True)
            rows.append({"engine": engine, **asdict(rest.measure(server, scenario, workdir, args))})
        return rows
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description="/bars of stored instruments on each store, with wrk.")
    parser.add_argument("--duration", type=int, default=10, help="seconds of each measured run (default 10)")
    parser.add_argument("--connections", type=int, default=50, help="wrk connections (default 50)")
    args = parser.parse_args()
    rest.check_machine()
    results: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="stored-rest-") as workdir:
        (Path(workdir) / "bench.lua").write_text(rest.WRK_LUA)
        results += measure_store("sqlite", f"sqlite:///{workdir}/store.db", args, Path(workdir))
        with postgres_database() as url:
            results += measure_store("postgresql", url, args, Path(workdir))
    print()
    headers = ("store", "scenario", "req/s", "p50 ms", "p99 ms", "CPU us/req", "non-2xx", "sock err")
    print(
        format_table(
            headers,
            (
                (
                    r["engine"],
                    r["scenario"],
                    f"{r['requests_per_s']:,.0f}",
                    f"{r['p50_ms']:.2f}",
                    f"{r['p99_ms']:.2f}",
                    f"{r['server_cpu_us_per_request']:.0f}",
                    r["non_2xx"],
                    r["socket_errors"],
                )
                for r in results
            ),
        )
    )
    print(f"\nwritten to {write_json('stored_rest.json', {'environment': environment(), 'results': results})}")
    if any(r["failed"] for r in results):
        raise SystemExit(1)


if __name__ == "__main__":
    main()

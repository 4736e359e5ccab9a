"""Store benchmark: bars per second into a fresh store of each engine, and the reads the feed makes of it.

For SQLite (a file in a temporary directory) and PostgreSQL (a throw-away database `tp_bench_<uuid>` on
`--postgres`, dropped afterwards), each in a fresh store:

- import: one write_bars of `--bars` minute bars (default 1,000,000: about two years of a 24-hour market), the
  call an import makes, timed whole (checks, comparison with the store, the transaction and its commit);
- re-import: the same bars again, all found unchanged (the comparison's cost);
- reads: read_bars of 300 and 5,000 bars and read_last of 300 at random places, the median of 200 calls each.

The issue's target is 200,000 bars per second into the embedded store. Run from the repository root:

    .venv/bin/python bench/import_store.py [--bars 1000000] [--postgres postgresql://postgres@127.0.0.1:5432]

Results are printed and written to bench/results/import_store.json.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import psycopg
from harness import format_table, write_json
from psycopg import sql

from app.market.resolutions import Resolution
from app.store.base import BarStore
from app.store.open import open_store
from tests.store_fixtures import sample_rows, stock_spec

START = 1_704_067_200  # 2024-01-01 00:00 UTC
READS = 200


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bars", type=int, default=1_000_000, help="minute bars per import")
    parser.add_argument(
        "--postgres", default="postgresql://postgres@127.0.0.1:5432", help="PostgreSQL server (no database)"
    )
    return parser.parse_args()


@contextmanager
def sqlite_url() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="tp-bench-") as folder:
        yield f"sqlite:///{Path(folder) / 'bench.db'}"


@contextmanager
def postgres_url(server: str) -> Iterator[str]:
    name = f"tp_bench_{uuid.uuid4().hex}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield f"{server}/{name}"
    finally:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


def median_ms(call: Callable[[int], object], rng: np.random.Generator, bars: int, span: int) -> float:
    """Median milliseconds of `call(start)` at READS random starts leaving `span` bars before the end."""
    starts = START + 60 * rng.integers(0, bars - span, READS)
    timings = []
    for start in starts.tolist():
        began = time.perf_counter()
        call(start)
        timings.append((time.perf_counter() - began) * 1000)
    return statistics.median(timings)


def measure(store: BarStore, bars: int) -> dict[str, float]:
    store.migrate()
    store.put_instrument(stock_spec("BENCH"))
    rows = sample_rows(START, bars)
    m1 = Resolution.M1
    began = time.perf_counter()
    written = store.write_bars("BENCH", m1, rows)
    imported = time.perf_counter() - began
    assert written.inserted == bars, written
    began = time.perf_counter()
    again = store.write_bars("BENCH", m1, rows)
    reimported = time.perf_counter() - began
    assert again.unchanged == bars, again
    rng = np.random.default_rng(0)
    return {
        "import_bars_per_s": bars / imported,
        "reimport_bars_per_s": bars / reimported,
        "read_300_ms": median_ms(lambda t: store.read_bars("BENCH", m1, t, t + 300 * 60), rng, bars, 300),
        "read_5000_ms": median_ms(lambda t: store.read_bars("BENCH", m1, t, t + 5_000 * 60), rng, bars, 5_000),
        "read_last_300_ms": median_ms(lambda t: store.read_last("BENCH", m1, t + 300 * 60, 300), rng, bars, 300),
    }


def main() -> None:
    args = parse_args()
    results: dict[str, dict[str, float]] = {}
    for engine, location in (("sqlite", sqlite_url()), ("postgresql", postgres_url(args.postgres))):
        with location as url:
            store = open_store(url)
            try:
                results[engine] = measure(store, args.bars)
            finally:
                store.close()
    print(
        format_table(
            ("engine", "import bars/s", "re-import bars/s", "read 300 ms", "read 5,000 ms", "read_last 300 ms"),
            [
                (
                    engine,
                    f"{figures['import_bars_per_s']:,.0f}",
                    f"{figures['reimport_bars_per_s']:,.0f}",
                    f"{figures['read_300_ms']:.2f}",
                    f"{figures['read_5000_ms']:.2f}",
                    f"{figures['read_last_300_ms']:.2f}",
                )
                for engine, figures in results.items()
            ],
        )
    )
    written = write_json("import_store.json", {"bars": args.bars, "results": results})
    print(f"{args.bars:,} minute bars per import; written to {written}")


if __name__ == "__main__":
    main()

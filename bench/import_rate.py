"""Import rate: bars per second from CSV into each store, end to end (read + check + write).

A 1,000,000-row file of minute bars (a generic header, ISO times, prices with two decimals, volumes with three:
about 63 MB, 694 days of a 24x7 market) is written to a temporary directory, then imported into a fresh store of
each engine: an SQLite file beside it, and a throw-away PostgreSQL database on 127.0.0.1:5432 (created and
dropped here). Each engine is measured two ways:

- in this process (`import_files`, as the command runs it), best of `--runs` fresh stores, split into reading the
  file, checking the rows and writing the bars; then a re-import of the same file into the last store (every row
  unchanged: what a scheduled re-import costs);
- as a user runs it, `python -m app import FILE --symbol BENCH --type crypto`, once, with the rate its summary
  line prints (interpreter start-up not included: the command times itself).

Target (issue 10): at least 200,000 bars/s into the embedded store. Run from the repository root:

    .venv/bin/python bench/import_rate.py [--rows 1000000] [--runs 3]

Results are printed and written to bench/results/import_rate.json.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import psycopg
from harness import REPO_ROOT, environment, format_table, write_json
from psycopg import sql

from app.importer.importing import Imported, ImportRequest, import_files
from app.importer.instrument import InstrumentFlags
from app.market.instruments import AssetClass
from app.store.base import StoreError
from app.store.open import open_store

POSTGRES_SERVER = "postgresql://postgres@127.0.0.1:5432"
TARGET = 200_000
SYMBOL = "BENCH"
# 2024-01-01 00:00 UTC.
START = 1_704_067_200
_RATE = re.compile(r"\(([\d,]+) rows/s\)")


def write_csv(path: Path, rows: int) -> None:
    """`rows` consistent minute bars from START: a random walk in cents around 42,000."""
    rng = np.random.default_rng(10)
    opens = 4_200_000 + np.cumsum(rng.integers(-50, 51, rows))
    closes = opens + rng.integers(-30, 31, rows)
    highs = np.maximum(opens, closes) + rng.integers(0, 20, rows)
    lows = np.minimum(opens, closes) - rng.integers(0, 20, rows)
    volumes = rng.integers(1, 100_000, rows)
    times = (np.datetime64(START, "s") + 60 * np.arange(rows)).astype(str)

    def price(cents: int) -> str:
        return f"{cents // 100}.{cents % 100:02d}"

    with path.open("w") as out:
        out.write("time,open,high,low,close,volume\n")
        for i in range(rows):
            stamp = times[i].replace("T", " ")
            out.write(
                f"{stamp},{price(opens[i])},{price(highs[i])},{price(lows[i])},{price(closes[i])},"
                f"{volumes[i] // 1000}.{volumes[i] % 1000:03d}\n"
            )


@contextmanager
def sqlite_url(directory: Path) -> Iterator[Callable[[], str]]:
    """Fresh SQLite files in `directory`, one per call."""
    counter = iter(range(1_000_000))
    yield lambda: f"sqlite:///{directory / f'store-{next(counter)}.db'}"


@contextmanager
def postgres_url() -> Iterator[Callable[[], str]]:
    """Fresh schemas (one per call) of a throw-away database, dropped at the end."""
    name = f"tp_bench_{uuid.uuid4().hex}"
    with psycopg.connect(f"{POSTGRES_SERVER}/postgres", autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    database = f"{POSTGRES_SERVER}/{name}"

    def fresh() -> str:
        schema = f"bench_{uuid.uuid4().hex}"
        with psycopg.connect(database, autocommit=True) as connection:
            connection.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        return f"{database}?options=-csearch_path%3D{schema}"

    try:
        yield fresh
    finally:
        with psycopg.connect(f"{POSTGRES_SERVER}/postgres", autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


def import_once(url: str, csv: Path) -> Imported:
    store = open_store(url)
    try:
        store.migrate()
        request = ImportRequest((str(csv),), SYMBOL, InstrumentFlags(asset_class=AssetClass.CRYPTO), ZoneInfo("UTC"))
        return import_files(request, store, io.StringIO())
    finally:
        store.close()


def command_rate(url: str, csv: Path) -> int:
    """Rows per second as `python -m app import` prints it."""
    done = subprocess.run(
        [sys.executable, "-m", "app", "import", str(csv), "--symbol", SYMBOL, "--type", "crypto"],
        cwd=REPO_ROOT,
        env=os.environ | {"STORE_URL": url},
        capture_output=True,
        text=True,
        check=True,
    )
    print(f"    {done.stdout.strip()}")
    match = _RATE.search(done.stdout)
    assert match is not None, done.stdout
    return int(match.group(1).replace(",", ""))


def measure(engine: str, fresh: Callable[[], str], csv: Path, runs: int) -> dict[str, float | int]:
    print(f"{engine}:")
    best: Imported | None = None
    url = ""
    for _ in range(runs):
        url = fresh()
        run = import_once(url, csv)
        print(f"    {run.summary()[0]}")
        if best is None or run.seconds < best.seconds:
            best = run
    assert best is not None
    again = import_once(url, csv)
    print(f"    again: {again.summary()[0]}")
    return {
        "rows": best.rows,
        "read_s": round(best.reading, 3),
        "check_s": round(best.checking, 3),
        "write_s": round(best.writing, 3),
        "total_s": round(best.seconds, 3),
        "rows_per_s": round(best.rows / best.seconds),
        "reimport_rows_per_s": round(again.rows / again.seconds),
        "command_rows_per_s": command_rate(fresh(), csv),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    options = parser.parse_args()
    results: dict[str, dict[str, float | int]] = {}
    with tempfile.TemporaryDirectory(prefix="import-rate-") as directory:
        csv = Path(directory) / "minutes.csv"
        write_csv(csv, options.rows)
        print(f"{options.rows:,} minute bars, {csv.stat().st_size / 1e6:.0f} MB")
        engines = (("sqlite", sqlite_url(Path(directory))), ("postgresql", postgres_url()))
        for engine, urls in engines:
            try:
                with urls as fresh:
                    results[engine] = measure(engine, fresh, csv, options.runs)
            except (StoreError, psycopg.Error) as error:
                print(f"{engine}: not measured ({error})")
    columns = ("rows", "read_s", "check_s", "write_s", "total_s", "rows_per_s", "reimport_rows_per_s")
    print()
    print(
        format_table(
            ("engine", *columns, "command_rows_per_s"),
            [
                (engine, *(f"{figures[c]:,}" for c in (*columns, "command_rows_per_s")))
                for engine, figures in results.items()
            ],
        )
    )
    sqlite = results.get("sqlite")
    if sqlite is not None:
        verdict = "meets" if sqlite["rows_per_s"] >= TARGET else "misses"
        print(f"\nSQLite: {sqlite['rows_per_s']:,} bars/s {verdict} the target of {TARGET:,}.")
    path = write_json("import_rate.json", {"environment": environment(rows=options.rows), "results": results})
    print(f"Written to {path.relative_to(REPO_ROOT)}")


if __name__ == "__main__":
    main()

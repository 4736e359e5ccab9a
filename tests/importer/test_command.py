"""`python -m app import` and `python -m app instruments` as a user runs them: real processes, STORE_URL in the
environment, the summary on stdout, a refusal on stderr with exit status 1 and no traceback."""

from __future__ import annotations

import fcntl
import os
import re
import select
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

from app.cli import parse_args
from app.market.resolutions import Resolution
from app.store.open import open_store
from tests.importer.helpers import Write, as_lists, stored

ROOT = Path(__file__).resolve().parents[2]
DAYS = (
    "Date,Open,High,Low,Close,Adj Close,Volume\n2024-01-02,10,11,9,10.25,10.2,100\n2024-01-03,10.25,12,10,11,10.9,200\n"
)


def app(*args: str, store_url: str) -> subprocess.CompletedProcess[str]:
    """`python -m app ARGS` with STORE_URL, from the repository."""
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        cwd=ROOT,
        env=os.environ | {"STORE_URL": store_url},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_import_then_list(store_url: str, write: Write) -> None:
    path = write(DAYS, "acme.csv")
    done = app("import", str(path), "--symbol", "acme", "--description", "Acme Corp.", store_url=store_url)
    assert done.returncode == 0, done.stderr
    (summary,) = done.stdout.splitlines()
    assert re.fullmatch(r"Imported 2 rows of ACME \(1D\) 2024-01-02 → 2024-01-03 in \d+ ms \(.*", summary)
    assert summary.endswith(" rows/s): 2 new, 0 unchanged, 0 replaced")
    # No progress bar where stderr is not a terminal.
    assert done.stderr == ""
    listed = app("instruments", "list", store_url=store_url)
    assert listed.returncode == 0, listed.stderr
    header, row = listed.stdout.splitlines()
    assert header.split() == [
        "SYMBOL", "TYPE", "EXCHANGE", "TIMEZONE", "SESSION", "PRICESCALE", "RESOLUTION", "FIRST", "BAR", "LAST", "BAR"
    ]  # fmt: skip
    assert row.split() == [
        "ACME",
        "stock",
        "NASDAQ",
        "America/New_York",
        "0930-1600",
        "100",
        "1D",
        "2024-01-02",
        "2024-01-03",
    ]
    store = open_store(store_url)
    try:
        assert as_lists(stored(store, Resolution.DAY)) == [
            (1_704_153_600, 1000, 1100, 900, 1025, 100.0),
            (1_704_240_000, 1025, 1200, 1000, 1100, 200.0),
        ]
    finally:
        store.close()


def test_a_refused_import_exits_1_with_the_lines_and_writes_nothing(sqlite_url: str, write: Write) -> None:
    path = write(DAYS + "2024-01-04,null,null,null,null,null,null\n2024-01-05,11,10,12,11,11,5\n", "bad.csv")
    done = app("import", str(path), "--symbol", "ACME", store_url=sqlite_url)
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        "Nothing was imported: 2 problems in the input.",
        f"  {path} line 4: not a number: open 'null', high 'null', low 'null', close 'null', volume 'null'",
        f"  {path} line 5: high is below low (open 11, high 10, low 12, close 11, volume 5)",
    ]
    assert app("instruments", "list", store_url=sqlite_url).stdout.strip() == "No instruments stored."


def test_instruments_add_and_its_refusals(sqlite_url: str) -> None:
    added = app("instruments", "add", "eurusd", "--type", "forex", store_url=sqlite_url)
    assert added.returncode == 0, added.stderr
    assert added.stdout.strip() == (
        "Added EURUSD: forex on FX, 1700-1700:23456 America/New_York, pricescale 100000, whole volumes, no bars yet"
    )
    again = app("instruments", "add", "EURUSD", "--type", "forex", store_url=sqlite_url)
    assert (again.returncode, again.stderr.strip()) == (
        1,
        "Nothing was added: EURUSD is already stored (import adds bars to it)",
    )
    session = app(
        "instruments", "add", "X", "--type", "stock", "--session", "0900-1630|0900-1400:2", store_url=sqlite_url
    )
    assert session.returncode == 1
    assert "different hours on different days are not supported" in session.stderr
    assert "Traceback" not in session.stderr
    listed = app("instruments", "list", store_url=sqlite_url).stdout.splitlines()
    assert listed[1].split() == [
        "EURUSD",
        "forex",
        "FX",
        "America/New_York",
        "1700-1700:23456",
        "100000",
        "-",
        "-",
        "-",
    ]


def test_instruments_add_gives_a_coin_fractional_volumes_and_a_share_whole_ones(sqlite_url: str) -> None:
    # Live ingest takes sizes with at most the instrument's volume precision: a coin trades in fractions.
    for symbol, kind in (("MYCOIN", "crypto"), ("ACME", "stock"), ("EURUSD", "forex")):
        assert app("instruments", "add", symbol, "--type", kind, store_url=sqlite_url).returncode == 0
    store = open_store(sqlite_url)
    try:
        precisions = {item.spec.symbol: item.spec.volume_precision for item in store.instruments()}
    finally:
        store.close()
    assert precisions == {"MYCOIN": 8, "ACME": 0, "EURUSD": 0}


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["import", "x.csv"], "the following arguments are required: --symbol"),
        (["import", "x.csv", "--symbol", "A", "--input-timezone", "Mars/Olympus"], "unknown timezone 'Mars/Olympus'"),
        (["import", "x.csv", "--symbol", "A", "--pricescale", "0"], "--pricescale: must be 1 to 10,000,000,000"),
        (["import", "x.csv", "--symbol", "A", "--decimal", ";"], "argument --decimal: invalid choice"),
        (["instruments", "add", "A"], "the following arguments are required: --type"),
    ],
)
def test_bad_flags_are_usage_errors(args: list[str], said: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        parse_args(args)
    assert exited.value.code == 2
    assert said in capsys.readouterr().err


def test_serving_flags_are_as_before() -> None:
    args = parse_args(["--host", "127.0.0.1", "--port", "8001", "--workers", "2"])
    assert (args.host, args.port, args.workers, args.command) == ("127.0.0.1", "8001", 2, None)
    assert parse_args([]).command is None


def test_import_flags() -> None:
    args = parse_args(["import", "a.csv", "b.csv", "--symbol", "X", "--input-timezone", "America/New_York"])
    assert (args.command, args.files, args.symbol, args.input_timezone.key, args.decimal, args.replace) == (
        "import",
        ["a.csv", "b.csv"],
        "X",
        "America/New_York",
        ".",
        False,
    )


def test_a_bad_symbol_or_store_url_is_one_line(sqlite_url: str, write: Write) -> None:
    path = str(write(DAYS))
    bad_symbol = app("import", path, "--symbol", "BTC/USD", store_url=sqlite_url)
    assert (bad_symbol.returncode, bad_symbol.stderr.strip()) == (
        1,
        "Nothing was imported: symbol 'BTC/USD': 1 to 32 letters, digits, '.', '_' or '-', starting with a letter or"
        " digit",
    )
    bad_url = app("import", path, "--symbol", "ACME", store_url="mysql://somewhere/db")
    assert bad_url.returncode == 1
    assert bad_url.stderr.startswith("Configuration error: STORE_URL")
    assert len(bad_url.stderr.splitlines()) == 1


def on_a_terminal(*args: str, store_url: str) -> tuple[int, str, list[str]]:
    """`python -m app ARGS` with stderr on a pseudo-terminal of 100 columns: the exit status, stdout, and the lines
    stderr leaves on the screen (as a terminal shows them once carriage returns have overwritten them)."""
    terminal, side = os.openpty()
    fcntl.ioctl(side, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    with subprocess.Popen(
        [sys.executable, "-m", "app", *args],
        cwd=ROOT,
        env=os.environ | {"STORE_URL": store_url},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=side,
    ) as process:
        os.close(side)
        drawn = b""
        while select.select([terminal], [], [], 60)[0]:
            try:
                chunk = os.read(terminal, 4096)
            except OSError:  # EIO: the process has closed its end
                break
            if not chunk:
                break
            drawn += chunk
        os.close(terminal)
        assert process.stdout is not None
        out = process.stdout.read().decode()
        status = process.wait(60)
    return status, out, [line for line in map(_shown, drawn.decode().split("\n")) if line]


def _shown(line: str) -> str:
    """What a terminal shows of `line`: each part after a carriage return overwrites the start of the one before."""
    screen = ""
    for part in line.split("\r"):
        screen = part + screen[len(part) :]
    return screen.rstrip()


def test_a_terminal_sees_a_progress_bar_for_each_file(store_url: str, write: Write) -> None:
    days = write(DAYS, "days.csv")
    minutes = write(
        "time,open,high,low,close,volume\n2024-01-02 14:30,1,1,1,1,1\n2024-01-02 14:31,1,1,1,1,1\n", "m.csv"
    )
    status, out, screen = on_a_terminal("import", str(days), str(minutes), "--symbol", "ACME", store_url=store_url)
    assert status == 0, screen
    assert out.startswith("Imported 4 rows of ACME in ")
    assert len(screen) == 4, screen
    for line, path in zip(screen, (days, minutes), strict=False):
        assert re.fullmatch(rf"{path.name}: 100%\|█+\| [\d.]+/[\d.]+ \[.*B/s\]", line), screen
    assert screen[2:] == ["Checking 4 rows…", "Writing 4 bars…"]


def test_a_refusal_on_a_terminal_follows_the_bar(store_url: str, write: Write) -> None:
    path = write(DAYS + "2024-01-04,null,1,1,1,1,1\n", "bad.csv")
    status, out, screen = on_a_terminal("import", str(path), "--symbol", "ACME", store_url=store_url)
    assert (status, out) == (1, "")
    assert screen[0].startswith("bad.csv: 100%|")
    assert screen[1:] == [
        "Checking 2 rows…",
        "Nothing was imported: 1 problem in the input.",
        f"  {path} line 4: not a number: open 'null'",
    ]


def test_one_row_is_a_row(sqlite_url: str, write: Write) -> None:
    path = write("Date,Open,High,Low,Close,Volume\n2024-01-02,10,11,9,10.25,100\n")
    done = app("import", str(path), "--symbol", "ACME", store_url=sqlite_url)
    assert done.returncode == 0, done.stderr
    said = r"Imported 1 row of ACME \(1D\) 2024-01-02 → 2024-01-02 in \d+ ms \([\d,]+ rows/s\): 1 new, 0 unchanged"
    assert re.fullmatch(said + r", 0 replaced\n", done.stdout)

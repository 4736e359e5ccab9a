"""The command line that `trading-pro`, `python -m app` and the one file share: its options, the `import` and
`instruments` commands, and a help that lists every setting with its default and meaning, read from the Settings
fields and config/defaults.toml (so a new setting shows up in the help without anyone editing it)."""

from __future__ import annotations

import argparse
import os
import re
import sys
import textwrap
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from zoneinfo import ZoneInfo

from app.importer.zones import input_zone
from app.market.instruments import AssetClass
from app.settings import DEFAULTS_FILE, Settings
from app.workers import MAX_WORKERS

_KEY = re.compile(r"^([A-Z][A-Z0-9_]*)\s*=")
# Ticks per unit beyond this leave no room for prices: ticks must stay below 2**53.
MAX_PRICESCALE = 10**10


@dataclass(frozen=True, slots=True)
class SettingDoc:
    """One environment variable: its default as the defaults file spells it, and the comment that explains it."""

    name: str
    default: str
    description: str


def _comments(text: str) -> dict[str, str]:
    """NAME -> the comment block right above it; a key with none directly above it gets nothing (never its
    neighbour's: each setting has its own description)."""
    described: dict[str, str] = {}
    block: list[str] = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            block.append(stripped.lstrip("#").strip())
            continue
        if match := _KEY.match(stripped):
            described[match.group(1)] = " ".join(block)
        block = []
    return described


def _spelled(value: object) -> str:
    """A TOML value as an environment variable would spell it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def setting_docs(defaults_file: Path = DEFAULTS_FILE) -> list[SettingDoc]:
    """Every setting of `Settings`, in field order, with its default and description."""
    text = defaults_file.read_text()
    defaults = tomllib.loads(text)
    comments = _comments(text)
    docs = []
    for field in fields(Settings):
        name = field.name.upper()
        docs.append(SettingDoc(name, _spelled(defaults.get(name, "")), comments.get(name, "")))
    return docs


def _epilog() -> str:
    lines = [
        "environment variables (each overrides the default shown; an option above overrides its variable):",
    ]
    for doc in setting_docs():
        lines.append(f"  {doc.name}  (default: {doc.default!r})")
        if doc.description:
            lines.append(textwrap.fill(doc.description, 100, initial_indent=" " * 6, subsequent_indent=" " * 6))
    lines += [
        "",
        "HOST's default, 0.0.0.0, lets a platform that sets PORT (Heroku and the like) route to the server.",
        "With --workers above 1 and PROMETHEUS_MULTIPROC_DIR unset, the workers share a temporary directory",
        "made for the run and removed at exit.",
        "",
        "The one-file build unpacks its dependencies on its first run into SHIV_ROOT (default: ~/.shiv; when",
        "that cannot be written, a private directory under the temporary directory), one directory of about 100",
        "MB per build, never removed by the file itself.",
    ]
    return "\n".join(lines)


def _workers(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, not {raw!r}") from None
    if not 1 <= value <= MAX_WORKERS:
        raise argparse.ArgumentTypeError(f"must be 1 to {MAX_WORKERS}")
    return value


def program_name(argv0: str) -> str:
    """How the user started us, for the usage line: `python -m app`, `trading-pro` or `trading-pro.pyz`."""
    name = os.path.basename(argv0)
    return "python -m app" if name in ("__main__.py", "-m") else name or "trading-pro"


def _pricescale(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, not {raw!r}") from None
    if not 1 <= value <= MAX_PRICESCALE:
        raise argparse.ArgumentTypeError(f"must be 1 to {MAX_PRICESCALE:,}")
    return value


def _zone(raw: str) -> ZoneInfo:
    try:
        return input_zone(raw)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _instrument_flags(parser: argparse.ArgumentParser, *, type_required: bool) -> None:
    """The flags that describe an instrument, shared by `import` and `instruments add`."""
    parser.add_argument(
        "--type",
        choices=[kind.value for kind in AssetClass],
        required=type_required,
        help="what trades: sets the defaults below (import: stock for a new symbol; a stored one keeps its own)",
    )
    parser.add_argument("--exchange", help="exchange name shown with the symbol (default by type: NASDAQ, CRYPTO, FX)")
    parser.add_argument(
        "--timezone",
        help="the exchange's IANA timezone (default by type: America/New_York, for crypto Etc/UTC)",
    )
    parser.add_argument(
        "--session",
        help="TradingView session string (default by type: 0930-1600, 1700-1700:23456 for forex, 24x7 for crypto)",
    )
    parser.add_argument("--description", help="the symbol's description (default: the symbol)")
    parser.add_argument(
        "--pricescale",
        type=_pricescale,
        help="ticks per unit of price (default: what the prices' decimals need; instruments add: 100, forex 100000)",
    )


def _data_commands(parser: argparse.ArgumentParser) -> None:
    """The `import` and `instruments` subcommands (without one, the server runs)."""
    commands = parser.add_subparsers(dest="command", metavar="{import,instruments}", title="data commands")
    importing = commands.add_parser(
        "import",
        help="load OHLCV bars from CSV files into the store (STORE_URL)",
        description=(
            "Load OHLCV bars from CSV files into the store that STORE_URL names. Every file is checked before"
            " anything is written: a bad row refuses the whole import, naming its file and line, and the store is"
            " left as it was."
        ),
    )
    importing.add_argument("files", nargs="+", metavar="FILE", help="CSV files of bars (each has its own resolution)")
    importing.add_argument("--symbol", required=True, help="the instrument the bars belong to (created if new)")
    _instrument_flags(importing, type_required=False)
    importing.add_argument(
        "--input-timezone",
        type=_zone,
        default=_zone("UTC"),
        metavar="TZ",
        help="the zone of times without an offset (default: UTC); dates are trading days whatever the zone",
    )
    importing.add_argument(
        "--ambiguous",
        choices=("earlier", "later"),
        help="which of a local time the clocks pass twice (daylight saving ends); without it such a time is refused",
    )
    importing.add_argument(
        "--decimal",
        choices=(".", ","),
        default=".",
        metavar="MARK",
        help="decimal mark of the numbers, . (default) or , (then columns are separated by ; and . groups thousands)",
    )
    importing.add_argument(
        "--replace", action="store_true", help="overwrite stored bars whose values differ (otherwise refused)"
    )
    instruments = commands.add_parser("instruments", help="add an instrument without bars, or list the stored ones")
    actions = instruments.add_subparsers(dest="action", metavar="{add,list}", required=True)
    adding = actions.add_parser("add", help="store an instrument with no history (for live ingest)")
    adding.add_argument("symbol", metavar="SYMBOL")
    _instrument_flags(adding, type_required=True)
    actions.add_parser("list", help="print the stored instruments, their resolutions and first and last bars")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Options (`host`, `port`, `replay_start`, `replay_speed`, `replay_symbols`: str or None; `workers`: int;
    `command`: None to serve, or `import` or `instruments` with their own); `--help` prints every setting and exits."""
    parser = argparse.ArgumentParser(
        prog=program_name(sys.argv[0]),
        description="Serve Trading Pro: the chart page, its documentation, the REST, UDF and WebSocket APIs.",
        epilog=_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", help="listen address; overrides HOST")
    parser.add_argument("--port", help="listen port; overrides PORT")
    parser.add_argument(
        "--workers",
        type=_workers,
        default=1,
        help=(
            f"server processes sharing the port (SO_REUSEPORT), each serving the same data (default: 1, at most"
            f" {MAX_WORKERS}: each holds its own simulation, and past the cores more only add switching)"
        ),
    )
    parser.add_argument(
        "--replay-start",
        metavar="TIME",
        help=(
            "replay stored history as if live from this moment (ISO 8601, UTC unless an offset is given, e.g."
            " 2024-03-11T13:30:00Z): the whole server runs on a clock starting there; overrides REPLAY_START"
        ),
    )
    parser.add_argument(
        "--replay-speed",
        "--speed",
        metavar="N",
        help=(
            "how many times faster than real time the replay clock runs (default: 1; needs a replay start);"
            " overrides REPLAY_SPEED"
        ),
    )
    parser.add_argument(
        "--replay-symbols",
        metavar="SYMBOLS",
        help=(
            "comma-separated stored symbols to replay (default: every stored one; the others are not served"
            " meanwhile; needs a replay start); overrides REPLAY_SYMBOLS"
        ),
    )
    _data_commands(parser)
    return parser.parse_args(argv)

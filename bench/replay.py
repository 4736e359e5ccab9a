"""Replay benchmark: 10 minutes of stored data replayed at --replay-speed 10 must take 60 s of real time (± 5 %).

A store (an SQLite file in a temporary directory) holds an hour of minute bars of two crypto pairs, REPLAYA and
REPLAYB. `python -m app --replay-start <their first minute + 30 s> --replay-speed 10` serves it as a separate
process, with the broadcaster's default interval (1 s). One WebSocket client subscribes to both symbols' minute
bars and notes, on its own monotonic clock, when each minute bar first arrives: a stored minute is sent once its
period has ended, so ten minutes of data are played between the arrival of the minute before them (their first
minute begins) and the arrival of their last (it ends). The benchmark prints that time for 10 minutes of REPLAYA,
each minute's share, how far apart the same minute of both symbols arrived (one clock), and how far the server's
clock (UDF /time) moved meanwhile. Run from the repository root:

    .venv/bin/python bench/replay.py [--speed 10] [--minutes 10]

Results are printed and written to bench/results/replay.json.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from harness import HOST, environment, format_table, write_json

from app.market.instruments import AssetClass
from app.market.resolutions import Resolution
from app.paths import UDF_PREFIX, WS_PATH
from app.store.base import InstrumentSpec
from app.store.open import open_store
from tests.live_server import free_port, serving
from tests.store_fixtures import sample_rows

DATA_START = 1_793_613_600  # Monday 2026-11-02 10:00 UTC
STORED_MINUTES = 60
SYMBOLS = ("REPLAYA", "REPLAYB")
TOLERANCE = 0.05


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--speed", type=float, default=10.0, help="REPLAY_SPEED (default 10)")
    parser.add_argument("--minutes", type=int, default=10, help="minutes of data timed (default 10)")
    return parser.parse_args()


def fill_store(url: str) -> None:
    """An hour of minute bars of each symbol from DATA_START."""
    store = open_store(url)
    try:
        store.migrate()
        for seed, symbol in enumerate(SYMBOLS):
            spec = InstrumentSpec(symbol, AssetClass.CRYPTO, "CRYPTO", "Etc/UTC", "24x7", symbol, pricescale=100)
            store.put_instrument(spec)
            store.write_bars(symbol, Resolution.M1, sample_rows(DATA_START, STORED_MINUTES, seed=seed))
    finally:
        store.close()


async def server_time(session: aiohttp.ClientSession, base: str) -> int:
    async with session.get(f"{base}{UDF_PREFIX}/time") as response:
        return int(await response.text())


async def watch(base: str, minutes: int) -> dict[str, Any]:
    """Arrival (monotonic seconds) of each new minute bar of each symbol, until REPLAYA has `minutes` + 1 of them."""
    arrivals: dict[str, dict[int, float]] = {symbol: {} for symbol in SYMBOLS}
    async with aiohttp.ClientSession() as session, session.ws_connect(f"{base}{WS_PATH}") as ws:
        for symbol in SYMBOLS:
            await ws.send_json({"type": "bars.subscribe", "payload": {"symbol": symbol, "resolution": "1"}})
        # The bars each topic already had when subscribed are not arrivals: their minutes ended before.
        known: dict[str, int] = {}
        clock_at: list[int] = []
        while len(arrivals["REPLAYA"]) < minutes + 1:
            message = await ws.receive_json(timeout=30)
            if message["type"] != "bars.update":
                continue
            symbol, stamp = message["topic"].split(":")[1], message["payload"]["time"] // 1000
            if symbol not in known:
                known[symbol] = stamp
            elif stamp > known[symbol] and stamp not in arrivals[symbol]:
                arrivals[symbol][stamp] = time.monotonic()
                # A client must say something within WS_HEARTBEAT_INTERVAL (30 s) to stay connected.
                await ws.send_json({"type": "ping", "payload": {}})
                if symbol == "REPLAYA" and len(arrivals[symbol]) in (1, minutes + 1):
                    clock_at.append(await server_time(session, base))
    return {"arrivals": arrivals, "server_times": clock_at}


def main() -> None:
    args = parse_args()
    replay_start = datetime.fromtimestamp(DATA_START + 30, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    with tempfile.TemporaryDirectory(prefix="tp-bench-replay-") as folder:
        url = f"sqlite:///{Path(folder) / 'replay.db'}"
        fill_store(url)
        port = free_port()
        flags = ["--host", HOST, "--port", str(port), "--replay-start", replay_start, "--replay-speed", str(args.speed)]
        with serving({"STORE_URL": url, "PORT": str(port)}, port=port, args=flags) as server:
            watched = asyncio.run(watch(server.base_url, args.minutes))
    arrivals = watched["arrivals"]
    first = sorted(arrivals["REPLAYA"].items())[: args.minutes + 1]
    stamps = [stamp for stamp, _ in first]
    assert stamps == list(range(stamps[0], stamps[0] + 60 * (args.minutes + 1), 60)), f"minutes missed: {stamps}"
    shares = [later - earlier for (_, earlier), (_, later) in itertools.pairwise(first)]
    elapsed = first[-1][1] - first[0][1]
    target = args.minutes * 60 / args.speed
    apart = [abs(arrivals["REPLAYB"][stamp] - at) for stamp, at in first if stamp in arrivals["REPLAYB"]]
    moved = watched["server_times"][1] - watched["server_times"][0]
    error = elapsed / target - 1
    rows = [
        ("minutes of data timed", args.minutes, ""),
        ("real time taken", f"{elapsed:.2f} s", f"target {target:.0f} s ± {TOLERANCE:.0%}"),
        ("error", f"{error:+.2%}", "PASS" if abs(error) <= TOLERANCE else "FAIL"),
        ("one minute, mean / min / max", f"{statistics.mean(shares):.2f} / {min(shares):.2f} / {max(shares):.2f}", "s"),
        ("same minute of both symbols, apart at most", f"{max(apart) * 1000:.0f} ms", f"{len(apart)} minutes"),
        ("server clock (UDF /time) moved", f"{moved} s", f"over {elapsed:.1f} s of real time"),
    ]
    print(f"Replay at speed {args.speed:g} from {replay_start}, broadcaster interval 1 s (the default)")
    print(format_table(("figure", "value", ""), rows))
    path = write_json(
        "replay.json",
        {
            "environment": environment(speed=args.speed, minutes=args.minutes, replay_start=replay_start),
            "elapsed_seconds": elapsed,
            "target_seconds": target,
            "error": error,
            "minute_seconds": shares,
            "symbols_apart_seconds_max": max(apart),
            "server_clock_moved_seconds": moved,
        },
    )
    print(f"written to {path}")
    if abs(error) > TOLERANCE:
        raise SystemExit(f"FAILED: {elapsed:.2f} s is not within {TOLERANCE:.0%} of {target:.0f} s")


if __name__ == "__main__":
    main()

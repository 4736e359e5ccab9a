"""Fidelity benchmark: the stylized facts of real returns (Cont 2001), measured on the simulated bars.

For each instrument class (stock, crypto, forex) and each of daily and hourly bars, the facts are measured per
instrument on the bars the feed serves (every daily bar since the history epoch, every hourly bar of the intraday
depth) and averaged over the class's instruments:

- lag-1 autocorrelation of log returns (real markets: about 0, no linear predictability);
- excess kurtosis of log returns at 1 period and of non-overlapping 5-period sums (heavy tails that thin out as
  the horizon grows, "aggregational Gaussianity"; real daily equity returns: about 7.6 and 1.5);
- mean autocorrelation of |returns| over lags 1-10 (volatility clustering: positive);
- correlation of volume with |return| (busy periods move more: positive);
- leverage: correlation of r_t with the mean |r| over t+1..t+5 (for stocks negative, real daily equity data
  about -0.07).

A log return is the close of one bar over the close of the bar before (a stock's overnight gap belongs to the
first bar of the session); tests/market/stylized.py computes the facts. No server is started: the figures come from
`SimulatedFeed`, the same pure function of symbol and time the server serves. The facts are printed with the
real-market reference beside them, never asserted (tests/market/test_stylized_facts.py asserts their signs and
orderings).

Run from the repository root:

    .venv/bin/python bench/fidelity.py [--at 2026-11-18]

`--at` is the feed's clock (a UTC date; default today), so two runs at the same date print the same figures.
Results are printed and written to bench/results/fidelity.json.
"""

from __future__ import annotations

import argparse
import calendar
import time
from dataclasses import asdict, astuple, fields
from datetime import date

from harness import format_table, write_json

from app.market.instruments import AssetClass
from app.market.resolutions import Resolution
from app.market.simulation import SimulatedFeed
from tests.market.stylized import Facts, class_facts

# Real daily equity returns, for comparison (Cont 2001 and the measurements on real price files).
REFERENCE = ("~0", "7.6", "1.5", "> 0", "> 0", "-0.07 (stocks)")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--at", type=date.fromisoformat, default=date.today(), help="the feed's date (UTC)")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    moment = calendar.timegm(args.at.timetuple())
    feed = SimulatedFeed(clock=lambda: moment)
    began = time.perf_counter()
    measured = {
        (asset_class, resolution): class_facts(feed, asset_class, resolution)
        for resolution in (Resolution.DAY, Resolution.H1)
        for asset_class in AssetClass
    }
    elapsed = time.perf_counter() - began
    rows = [
        (asset_class.value, resolution.value, *(f"{x:+.3f}" for x in astuple(found)))
        for (asset_class, resolution), found in measured.items()
    ]
    print(format_table(("class", "bars", *(f.name for f in fields(Facts))), [*rows, ("real", "1D", *REFERENCE)]))
    print(f"at {args.at.isoformat()}, measured in {elapsed:.1f} s")
    results = [
        {"class": asset_class.value, "resolution": resolution.value, **asdict(found)}
        for (asset_class, resolution), found in measured.items()
    ]
    print(f"written to {write_json('fidelity.json', {'at': args.at.isoformat(), 'facts': results})}")


if __name__ == "__main__":
    main()

"""The largest price and volume an import takes: 2**53, up to which a double holds every whole number exactly.

Prices are stored as ticks (int64) but leave the server as JSON numbers, which clients read as doubles; volumes
are stored as doubles. Past 2**53 ticks a price would come back rounded, and so would a whole volume
(9007199254740993 is held as 9007199254740992), so both are refused there rather than changed in silence, as
live trades are (app/market/trades.py). A fractional volume is held as the double nearest its decimal (about 16
significant digits), as any double is.
"""

from __future__ import annotations

import numpy as np

from app.importer.decimals import Decimals, Mask

EXACT = 2**53


def within(numbers: Decimals, limit: int) -> Mask:
    """Whether each number lies in [-limit, limit] (`limit` a whole number), exactly; a large one never does."""
    whole, fraction = np.divmod(np.abs(numbers.digits), 10**numbers.places)
    held: Mask = ~numbers.large & ((whole < limit) | ((whole == limit) & (fraction == 0)))
    return held


def largest_price(pricescale: int) -> str:
    """The largest decimal price on the grid of 1/pricescale within EXACT ticks, as `90,071,992,547,409.92`.

    A decimal price is on the grid when price * pricescale is whole. With pricescale = tens * rest, where `tens`
    holds its factors 2 and 5 (it divides a power of ten) and `rest` the others, that whole number must be a
    multiple of `rest` for the price to be a decimal; the largest is EXACT // rest * rest, the price
    EXACT // rest / tens."""
    rest, twos, fives = pricescale, 0, 0
    while rest % 2 == 0:
        rest, twos = rest // 2, twos + 1
    while rest % 5 == 0:
        rest, fives = rest // 5, fives + 1
    places = max(twos, fives)
    return grouped(EXACT // rest * (10**places // (pricescale // rest)), places)


def grouped(digits: int, places: int) -> str:
    """`digits / 10**places` (not negative) with its thousands grouped and no trailing zeros: `1,234.5`."""
    whole, fraction = divmod(digits, 10**places)
    decimals = str(fraction).rjust(places, "0").rstrip("0") if fraction else ""
    return f"{whole:,}.{decimals}" if decimals else f"{whole:,}"

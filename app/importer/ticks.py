"""Prices in ticks: integer counts of 1/pricescale (minmov 1), converted exactly from their decimals.

A price is on the tick grid when digits * pricescale / 10**places is a whole number; one that is not, or whose
ticks would pass 2**53 (limits.py: beyond it a price read back as a double is no longer exact), is refused.
"""

from __future__ import annotations

from math import gcd

import numpy as np

from app.importer.decimals import MAX_DIGITS, Decimals, Ints, Mask
from app.importer.limits import EXACT


def to_ticks(prices: Decimals, pricescale: int) -> tuple[Ints, Mask, Mask]:
    """Each price in ticks (0 where it is out of range or off the grid), whether it is in range (within EXACT ticks
    either side of zero; a large number never is), and whether it lies on the grid."""
    # Each price on its own number of places: its ticks, digits * pricescale / 10**places, are whole when the digits
    # are a multiple of `divisor` (10**places over its common factor with the pricescale), and are then
    # digits // divisor * factor. Nothing is scaled to a common number of places, which could pass int64.
    commons = [gcd(pricescale, 10**places) for places in range(MAX_DIGITS + 1)]
    divisors = np.array([10**places // common for places, common in enumerate(commons)], dtype=np.int64)
    factors = np.array([pricescale // common for common in commons], dtype=np.int64)
    divisor, factor = divisors[prices.places], factors[prices.places]
    whole, rest = np.divmod(prices.digits, divisor)
    held: Mask = ~prices.large & (np.abs(whole) <= EXACT // factor)
    on_grid: Mask = rest == 0
    ticks: Ints = np.where(held & on_grid, whole, 0) * factor
    return ticks, held, on_grid


def spelled(digits: int, places: int) -> str:
    """A decimal as it was written (less trailing zeros): `digits / 10**places`."""
    sign, text = ("-" if digits < 0 else ""), str(abs(digits)).rjust(places + 1, "0")
    return f"{sign}{text[: len(text) - places]}.{text[len(text) - places :]}" if places else f"{sign}{text}"

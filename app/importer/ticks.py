"""Prices in ticks: integer counts of 1/pricescale (minmov 1), converted exactly from their decimals.

A price is on the tick grid when digits * pricescale / 10**places is a whole number; one that is not, or whose
ticks would pass 2**53 (beyond which a price read back as a float is no longer exact), is refused.
"""

from __future__ import annotations

from math import gcd

import numpy as np

from app.importer.decimals import Decimals, Ints, Mask

# Ticks above this lose their exactness as doubles (bars leave the server as JSON numbers).
LIMIT = 2**53
# Digits scaled to a common number of places stay below this, far from int64's end.
_WIDEST = 2**62
_POWERS = 10 ** np.arange(19, dtype=np.int64)


def to_ticks(prices: Decimals, pricescale: int) -> tuple[Ints, Mask]:
    """Each price in ticks, and whether it lies on the grid (0 where it does not)."""
    if len(prices.places) == 0:
        return prices.digits.copy(), np.ones(0, dtype=np.bool_)
    # Every price written with the most places any has (12.5 -> 12.50), so that one scale fits them all.
    most = int(prices.places.max())
    shift = _POWERS[most - prices.places]
    fits = np.abs(prices.digits) <= _WIDEST // shift
    scale = 10**most
    common = gcd(pricescale, scale)
    divisor, factor = scale // common, pricescale // common
    digits = np.where(fits, prices.digits * shift, 0)
    whole = fits & (digits % divisor == 0) & (np.abs(digits // divisor) <= LIMIT // factor)
    return np.where(whole, digits // divisor * factor, 0), whole


def spelled(digits: int, places: int) -> str:
    """A decimal as it was written (less trailing zeros): `digits / 10**places`."""
    sign, text = ("-" if digits < 0 else ""), str(abs(digits)).rjust(places + 1, "0")
    return f"{sign}{text[: len(text) - places]}.{text[len(text) - places :]}" if places else f"{sign}{text}"

"""Decimal numbers as CSV exports spell them (`-1234.5`; with `--decimal ,` also `1.234,5`), read exactly.

A column arrives as numpy fixed-width bytes (one field per row, NUL-padded). Each number becomes the integer of
its significant digits and its count of decimal places (`12.50` -> 125 and 1: a trailing zero is formatting, not
a place a price needs), so that prices turn into ticks without a float in between. The common spelling (an
optional minus, digits, at most one point) is read for the whole column at once as a byte matrix; any other field
(an exponent, a leading plus, surrounding spaces, thousands grouping) is read on its own by the standard library's
Decimal, and a field neither reads (`null`, `NaN`, empty) is marked bad.

Digits and places are held as int64, so a number fits in MAX_DIGITS digits: one of 10**18 or more is marked large
(it is a number, but beyond any price or volume the store takes: the caller says so, with the largest it takes),
and one of more digits than that below it (0.1234567890123456789, 1e-30) is marked bad as well, with its reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import Enum

import numpy as np
import numpy.typing as npt

Fields = npt.NDArray[np.bytes_]
Ints = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]

# Digits an int64 holds whatever they are.
MAX_DIGITS = 18
_ZERO, _POINT, _COMMA, _MINUS = ord("0"), ord("."), ord(","), ord("-")
# With a decimal comma, points group thousands: 1.234.567,89 (groups of three, or no grouping at all).
_POWERS = 10 ** np.arange(MAX_DIGITS + 1, dtype=np.int64)
# Fields measured to guess a column's width.
_SAMPLE = 64
# Integers a double holds exactly.
_EXACT = 2**53
_GROUPED = re.compile(r"[-+]?(\d{1,3}(\.\d{3})+|\d*)(,\d*)?")


class Unread(Enum):
    """Why a field is not held as digits and places (see `read_one`)."""

    NOT_A_NUMBER = "not a number"
    TOO_PRECISE = f"more than {MAX_DIGITS} digits"
    TOO_LARGE = "too large"


@dataclass(frozen=True, slots=True)
class Decimals:
    """A column of numbers: `digits / 10**places` each (places 0 to MAX_DIGITS). `bad` rows are not numbers, or
    have more digits than MAX_DIGITS (0 and 0 there); `large` rows are numbers of 10**18 or more, beyond any price
    or volume stored: their digits are their sign (1 or -1), places 0."""

    digits: Ints
    places: Ints
    bad: Mask
    large: Mask

    def floats(self) -> npt.NDArray[np.float64]:
        """The numbers as floats, each the double nearest its decimal: one correctly rounded division where the
        digits are a double exactly (below 2**53), Python's own reading of the decimal for the rare longer ones."""
        floats: npt.NDArray[np.float64] = self.digits / 10.0**self.places
        for row in np.flatnonzero(np.abs(self.digits) > _EXACT):
            floats[row] = float(f"{self.digits[row]}e-{self.places[row]}")
        return floats


def characters(fields: Fields, width: int = 1) -> npt.NDArray[np.uint8]:
    """`fields` as byte codes, character by character: row j holds every field's j-th byte (0 past a field's
    end), as many rows as the longest field has bytes, at least `width`. Row by row, each step of a parse is one
    operation on a contiguous vector of the whole column."""
    # The longest field: the longest of the first few, then one more byte while any field has one there (a field
    # has no NUL inside, so byte k of some field is set exactly when a field is longer than k). Cheaper than
    # measuring every field.
    matrix = fields[:, None].view(np.uint8)
    longest = int(np.char.str_len(fields[:_SAMPLE]).max(initial=0))
    while longest < matrix.shape[1] and matrix[:, longest].any():
        longest += 1
    longest = max(longest, width)
    return np.ascontiguousarray(fields.astype(f"S{longest}").view(np.uint8).reshape(len(fields), longest).T)


def lengths(chars: npt.NDArray[np.uint8]) -> Ints:
    """Each field's length, from its characters (`characters`)."""
    return _count(chars != 0).astype(np.int64)


def read_decimals(fields: Fields, comma: bool = False) -> Decimals:
    """Read a column of decimal numbers (see the module's docstring); `comma`: `,` is the decimal mark."""
    chars = characters(fields)
    values = chars - np.uint8(_ZERO)
    digit = values < 10
    mark = chars == (_COMMA if comma else _POINT)
    allowed = digit | mark | (chars == 0)
    allowed[0] |= chars[0] == _MINUS
    count = _count(digit)
    plain = allowed.all(axis=0) & (_count(mark) <= 1) & (count > 0) & (count <= MAX_DIGITS)
    # Digits after the mark, and of those the trailing zeros (no other digit after them), a character at a time:
    # numpy's accumulate along the characters costs more than the whole parse.
    decimal = np.empty_like(digit)
    after = np.zeros(len(fields), dtype=np.bool_)
    for j in range(len(chars)):
        after |= mark[j]
        decimal[j] = digit[j] & after
    trailing = np.empty_like(digit)
    later = np.zeros(len(fields), dtype=np.bool_)
    for j in reversed(range(len(chars))):
        later |= decimal[j] & (values[j] != 0)
        trailing[j] = decimal[j] & ~later
    zeros = _count(trailing)
    digits = np.zeros(len(fields), dtype=np.int64)
    for row_digit, row_values in zip(digit, values, strict=True):
        # digits * 10 + value at a digit, unchanged at the mark, the minus or past the end.
        digits = digits * (1 + 9 * row_digit.view(np.uint8)) + row_values * row_digit
    digits //= _POWERS[np.where(plain, zeros, 0)]
    places = (_count(decimal) - zeros).astype(np.int64)
    digits = np.where(chars[0] == _MINUS, -digits, digits)
    digits[~plain] = 0
    places[~plain] = 0
    bad = np.zeros(len(fields), dtype=np.bool_)
    large = np.zeros(len(fields), dtype=np.bool_)
    for row in np.flatnonzero(~plain):
        text = fields[row].decode("latin-1")
        read = read_one(text, comma)
        if read is Unread.TOO_LARGE:
            large[row] = True
            digits[row] = -1 if text.strip().startswith("-") else 1
        elif isinstance(read, Unread):
            bad[row] = True
        else:
            digits[row], places[row] = read
    return Decimals(digits, places, bad, large)


def _count(flags: Mask) -> npt.NDArray[np.uint8]:
    """How many of each column's flags hold (at most 255: fields are shorter), summed as bytes: numpy's own
    count along the first axis goes through int64 and costs ten times more."""
    counted: npt.NDArray[np.uint8] = flags.view(np.uint8).sum(axis=0, dtype=np.uint8)
    return counted


def read_one(text: str, comma: bool = False) -> tuple[int, int] | Unread:
    """One number as (digits, places) with trailing zeros dropped (less than 10**MAX_DIGITS each), or why not:
    not a finite number, a number of 10**MAX_DIGITS or more, or one that needs more digits below that."""
    spelled = text.strip()
    if comma:
        if "." in spelled and not _GROUPED.fullmatch(spelled):
            return Unread.NOT_A_NUMBER
        spelled = spelled.replace(".", "").replace(",", ".")
    elif "," in spelled:
        return Unread.NOT_A_NUMBER
    try:
        number = Decimal(spelled)
    except InvalidOperation:
        return Unread.NOT_A_NUMBER
    if not number.is_finite():
        return Unread.NOT_A_NUMBER
    if number and number.adjusted() >= MAX_DIGITS:
        return Unread.TOO_LARGE
    # Trailing zeros dropped by hand: Decimal's normalize() rounds to its context's 28 digits and smallest exponent.
    sign, figures, exponent = number.as_tuple()
    assert isinstance(exponent, int)  # finite numbers have an integer exponent
    digits = int("".join(map(str, figures)))
    if digits == 0:
        return 0, 0
    while digits % 10 == 0:
        digits //= 10
        exponent += 1
    digits *= -1 if sign else 1
    if exponent >= 0:
        return digits * 10**exponent, 0
    if -exponent > MAX_DIGITS or abs(digits) >= 10**MAX_DIGITS:
        return Unread.TOO_PRECISE
    return digits, -exponent


def is_number(text: str, comma: bool = False) -> bool:
    """Whether `text` reads as a number (how a header line is told from a data line)."""
    return read_one(text, comma) is not Unread.NOT_A_NUMBER

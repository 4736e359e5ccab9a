"""Numbers read exactly as digits and decimal places, whole columns at once, with the odd field read alone."""

from __future__ import annotations

import numpy as np
import pytest

from app.importer.decimals import Unread, read_decimals, read_one
from app.importer.ticks import spelled, to_ticks


def read(*texts: str, comma: bool = False) -> list[tuple[int, int] | str | None]:
    """Each number as (digits, places); None: not one; `large` or `-large`: too large to hold, with its sign."""
    numbers = read_decimals(np.array([text.encode() for text in texts], dtype="S40"), comma)
    return [
        None if bad else ("large" if digits > 0 else "-large") if large else (int(digits), int(places))
        for digits, places, bad, large in zip(numbers.digits, numbers.places, numbers.bad, numbers.large, strict=True)
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1.50", (15, 1)),
        ("-12.345", (-12345, 3)),
        ("100", (100, 0)),
        (".5", (5, 1)),
        ("41999.80", (419998, 1)),
        ("0.000", (0, 0)),
        ("42283.58000000", (4228358, 2)),
        ("123456789012345678", (123456789012345678, 0)),
        # Spellings the byte matrix leaves to Decimal.
        ("1e-5", (1, 5)),
        (" 2.5 ", (25, 1)),
        ("+1.5", (15, 1)),
        ("1E3", (1000, 0)),
    ],
)
def test_numbers_are_read_exactly(text: str, expected: tuple[int, int]) -> None:
    assert read(text) == [expected]


@pytest.mark.parametrize(
    "text",
    [
        "null",
        "",
        "NaN",
        "inf",
        "-",
        "1.2.3",
        "1-2",
        "1,5",
        "abc",
        "0.1234567890123456789",
        "1e-99999999999",
        "1.00000000000000000000000000001",
    ],
)
def test_what_is_not_a_number_of_at_most_18_digits_is_bad(text: str) -> None:
    assert read(text) == [None]


def test_numbers_too_large_to_hold_are_large_with_their_sign() -> None:
    texts = ("1e18", "-1e300", "1234567890123456789", "1234567890123456789.5", " +1E+19 ", "999999999999999999")
    assert read(*texts) == ["large", "-large", "large", "large", "large", (999999999999999999, 0)]
    assert read("1.000.000.000.000.000.000,5", comma=True) == ["large"]


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("null", Unread.NOT_A_NUMBER),
        ("0.1234567890123456789", Unread.TOO_PRECISE),
        ("1e18", Unread.TOO_LARGE),
        ("-1e18", Unread.TOO_LARGE),
        ("1.5", (15, 1)),
    ],
)
def test_one_number_read_alone_says_why_it_is_not_held(text: str, said: tuple[int, int] | Unread) -> None:
    assert read_one(text) == said


def test_a_column_mixes_spellings_row_by_row() -> None:
    assert read("1.5", "null", "2", "1e1", "") == [(15, 1), None, (2, 0), (10, 0), None]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1.234,56", (123456, 2)),
        ("0,75", (75, 2)),
        ("12.345.678,9", (123456789, 1)),
        ("1.500", (1500, 0)),
        ("-3,10", (-31, 1)),
        ("7", (7, 0)),
    ],
)
def test_a_decimal_comma_groups_thousands_with_points(text: str, expected: tuple[int, int]) -> None:
    assert read(text, comma=True) == [expected]


@pytest.mark.parametrize("text", ["1.5", "1.23,4", "1,2,3"])
def test_a_decimal_comma_refuses_points_that_do_not_group_thousands(text: str) -> None:
    assert read(text, comma=True) == [None]


def test_floats_are_the_nearest_doubles() -> None:
    numbers = read_decimals(np.array([b"0.1", b"1234.5678", b"-2.5"]))
    assert numbers.floats().tolist() == [0.1, 1234.5678, -2.5]


def test_prices_become_ticks_exactly_or_are_off_the_grid() -> None:
    numbers = read_decimals(np.array([b"1.5", b"1.25", b"1.255", b"100", b"-0.75", b"0.3"]))
    ticks, held, on_grid = to_ticks(numbers, 100)
    assert ticks.tolist() == [150, 125, 0, 10_000, -75, 30]
    assert held.all()
    assert on_grid.tolist() == [True, True, False, True, True, True]
    # Quarters: 1.5 is 6 ticks, 0.3 is not a quarter.
    ticks, held, on_grid = to_ticks(numbers, 4)
    assert ticks.tolist() == [6, 5, 0, 400, -3, 0]
    assert on_grid.tolist() == [True, True, False, True, True, False]


def test_ticks_beyond_what_a_double_holds_are_not_held() -> None:
    texts = [b"90071992547409.93", b"90071992547409.92", b"-90071992547409.92", b"-90071992547409.93", b"1e30"]
    ticks, held, _ = to_ticks(read_decimals(np.array(texts)), 100)
    assert held.tolist() == [False, True, True, False, False]
    assert ticks.tolist() == [0, 2**53, -(2**53), 0, 0]


def test_a_price_of_many_places_beside_a_large_one_is_ticks_each_on_its_own() -> None:
    # Written with 12 places, 12345678.9 would pass what an int64 holds; its ticks at pricescale 100 do not.
    ticks, held, on_grid = to_ticks(read_decimals(np.array([b"1.000000000001", b"12345678.9", b"1e-18"])), 100)
    assert (ticks.tolist(), held.tolist(), on_grid.tolist()) == (
        [0, 1_234_567_890, 0],
        [True] * 3,
        [False, True, False],
    )


def test_a_number_is_spelled_as_written() -> None:
    assert [spelled(-75, 2), spelled(5, 3), spelled(123, 0), spelled(-5, 1)] == ["-0.75", "0.005", "123", "-0.5"]


def test_floats_of_more_digits_than_a_double_holds_are_still_the_nearest() -> None:
    texts = ["397787.41249925003", "1234567890.12345678", "-0.000000000000000001"]
    numbers = read_decimals(np.array([text.encode() for text in texts]))
    assert numbers.floats().tolist() == [float(text) for text in texts]

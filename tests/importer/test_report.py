"""The figures an import's summary gives."""

from __future__ import annotations

import pytest

from app.importer.report import rate


@pytest.mark.parametrize(
    ("rows", "seconds", "said"),
    [
        (1, 0.0123, "in 12 ms (81 rows/s)"),
        (2, 0.0004, "in 0 ms (5,000 rows/s)"),
        (500, 0.9994, "in 999 ms (500 rows/s)"),
        (1_000, 0.9996, "in 1.0 s (1,000 rows/s)"),
        (1_000_000, 4.1, "in 4.1 s (244,000 rows/s)"),
    ],
)
def test_times_under_a_second_are_in_milliseconds(rows: int, seconds: float, said: str) -> None:
    assert rate(rows, seconds) == said

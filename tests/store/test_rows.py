"""Bar rows as an engine's statements take them: each statement's rows column after column, as Python numbers."""

from __future__ import annotations

import numpy as np
import pytest

from app.store.base import BarRows
from app.store.rows import statement_parameters


def four_bars() -> BarRows:
    return BarRows(
        np.array([60, 120, 180, 240]),
        np.array([10, 11, 12, 13]),
        np.array([20, 21, 22, 23]),
        np.array([5, 6, 7, 8]),
        np.array([15, 16, 17, 18]),
        np.array([0.5, 1.5, 2.5, 3.5]),
    )


def test_each_statement_gets_the_prefix_then_its_rows_column_after_column() -> None:
    statements = list(statement_parameters(four_bars(), 2, 7))
    assert statements == [
        [7, 60, 120, 10, 11, 20, 21, 5, 6, 15, 16, 0.5, 1.5],
        [7, 180, 240, 12, 13, 22, 23, 7, 8, 17, 18, 2.5, 3.5],
    ]
    # Python numbers, which a driver binds as integers and doubles.
    assert {type(value) for value in statements[0][1:11]} == {int}
    assert {type(value) for value in statements[0][11:]} == {float}


def test_rows_that_fill_no_whole_number_of_statements_are_refused() -> None:
    with pytest.raises(ValueError, match="4 rows do not divide into statements of 3"):
        next(statement_parameters(four_bars(), 3))

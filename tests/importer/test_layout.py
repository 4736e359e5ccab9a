"""Columns found by header name or by position, from the first line."""

from __future__ import annotations

import pytest

from app.importer.layout import Layout, detect
from app.importer.problems import ImportRefusedError


@pytest.mark.parametrize(
    ("line", "layout"),
    [
        ("time,open,high,low,close,volume", Layout(",", True, (0,), (1, 2, 3, 4), 5)),
        ("Date,Open,High,Low,Close,Adj Close,Volume", Layout(",", True, (0,), (1, 2, 3, 4), 6)),
        (",Open,High,Low,Close,Volume", Layout(",", True, (0,), (1, 2, 3, 4), 5)),
        ("Date;Open;High;Low;Close;Volume", Layout(";", True, (0,), (1, 2, 3, 4), 5)),
        ("open_time,open,high,low,close,volume,close_time", Layout(",", True, (0,), (1, 2, 3, 4), 5)),
        ("<DATE>\t<TIME>\t<OPEN>\t<HIGH>\t<LOW>\t<CLOSE>\t<TICKVOL>", Layout("\t", True, (0, 1), (2, 3, 4, 5), 6)),
        (
            "<DATE>\t<TIME>\t<OPEN>\t<HIGH>\t<LOW>\t<CLOSE>\t<TICKVOL>\t<VOL>",
            Layout("\t", True, (0, 1), (2, 3, 4, 5), 7),
        ),
        ("Volume,Close,Low,High,Open,Timestamp", Layout(",", True, (5,), (4, 3, 2, 1), 0)),
        ("1704205800000,1.0,2.0,0.5,1.5,100,1704205859999,1,2,3,4,0", Layout(",", False, (0,), (1, 2, 3, 4), 5)),
        ("2024.01.02,09:30,1.1,1.2,1.0,1.1,100", Layout(",", False, (0, 1), (2, 3, 4, 5), 6)),
        ("2024-01-02 09:30,1.1,1.2,1.0,1.1,100", Layout(",", False, (0,), (1, 2, 3, 4), 5)),
    ],
)
def test_layouts(line: str, layout: Layout) -> None:
    assert detect("f.csv", line, 1, decimal_comma=False) == layout


def test_a_decimal_comma_file_is_told_by_its_semicolons() -> None:
    assert detect("f.csv", "2024-01-02;1,5;2;1;1,5;10", 1, decimal_comma=True) == Layout(
        ";", False, (0,), (1, 2, 3, 4), 5
    )


@pytest.mark.parametrize(
    ("line", "said"),
    [
        (
            "date,open,high,low,close",
            "f.csv line 3: no volume column in the header ('date', 'open', 'high', 'low', 'close')",
        ),
        ("foo,open,high,low,close,volume", "f.csv line 3: no time column in the header"),
        ("date,open,high,low,close,close,volume", "f.csv line 3: two close columns ('close' and 'close')"),
        ("date,datetime,open,high,low,close,volume", "f.csv line 3: more than one time column"),
        ("2024-01-02,1,2,0.5", "f.csv line 3: no header, and 4 columns where 6 are needed"),
    ],
)
def test_unusable_first_lines_are_refused_with_their_line(line: str, said: str) -> None:
    with pytest.raises(ImportRefusedError) as refused:
        detect("f.csv", line, 3, decimal_comma=False)
    assert said in str(refused.value)


def test_a_decimal_comma_needs_another_delimiter() -> None:
    with pytest.raises(ImportRefusedError, match="--decimal , needs columns separated by ; or a tab"):
        detect("f.csv", "date,open,high,low,close,volume", 1, decimal_comma=True)

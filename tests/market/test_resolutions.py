"""Resolutions: how clients spell them and how long they are (the periods they cover: test_grid)."""

from __future__ import annotations

import pytest

from app.market.resolutions import ALIASES, Resolution, parse_resolution


@pytest.mark.parametrize(
    ("text", "resolution"),
    [
        ("1", Resolution.M1),
        ("5", Resolution.M5),
        ("15", Resolution.M15),
        ("30", Resolution.M30),
        ("60", Resolution.H1),
        ("240", Resolution.H4),
        ("1D", Resolution.DAY),
        ("1W", Resolution.WEEK),
        ("1M", Resolution.MONTH),
        ("D", Resolution.DAY),
        ("W", Resolution.WEEK),
        ("M", Resolution.MONTH),
        ("d", Resolution.DAY),
        ("1d", Resolution.DAY),
        (" 60 ", Resolution.H1),
    ],
)
def test_parse_accepts_every_name_and_alias_in_any_case(text: str, resolution: Resolution) -> None:
    assert parse_resolution(text) is resolution


@pytest.mark.parametrize("text", ["", "0", "2", "1H", "H", "1Y", "1S", "60m", "D1", "1,5"])
def test_parse_refuses_anything_else(text: str) -> None:
    assert parse_resolution(text) is None


def test_the_names_and_aliases_are_tradingviews() -> None:
    assert [r.value for r in Resolution] == ["1", "5", "15", "30", "60", "240", "1D", "1W", "1M"]
    assert ALIASES == {"D": Resolution.DAY, "W": Resolution.WEEK, "M": Resolution.MONTH}


def test_nominal_seconds_and_which_are_intraday() -> None:
    seconds = {r: r.seconds for r in Resolution}
    assert list(seconds.values()) == [60, 300, 900, 1800, 3600, 14_400, 86_400, 604_800, 31 * 86_400]
    assert [r for r in Resolution if r.is_intraday] == [
        Resolution.M1,
        Resolution.M5,
        Resolution.M15,
        Resolution.M30,
        Resolution.H1,
        Resolution.H4,
    ]

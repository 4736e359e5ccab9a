"""Resolutions: how clients spell them, how long they are, and the UTC periods they cut time into."""

from __future__ import annotations

import calendar

import pytest

from app.market.resolutions import (
    ALIASES,
    Resolution,
    first_slot_at_or_after,
    parse_resolution,
    slot_index,
    slot_start,
)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> int:
    return calendar.timegm((year, month, day, hour, minute, second))


# Wednesday 2026-11-18 15:07:45 UTC.
MOMENT = utc(2026, 11, 18, 15, 7, 45)


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


@pytest.mark.parametrize(
    ("resolution", "start"),
    [
        (Resolution.M1, utc(2026, 11, 18, 15, 7)),
        (Resolution.M5, utc(2026, 11, 18, 15, 5)),
        (Resolution.M15, utc(2026, 11, 18, 15, 0)),
        (Resolution.M30, utc(2026, 11, 18, 15, 0)),
        (Resolution.H1, utc(2026, 11, 18, 15, 0)),
        (Resolution.H4, utc(2026, 11, 18, 12, 0)),
        (Resolution.DAY, utc(2026, 11, 18)),
        (Resolution.WEEK, utc(2026, 11, 16)),  # the Monday
        (Resolution.MONTH, utc(2026, 11, 1)),
    ],
)
def test_period_start_for_every_resolution(resolution: Resolution, start: int) -> None:
    assert resolution.period_start(MOMENT) == start
    assert resolution.period_start(resolution.next_start(start) - 0.4) == start, "its last fraction of a second"
    assert resolution.period_start(start) == start, "a period starts at its own start"
    assert resolution.period_start(start - 1) < start, "a second earlier is the period before"


@pytest.mark.parametrize(
    ("moment", "monday"),
    [
        (utc(2026, 11, 22, 23, 59, 59), utc(2026, 11, 16)),  # Sunday night belongs to the week begun Monday
        (utc(2026, 11, 23), utc(2026, 11, 23)),
        (utc(2027, 1, 1, 12), utc(2026, 12, 28)),  # a week across New Year
        (utc(1970, 1, 1), utc(1969, 12, 29)),  # the epoch was a Thursday
    ],
)
def test_weeks_start_on_monday(moment: int, monday: int) -> None:
    assert Resolution.WEEK.period_start(moment) == monday


@pytest.mark.parametrize(
    ("resolution", "start", "following"),
    [
        (Resolution.M1, utc(2026, 11, 18, 23, 59), utc(2026, 11, 19)),
        (Resolution.H4, utc(2026, 11, 18, 20), utc(2026, 11, 19)),
        (Resolution.DAY, utc(2026, 12, 31), utc(2027, 1, 1)),
        (Resolution.WEEK, utc(2026, 12, 28), utc(2027, 1, 4)),
        (Resolution.MONTH, utc(2026, 12, 1), utc(2027, 1, 1)),
        (Resolution.MONTH, utc(2028, 2, 1), utc(2028, 3, 1)),  # 29 days in a leap year
        (Resolution.MONTH, utc(2027, 2, 1), utc(2027, 3, 1)),
        (Resolution.MONTH, utc(2026, 1, 1), utc(2026, 2, 1)),
    ],
)
def test_next_start(resolution: Resolution, start: int, following: int) -> None:
    assert resolution.next_start(start) == following


@pytest.mark.parametrize("resolution", list(Resolution))
def test_slots_number_consecutive_periods(resolution: Resolution) -> None:
    index = slot_index(resolution, MOMENT)
    start = slot_start(resolution, index)
    assert start == resolution.period_start(MOMENT)
    assert slot_start(resolution, index + 1) == resolution.next_start(start)
    assert slot_index(resolution, resolution.next_start(start)) == index + 1
    assert first_slot_at_or_after(resolution, start) == index
    assert first_slot_at_or_after(resolution, start + 1) == index + 1

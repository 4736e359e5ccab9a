"""Naive times in a zone with daylight saving: the skipped hour does not exist, the repeated one is ambiguous."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from app.importer.zones import input_zone, wall_to_utc

NEW_YORK = ZoneInfo("America/New_York")


def wall(text: str) -> int:
    """A wall-clock time as the importer holds it: read as if UTC."""
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp())


def utc(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp())


def test_ordinary_times_have_one_reading() -> None:
    readings = wall_to_utc(np.array([wall("2024-07-01 09:30"), wall("2024-01-02 09:30")]), NEW_YORK, None)
    assert readings.utc.tolist() == [utc("2024-07-01 13:30+00:00"), utc("2024-01-02 14:30+00:00")]
    assert not readings.nonexistent.any()
    assert not readings.ambiguous.any()


def test_a_time_the_clocks_skip_does_not_exist() -> None:
    times = np.array([wall("2024-03-10 01:59"), wall("2024-03-10 02:30"), wall("2024-03-10 03:00")])
    readings = wall_to_utc(times, NEW_YORK, "later")
    assert readings.nonexistent.tolist() == [False, True, False]
    assert readings.utc[[0, 2]].tolist() == [utc("2024-03-10 06:59+00:00"), utc("2024-03-10 07:00+00:00")]


@pytest.mark.parametrize(
    ("choice", "expected"),
    [(None, "2024-11-03 05:30+00:00"), ("earlier", "2024-11-03 05:30+00:00"), ("later", "2024-11-03 06:30+00:00")],
)
def test_a_time_the_clocks_pass_twice_needs_a_choice(choice: str | None, expected: str) -> None:
    readings = wall_to_utc(np.array([wall("2024-11-03 01:30")]), NEW_YORK, choice)  # type: ignore[arg-type]
    assert readings.ambiguous.tolist() == [choice is None]
    assert readings.utc.tolist() == [utc(expected)]


def test_half_hour_daylight_saving() -> None:
    # Lord Howe Island moves its clocks by 30 minutes: 02:00 becomes 02:30 on 2024-10-06.
    zone = ZoneInfo("Australia/Lord_Howe")
    readings = wall_to_utc(np.array([wall("2024-10-06 02:15"), wall("2024-10-06 02:45")]), zone, None)
    assert readings.nonexistent.tolist() == [True, False]


def test_a_zone_without_daylight_saving() -> None:
    readings = wall_to_utc(np.array([wall("2024-03-10 02:30")]), ZoneInfo("Asia/Tokyo"), None)
    assert readings.utc.tolist() == [utc("2024-03-09 17:30+00:00")]


def test_an_unknown_zone_is_named() -> None:
    with pytest.raises(ValueError, match="unknown timezone 'Mars/Olympus'"):
        input_zone("Mars/Olympus")

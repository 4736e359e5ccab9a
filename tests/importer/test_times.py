"""Times read by kind: dates, naive and aware date-times, MetaTrader's two columns, unix times by their digits."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest

from app.importer.times import Kind, format_time, read_time, read_times


def utc(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp())


def read(*texts: str) -> list[tuple[Kind, int] | str]:
    times = read_times(np.array([text.encode() for text in texts], dtype="S40"))
    return [
        times.reasons[i] if times.bad[i] else (Kind(times.kinds[i]), int(times.seconds[i])) for i in range(len(texts))
    ]


def test_the_byte_matrix_and_the_single_field_reader_agree() -> None:
    texts = ["2024-01-02", "2024-01-02 14:30", "2024-01-02T14:30:15Z", "2024-01-02T14:30:00-05:00", "1704205800000"]
    times = read_times(np.array([text.encode() for text in texts]))
    assert [(Kind(k), int(s), int(o)) for k, s, o in zip(times.kinds, times.seconds, times.offsets, strict=True)] == [
        read_time(text) for text in texts
    ]


@pytest.mark.parametrize(
    ("text", "kind", "moment"),
    [
        ("2024-01-02", Kind.DATE, "2024-01-02"),
        ("2024.01.02", Kind.DATE, "2024-01-02"),
        ("2024/01/02", Kind.DATE, "2024-01-02"),
        ("2024-01-02 14:30", Kind.NAIVE, "2024-01-02 14:30"),
        ("2024-01-02T14:30:15", Kind.NAIVE, "2024-01-02 14:30:15"),
        ("2024.01.02 14:30", Kind.NAIVE, "2024-01-02 14:30"),
        ("2024-01-02T14:30:00Z", Kind.AWARE, "2024-01-02 14:30"),
        ("2024-01-02 14:30Z", Kind.AWARE, "2024-01-02 14:30"),
        ("2024-01-02T14:30:00+01:00", Kind.AWARE, "2024-01-02 13:30"),
        ("2024-01-02T09:30:00.000-05:00", Kind.AWARE, "2024-01-02 14:30"),
        ("1704205800", Kind.UNIX, "2024-01-02 14:30"),
        ("1704205800000", Kind.UNIX, "2024-01-02 14:30"),
        ("1704205800000000", Kind.UNIX, "2024-01-02 14:30"),
    ],
)
def test_each_spelling_is_read(text: str, kind: Kind, moment: str) -> None:
    assert read(text) == [(kind, utc(moment))]


def test_binance_spot_microseconds_of_2025_are_2025() -> None:
    # data.binance.vision's BTCUSDT-1m-2025-01-01: open times in microseconds since 2025-01-01.
    first, _ = read("1735689600000000", "1735689660000000")
    assert first == (Kind.UNIX, utc("2025-01-01"))
    assert format_time(utc("2025-01-01")) == "2025-01-01"
    assert read("1735689660000000") == [(Kind.UNIX, utc("2025-01-01 00:01"))]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("null", "is not a date, a date and time, or a unix time"),
        ("2024-02-30", "is not a date"),
        ("2024-01-02 24:00", "is not a date"),
        ("170420580", "has 9 digits, not 10 (s), 13 (ms) or 16 (µs)"),
        ("1704205800123", "has a fraction of a second"),
        ("2024-01-02 14:30:00.5", "has a fraction of a second"),
        ("9999999999000", "is after the year 2199"),
        ("7258118400", "is after the year 2199"),
    ],
)
def test_what_is_not_a_bar_time_says_why(text: str, reason: str) -> None:
    (said,) = read(text)
    assert isinstance(said, str)
    assert reason in said


def test_metatrader_date_and_time_columns() -> None:
    times = read_times(np.array([b"2024.01.02", b"2024.01.02", b"2024.01.03"]), np.array([b"14:30", b"14:31:15", b"x"]))
    assert times.seconds[:2].tolist() == [utc("2024-01-02 14:30"), utc("2024-01-02 14:31:15")]
    assert times.bad.tolist() == [False, False, True]


def test_every_date_of_three_centuries_reads_as_the_calendar_says() -> None:
    days = [date(1900, 1, 1) + timedelta(days=i) for i in range(0, 109_500, 3)]
    times = read_times(np.array([day.isoformat().encode() for day in days]))
    assert not times.bad.any()
    assert times.seconds.tolist() == [(day - date(1970, 1, 1)).days * 86_400 for day in days]


def test_dates_that_do_not_exist_are_bad() -> None:
    texts = ["2023-02-29", "2024-02-29", "2100-02-29", "2000-02-29", "2024-04-31", "2024-13-01", "2024-00-10"]
    assert [isinstance(said, str) for said in read(*texts)] == [True, False, True, False, True, True, True]


def test_one_field_alone() -> None:
    assert read_time("2024-01-02") == (Kind.DATE, utc("2024-01-02"), 0)
    assert read_time("20240102").startswith("unix time '20240102' has 8 digits")  # type: ignore[union-attr]


def test_an_aware_time_keeps_its_offset() -> None:
    times = read_times(np.array([b"2024-01-02 00:00:00-05:00", b"2024-07-01T09:30+02:00", b"2024-01-02T14:30:00Z"]))
    assert times.seconds.tolist() == [utc("2024-01-02 05:00"), utc("2024-07-01 07:30"), utc("2024-01-02 14:30")]
    assert times.offsets.tolist() == [-5 * 3600, 2 * 3600, 0]
    assert times.walls.tolist() == [utc("2024-01-02"), utc("2024-07-01 09:30"), utc("2024-01-02 14:30")]
    assert read_time("2024-01-02T00:00:00+05:30") == (Kind.AWARE, utc("2024-01-01 18:30"), 19_800)

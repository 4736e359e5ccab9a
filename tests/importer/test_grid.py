"""Bar times: naive times in a zone with daylight saving, the session grid, and dated bars' periods."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.importer.instrument import InstrumentFlags
from app.market.instruments import AssetClass
from app.market.resolutions import Resolution
from app.store.base import BarStore
from tests.importer.helpers import Write, refused, run_import, stored

HEADER = "time,open,high,low,close,volume\n"
CRYPTO = InstrumentFlags(asset_class=AssetClass.CRYPTO)


def utc(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp())


def rows(*times: str) -> str:
    return HEADER + "".join(f"{time},10,11,9,10.5,1\n" for time in times)


def test_a_local_time_the_clocks_skip_is_refused_with_its_line(store: BarStore, write: Write) -> None:
    path = write(rows("2024-03-10 01:00", "2024-03-10 01:30", "2024-03-10 02:30", "2024-03-10 03:00"))
    message = refused(store, path, flags=CRYPTO, input_zone="America/New_York")
    assert "bars.csv line 4: 2024-03-10 02:30 does not exist in America/New_York (daylight saving)" in message
    assert message.startswith("Nothing was imported: 1 problem")


def test_an_ambiguous_local_time_is_refused_unless_told_which(store: BarStore, write: Write) -> None:
    path = write(rows("2024-11-03 00:30", "2024-11-03 01:00", "2024-11-03 01:30", "2024-11-03 02:00"))
    message = refused(store, path, flags=CRYPTO, input_zone="America/New_York")
    assert "bars.csv line 3: 2024-11-03 01:00 happens twice in America/New_York" in message
    assert (
        "bars.csv line 4: 2024-11-03 01:30 happens twice in America/New_York (daylight saving): --ambiguous" in message
    )
    run_import(store, path, flags=CRYPTO, input_zone="America/New_York", ambiguous="later")
    assert stored(store, Resolution.M30).times.tolist() == [
        utc("2024-11-03 04:30"),
        utc("2024-11-03 06:00"),
        utc("2024-11-03 06:30"),
        utc("2024-11-03 07:00"),
    ]


def test_daily_bars_across_the_daylight_saving_weeks_stay_one_per_trading_day(store: BarStore, write: Write) -> None:
    days = ["2024-03-08", "2024-03-11", "2024-03-12", "2024-11-01", "2024-11-04", "2024-11-05"]
    # Midnight in New York, as an export in local time writes a day: the date is the trading day.
    path = write(rows(*(f"{day} 00:00:00" for day in days)))
    run_import(store, path, input_zone="America/New_York")
    assert stored(store, Resolution.DAY).times.tolist() == [utc(day) for day in days]


def test_stock_hours_follow_the_session_grid(store: BarStore, write: Write) -> None:
    # 60-minute bars of a stock start at 09:30, 10:30, … New York time, in winter and in summer.
    path = write(rows("2024-01-02 14:30", "2024-01-02 15:30", "2024-07-01 13:30", "2024-07-01 14:30"))
    run_import(store, path)
    assert stored(store, Resolution.H1).times.tolist() == [
        utc("2024-01-02 14:30"),
        utc("2024-01-02 15:30"),
        utc("2024-07-01 13:30"),
        utc("2024-07-01 14:30"),
    ]


def test_a_bar_off_the_grid_is_refused_with_its_line(store: BarStore, write: Write) -> None:
    times = ("2024-01-02 14:30", "2024-01-02 15:30", "2024-01-02 16:30", "2024-01-02 17:00", "2024-01-02 18:30")
    message = refused(store, write(rows(*times)))
    assert (
        "bars.csv line 5: 2024-01-02 17:00 UTC does not start a 60-minute bar: the grid is anchored at the session"
        " open (0930-1600 America/New_York)"
    ) in message


def test_four_hour_bars_start_at_the_open_and_four_hours_later(store: BarStore, write: Write) -> None:
    path = write(rows("2024-01-02 14:30", "2024-01-02 18:30", "2024-01-03 14:30", "2024-01-03 18:30"))
    run_import(store, path)
    assert len(stored(store, Resolution.H4)) == 4


def test_bars_outside_the_session_are_kept(store: BarStore, write: Write) -> None:
    # Pre-market and after-hours minutes of a stock lie on the minute grid like any other.
    path = write(rows("2024-01-02 12:00", "2024-01-02 12:01", "2024-01-02 23:59", "2024-01-03 00:00"))
    run_import(store, path)
    assert len(stored(store, Resolution.M1)) == 4


def test_forex_four_hour_bars_start_at_five_in_new_york(store: BarStore, write: Write) -> None:
    path = write(rows("2024-01-02 22:00", "2024-01-03 02:00", "2024-01-03 06:00", "2024-01-03 10:00"))
    run_import(store, path, symbol="EURUSD", flags=InstrumentFlags(asset_class=AssetClass.FOREX))
    assert stored(store, Resolution.H4, "EURUSD").times.tolist()[0] == utc("2024-01-02 22:00")


@pytest.mark.parametrize(
    "days",
    [
        # Yahoo: the Monday of each week, holiday or not.
        ["2024-01-01", "2024-01-08", "2024-01-15", "2024-01-22"],
        # pandas' weekly resampling: the Sunday that ends each week.
        ["2024-01-07", "2024-01-14", "2024-01-21", "2024-01-28"],
    ],
)
def test_weekly_bars_are_stamped_on_their_first_trading_day(store: BarStore, write: Write, days: list[str]) -> None:
    run_import(store, write(rows(*days)))
    # New Year's Day and Martin Luther King Jr. Day close the NYSE: those weeks begin on Tuesday.
    assert stored(store, Resolution.WEEK).times.tolist() == [
        utc("2024-01-02"),
        utc("2024-01-08"),
        utc("2024-01-16"),
        utc("2024-01-22"),
    ]


@pytest.mark.parametrize(
    "days",
    [
        ["2024-01-01", "2024-02-01", "2024-03-01", "2024-04-01"],
        ["2024-01-31", "2024-02-29", "2024-03-31", "2024-04-30"],
    ],
)
def test_monthly_bars_are_stamped_on_their_first_trading_day(store: BarStore, write: Write, days: list[str]) -> None:
    run_import(store, write(rows(*days)))
    assert stored(store, Resolution.MONTH).times.tolist() == [
        utc("2024-01-02"),
        utc("2024-02-01"),
        utc("2024-03-01"),
        utc("2024-04-01"),
    ]


def test_two_rows_of_one_week_are_one_bar_twice(store: BarStore, write: Write) -> None:
    days = ("2024-01-01", "2024-01-08", "2024-01-15", "2024-01-19", "2024-01-22", "2024-01-29")
    path = write(HEADER + "".join(f"{day},10,11,9,{10.25 if day.endswith('19') else 10.5},1\n" for day in days))
    assert "bars.csv line 5: 2024-01-16 is also on bars.csv line 4, with other values" in refused(store, path)


def test_files_of_several_resolutions_import_together(store: BarStore, write: Write) -> None:
    minutes = write(rows("2024-01-02 14:30", "2024-01-02 14:31", "2024-01-02 14:32"), "minutes.csv")
    days = write(rows("2024-01-02", "2024-01-03"), "days.csv")
    more_minutes = write(rows("2024-01-02 14:33", "2024-01-02 14:34"), "more.csv")
    imported = run_import(store, minutes, days, more_minutes)
    said = imported.summary()
    assert said[0].startswith("Imported 7 rows of ACME in ")
    assert said[1] == "  ACME (1) 2024-01-02 14:30 → 2024-01-02 14:34 UTC: 5 new, 0 unchanged, 0 replaced"
    assert said[2] == "  ACME (1D) 2024-01-02 → 2024-01-03: 2 new, 0 unchanged, 0 replaced"
    (instrument,) = store.instruments()
    assert instrument.resolutions == (Resolution.M1, Resolution.DAY)
    assert instrument.spans[Resolution.M1] == (utc("2024-01-02 14:30"), utc("2024-01-02 14:34"))


def test_daily_rows_at_local_midnight_with_their_offset_are_dates(store: BarStore, write: Write) -> None:
    # yfinance writes daily rows as the exchange's midnight with its offset, which daylight saving changes.
    days = ["2024-03-08 00:00:00-05:00", "2024-03-11 00:00:00-04:00", "2024-03-12 00:00:00-04:00"]
    run_import(store, write(rows(*days)))
    assert stored(store, Resolution.DAY).times.tolist() == [utc("2024-03-08"), utc("2024-03-11"), utc("2024-03-12")]


def test_an_aware_time_that_is_not_midnight_is_not_a_date(store: BarStore, write: Write) -> None:
    days = ("2024-03-11 00:00:00-04:00", "2024-03-12 00:00:00-04:00", "2024-03-13 00:00:00-04:00")
    path = write(rows(*days, "2024-03-14 09:30:00-04:00", "2024-03-15 00:00:00-04:00"))
    assert "bars.csv line 5: 2024-03-14 09:30-04:00 is not a date: the rows are daily bars" in refused(store, path)

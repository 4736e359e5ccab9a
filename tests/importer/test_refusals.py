"""Bad input is refused whole, every problem named by file and line, and the store is left as it was."""

from __future__ import annotations

import pytest

from app.importer.instrument import InstrumentError, InstrumentFlags
from app.market.instruments import AssetClass
from app.market.resolutions import Resolution
from app.store.base import BarStore
from tests.importer.helpers import Write, as_lists, refused, run_import, stored

HEADER = "time,open,high,low,close,volume\n"
CENTS = InstrumentFlags(pricescale=100)
GOOD = "2024-01-02,10,11,9,10.25,100\n2024-01-03,10.25,12,10,11,200\n"


@pytest.mark.parametrize(
    ("line", "said"),
    [
        ("2024-01-04,null,null,null,null,null", "bars.csv line 4: not a number: open 'null', high 'null', low 'null',"),
        ("2024-01-04,11,12,10,11.5", "bars.csv line 4: 5 fields where 6 are needed"),
        (
            "yesterday,11,12,10,11.5,5",
            "bars.csv line 4: time 'yesterday' is not a date, a date and time, or a unix time",
        ),
        ("2024-01-04,11,12,10,abc,5", "bars.csv line 4: not a number: close 'abc'"),
        (
            "2024-01-04,11,10,12,11,5",
            "bars.csv line 4: high is below low (open 11, high 10, low 12, close 11, volume 5)",
        ),
        ("2024-01-04,11,12,10,12.5,5", "bars.csv line 4: high is below the open or close"),
        ("2024-01-04,11,12,10,9.5,5", "bars.csv line 4: low is above the open or close"),
        ("2024-01-04,11,12,10,11,-5", "bars.csv line 4: volume is negative"),
        ("2024-01-03,11,12,10,11,5", "bars.csv line 4: 2024-01-03 is also on bars.csv line 3, with other values"),
        ("2024-01-04 15:00,11,12,10,11,5", "bars.csv line 4: 2024-01-04 15:00 is not a date: the rows are daily bars"),
        (f"2024-01-04,11,12,10,{'1' * 45},5", "bars.csv line 4: a field longer than 39 characters"),
    ],
)
def test_a_bad_line_is_named(store: BarStore, write: Write, line: str, said: str) -> None:
    message = refused(store, write(HEADER + GOOD + line + "\n"))
    assert message.startswith("Nothing was imported: 1 problem in the input.\n")
    assert said in message
    assert store.instruments() == []


def test_unsorted_rows_are_sorted_and_identical_repeats_collapse(store: BarStore, write: Write) -> None:
    path = write(
        HEADER + "2024-01-03,10.25,12,10,11,200\n2024-01-02,10,11,9,10.25,100\n2024-01-03,10.25,12,10,11,200\n"
    )
    imported = run_import(store, path)
    assert imported.series[0].repeats == 1
    assert "1 repeated row dropped" in imported.summary()[0]
    assert [bar[0] for bar in as_lists(stored(store, Resolution.DAY))] == [1_704_153_600, 1_704_240_000]


def test_unsorted_rows_that_conflict_name_both_lines(store: BarStore, write: Write) -> None:
    path = write(HEADER + "2024-01-03,10.25,12,10,11,200\n2024-01-02,10,11,9,10.25,100\n2024-01-03,10.5,12,10,11,201\n")
    assert "bars.csv line 4: 2024-01-03 is also on bars.csv line 2, with other values" in refused(store, path)


def test_many_problems_show_the_first_ten_and_the_count(store: BarStore, write: Write) -> None:
    rows = "".join(f"2024-01-{day:02d},10,9,11,10,1\n" for day in range(1, 26))
    message = refused(store, write(HEADER + rows))
    lines = message.splitlines()
    assert lines[0] == "Nothing was imported: 25 problems in the input."
    assert lines[1:11] == [
        f"  bars.csv line {n}: high is below low (open 10, high 9, low 11, close 10, volume 1)" for n in range(2, 12)
    ]
    assert lines[11] == "  … and 15 more."


def test_every_file_is_checked_before_anything_is_written(store: BarStore, write: Write) -> None:
    good = write(HEADER + GOOD, "good.csv")
    bad = write(HEADER + "2024-01-04,1,2,0.5,x,1\n", "bad.csv")
    assert "bad.csv line 2: not a number: close 'x'" in refused(store, good, bad)
    assert store.instruments() == []


def test_a_refused_import_leaves_the_store_as_it_was(store: BarStore, write: Write) -> None:
    run_import(store, write(HEADER + GOOD, "first.csv"))
    before, instruments = as_lists(stored(store, Resolution.DAY)), store.instruments()
    later = write(HEADER + "2024-01-04,11,12,10,11,5\n2024-01-05,11,12,10,11,-1\n", "later.csv")
    assert "later.csv line 3: volume is negative" in refused(store, later)
    assert as_lists(stored(store, Resolution.DAY)) == before
    assert store.instruments() == instruments


def test_a_conflict_with_stored_bars_is_refused_and_changes_nothing(store: BarStore, write: Write) -> None:
    run_import(store, write(HEADER + GOOD, "first.csv"))
    before = as_lists(stored(store, Resolution.DAY))
    changed = write(HEADER + "2024-01-03,10.25,12,10,11.25,200\n2024-01-04,11,12,10,11,5\n", "changed.csv")
    message = refused(store, changed)
    assert "changed.csv line 2: 2024-01-03 is stored with other values (--replace overwrites them)" in message
    assert as_lists(stored(store, Resolution.DAY)) == before


def test_replace_overwrites_stored_bars(store: BarStore, write: Write) -> None:
    run_import(store, write(HEADER + GOOD, "first.csv"))
    changed = write(HEADER + "2024-01-03,10.25,12,10,11.25,200\n2024-01-04,11,12,10,11,5\n", "changed.csv")
    imported = run_import(store, changed, replace=True)
    assert imported.summary()[0].endswith(": 1 new, 0 unchanged, 1 replaced")
    assert as_lists(stored(store, Resolution.DAY))[1:] == [
        (1_704_240_000, 1025, 1200, 1000, 1125, 200.0),
        (1_704_326_400, 1100, 1200, 1000, 1100, 5.0),
    ]


def test_reimporting_the_same_rows_changes_nothing(store: BarStore, write: Write) -> None:
    path = write(HEADER + GOOD)
    run_import(store, path)
    revision = store.revision()
    imported = run_import(store, path)
    assert imported.summary()[0].endswith(": 0 new, 2 unchanged, 0 replaced")
    assert store.revision() == revision


def test_several_resolutions_are_checked_against_the_store_before_any_is_written(store: BarStore, write: Write) -> None:
    minutes = write(HEADER + "2024-01-02 14:30,10,11,9,10.5,1\n2024-01-02 14:31,10.5,11,10,11,2\n", "minutes.csv")
    days = write(HEADER + GOOD, "days.csv")
    run_import(store, minutes, days)
    new_minute = write(HEADER + "2024-01-02 14:32,10,11,9,10.5,1\n2024-01-02 14:33,10.5,11,10,11,2\n", "more.csv")
    changed_day = write(HEADER + "2024-01-03,10.25,12,10,11,999\n2024-01-04,11,12,10,11,5\n", "changed.csv")
    assert "changed.csv line 2: 2024-01-03 is stored with other values" in refused(store, new_minute, changed_day)
    assert len(stored(store, Resolution.M1)) == 2
    assert len(stored(store, Resolution.DAY)) == 2


def test_prices_off_a_given_pricescale_are_refused(store: BarStore, write: Write) -> None:
    path = write(HEADER + "2024-01-02,10,11,9,10.25,100\n2024-01-03,10.5,12,10,11.05,200\n")
    message = refused(store, path, flags=InstrumentFlags(pricescale=10))
    assert "bars.csv line 3: close 11.05 is not a multiple of the tick 1/10 (pricescale 10)" in message


def test_prices_finer_than_a_stored_pricescale_are_refused(store: BarStore, write: Write) -> None:
    run_import(store, write(HEADER + GOOD, "first.csv"))
    finer = write(HEADER + "2024-01-04,11,12,10,11.125,5\n2024-01-05,11,12,10,11,5\n", "finer.csv")
    assert "finer.csv line 2: close 11.125 is not a multiple of the tick 1/100" in refused(store, finer)


@pytest.mark.parametrize(
    ("flags", "said"),
    [
        (InstrumentFlags(timezone="Europe/Berlin"), "--timezone Europe/Berlin: ACME is stored with America/New_York"),
        (InstrumentFlags(session="0800-1600"), "--session 0800-1600: ACME is stored with 0930-1600"),
        (InstrumentFlags(asset_class=AssetClass.CRYPTO), "--type crypto: ACME is stored with stock"),
        (InstrumentFlags(pricescale=1000), "--pricescale 1000: ACME is stored with 100"),
    ],
)
def test_flags_that_would_move_stored_bars_are_refused(
    store: BarStore, write: Write, flags: InstrumentFlags, said: str
) -> None:
    path = write(HEADER + GOOD)
    run_import(store, path)
    with pytest.raises(InstrumentError, match=said):
        run_import(store, path, flags=flags)


def test_description_and_exchange_follow_the_flags(store: BarStore, write: Write) -> None:
    path = write(HEADER + GOOD)
    run_import(store, path)
    run_import(store, path, flags=InstrumentFlags(description="Acme Corp.", exchange="NYSE"))
    (instrument,) = store.instruments()
    assert (instrument.spec.description, instrument.spec.exchange, instrument.spec.pricescale) == (
        "Acme Corp.",
        "NYSE",
        100,
    )


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("", "bars.csv: is empty: no header and no bars"),
        (HEADER, "bars.csv: has a header but no bars"),
        (HEADER + "\n\n", "bars.csv: has a header but no bars"),
        (HEADER + "2024-01-02 14:30,1,1,1,1,1\n", "bars.csv: 1 bar time: too few to tell the resolution"),
        (
            HEADER + "2024-01-02 14:30,1,1,1,1,1\n2024-01-02 14:32,1,1,1,1,1\n2024-01-02 14:34,1,1,1,1,1\n",
            "bars.csv: bars are mostly 2 minutes apart: not a resolution",
        ),
        ("a\x00b\n", "bars.csv: has NUL bytes"),
        (b"time,open,high,low,close,volume\r2024-01-02,1,1,1,1,1\r", "has lines ending in CR alone"),
    ],
)
def test_files_without_usable_bars(store: BarStore, write: Write, text: str | bytes, said: str) -> None:
    assert said in refused(store, write(text))


def test_a_missing_file_is_named(store: BarStore, write: Write) -> None:
    assert "missing.csv: cannot be read (No such file or directory)" in refused(
        store, write(HEADER + GOOD).parent / "missing.csv"
    )


@pytest.mark.parametrize(
    ("volume", "said"),
    [
        ("1e18", "volume 1e18 is too large: at most 9,007,199,254,740,992"),
        ("1e300", "volume 1e300 is too large: at most 9,007,199,254,740,992"),
        ("1e17", "volume 100000000000000000 is too large: at most 9,007,199,254,740,992"),
        # One past 2**53: a double would hold it as 9007199254740992.
        ("9007199254740993", "volume 9007199254740993 is too large: at most 9,007,199,254,740,992"),
        ("9007199254740992.5", "volume 9007199254740992.5 is too large: at most 9,007,199,254,740,992"),
        ("12345678901234567890", "volume 12345678901234567890 is too large: at most 9,007,199,254,740,992"),
        ("-1e300", "volume is negative (open 11, high 12, low 10, close 11, volume -1e300)"),
    ],
)
def test_a_volume_too_large_is_said_to_be(store: BarStore, write: Write, volume: str, said: str) -> None:
    message = refused(store, write(HEADER + GOOD + f"2024-01-04,11,12,10,11,{volume}\n"))
    if "too large" in said:
        said += " (2**53: a double holds every whole volume up to it)"
    assert message.splitlines() == ["Nothing was imported: 1 problem in the input.", f"  bars.csv line 4: {said}"]


def test_the_largest_volume_is_stored_exactly(store: BarStore, write: Write) -> None:
    run_import(store, write(HEADER + GOOD + "2024-01-04,11,12,10,11,9007199254740992\n"))
    assert int(stored(store, Resolution.DAY).volumes[-1]) == 2**53


@pytest.mark.parametrize(
    ("close", "flags", "said"),
    [
        ("1e300", InstrumentFlags(), "too large: at most 9,007,199,254,740,992 at pricescale 1"),
        ("1000000000000000", CENTS, "too large: at most 90,071,992,547,409.92 at pricescale 100"),
        ("-1e300", CENTS, "too small: at least -90,071,992,547,409.92 at pricescale 100"),
        # Quarters: 2**53 ticks are 2**51 exactly; thirds: the largest price that is a decimal is a whole one.
        ("1e300", InstrumentFlags(pricescale=4), "too large: at most 2,251,799,813,685,248 at pricescale 4"),
        ("1e300", InstrumentFlags(pricescale=3), "too large: at most 3,002,399,751,580,330 at pricescale 3"),
        ("1e300", InstrumentFlags(pricescale=12), "too large: at most 750,599,937,895,082.5 at pricescale 12"),
    ],
)
def test_a_price_too_large_for_ticks_is_said_to_be(
    store: BarStore, write: Write, close: str, flags: InstrumentFlags, said: str
) -> None:
    rows = "2024-01-02,10,11,9,10,100\n2024-01-03,10,12,10,11,200\n"
    message = refused(store, write(HEADER + rows + f"2024-01-04,11,12,10,{close},5\n"), flags=flags)
    assert message.splitlines() == [
        "Nothing was imported: 1 problem in the input.",
        f"  bars.csv line 4: close {close} is {said} (2**53 ticks)",
    ]


def test_a_number_of_too_many_digits_is_said_to_be(store: BarStore, write: Write) -> None:
    message = refused(store, write(HEADER + GOOD + "2024-01-04,11,12,10,11,0.1234567890123456789\n"))
    assert "bars.csv line 4: more than 18 digits: volume '0.1234567890123456789'" in message


def test_a_refused_row_does_not_hide_the_resolution(store: BarStore, write: Write) -> None:
    path = write(HEADER + "2024-01-02,10,11,9,10,1\n2024-01-03,null,null,null,null,null\n2024-01-04,10,11,9,10,1\n")
    assert refused(store, path).splitlines() == [
        "Nothing was imported: 1 problem in the input.",
        "  bars.csv line 3: not a number: open 'null', high 'null', low 'null', close 'null', volume 'null'",
    ]


def test_unreadable_times_leave_the_resolution_unsaid(store: BarStore, write: Write) -> None:
    rows = "2024-01-02 14:30,1,1,1,1,1\n2024-01-02 14:3x,1,1,1,1,1\n2024-01-02 14:32,1,1,1,1,1\n"
    assert refused(store, write(HEADER + rows)).splitlines() == [
        "Nothing was imported: 1 problem in the input.",
        "  bars.csv line 3: time '2024-01-02 14:3x' is not a date, a date and time, or a unix time",
    ]

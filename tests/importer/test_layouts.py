"""The common real layouts, imported into both stores and read back exactly."""

from __future__ import annotations

from datetime import UTC, datetime

from app.importer.instrument import InstrumentFlags
from app.market.instruments import AssetClass
from app.market.resolutions import Resolution
from app.store.base import BarStore
from tests.importer.helpers import Write, as_lists, run_import, stored

CRYPTO = InstrumentFlags(asset_class=AssetClass.CRYPTO)
FOREX = InstrumentFlags(asset_class=AssetClass.FOREX)


def utc(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp())


def test_a_generic_header_file(store: BarStore, write: Write) -> None:
    path = write(
        "time,open,high,low,close,volume\n"
        "2024-01-02 14:30:00,100.5,101.25,100.25,101,1500\n"
        "2024-01-02 14:31:00,101,101.5,100.75,101.25,800.5\n"
        "2024-01-02 14:32:00,101.25,101.75,101,101.5,0\n"
    )
    imported = run_import(store, path)
    assert imported.rows == 3
    assert as_lists(stored(store, Resolution.M1)) == [
        (utc("2024-01-02 14:30"), 10050, 10125, 10025, 10100, 1500.0),
        (utc("2024-01-02 14:31"), 10100, 10150, 10075, 10125, 800.5),
        (utc("2024-01-02 14:32"), 10125, 10175, 10100, 10150, 0.0),
    ]
    (instrument,) = store.instruments()
    spec = instrument.spec
    assert (spec.symbol, spec.asset_class, spec.exchange, spec.timezone, spec.session) == (
        "ACME",
        AssetClass.STOCK,
        "NASDAQ",
        "America/New_York",
        "0930-1600",
    )
    assert (spec.pricescale, spec.volume_precision, spec.description) == (100, 1, "ACME")
    assert instrument.resolutions == (Resolution.M1,)


def test_daily_files_as_finance_sites_export_them(store: BarStore, write: Write) -> None:
    path = write(
        "Date,Open,High,Low,Close,Adj Close,Volume\n"
        "2024-01-02,187.15,188.44,183.89,185.64,184.94,82488700\n"
        "2024-01-03,184.22,185.88,183.43,184.25,183.55,58414500\n"
        "2024-01-04,182.15,183.09,180.88,181.91,181.22,71983600\n"
    )
    run_import(store, path, symbol="AAPL")
    assert as_lists(stored(store, Resolution.DAY, "AAPL")) == [
        (utc("2024-01-02"), 18715, 18844, 18389, 18564, 82488700.0),
        (utc("2024-01-03"), 18422, 18588, 18343, 18425, 58414500.0),
        (utc("2024-01-04"), 18215, 18309, 18088, 18191, 71983600.0),
    ]


def test_binance_klines_in_milliseconds_and_microseconds(store: BarStore, write: Write) -> None:
    row = "{},42283.58000000,42300.00000000,42280.10000000,42290.00000000,12.34500000,{},521804.12,100,6.1,258000.1,0\n"
    milliseconds = write(row.format(1704205800000, 1704205859999) + row.format(1704205860000, 1704205919999), "ms.csv")
    # Spot files since 2025 count microseconds: their bars are 2025's, not 57,000 years on.
    microseconds = write(
        row.format(1735689600000000, 1735689659999999) + row.format(1735689660000000, 1735689719999999), "us.csv"
    )
    run_import(store, milliseconds, microseconds, symbol="BTCUSDT", flags=CRYPTO)
    bars = as_lists(stored(store, Resolution.M1, "BTCUSDT"))
    assert [bar[0] for bar in bars] == [
        utc("2024-01-02 14:30"),
        utc("2024-01-02 14:31"),
        utc("2025-01-01 00:00"),
        utc("2025-01-01 00:01"),
    ]
    assert bars[0][1:] == (4228358, 4230000, 4228010, 4229000, 12.345)
    (instrument,) = store.instruments()
    assert (instrument.spec.pricescale, instrument.spec.timezone, instrument.spec.session) == (100, "Etc/UTC", "24x7")


def test_metatrader_exports(store: BarStore, write: Write) -> None:
    path = write(
        "2024.01.02,09:00,1.10250,1.10300,1.10201,1.10280,120\n"
        "2024.01.02,10:00,1.10280,1.10310,1.10200,1.10300,95\n"
        "2024.01.02,11:00,1.10300,1.10350,1.10290,1.10345,110\n"
    )
    run_import(store, path, symbol="EURUSD", flags=FOREX)
    assert as_lists(stored(store, Resolution.H1, "EURUSD")) == [
        (utc("2024-01-02 09:00"), 110250, 110300, 110201, 110280, 120.0),
        (utc("2024-01-02 10:00"), 110280, 110310, 110200, 110300, 95.0),
        (utc("2024-01-02 11:00"), 110300, 110350, 110290, 110345, 110.0),
    ]
    (instrument,) = store.instruments()
    assert (instrument.spec.pricescale, instrument.spec.currency, instrument.spec.exchange) == (100_000, "USD", "FX")


def test_semicolons_and_a_decimal_comma(store: BarStore, write: Write) -> None:
    path = write(
        "Date;Open;High;Low;Close;Volume\n"
        "2024-01-02;1.234,50;1.240,00;1.230,25;1.238,75;1.000\n"
        "2024-01-03;1.238,75;1.245,5;1.236;1.244;2.500,5\n"
    )
    run_import(store, path, decimal_comma=True)
    assert as_lists(stored(store, Resolution.DAY)) == [
        (utc("2024-01-02"), 123450, 124000, 123025, 123875, 1000.0),
        (utc("2024-01-03"), 123875, 124550, 123600, 124400, 2500.5),
    ]


def test_semicolons_with_a_decimal_point(store: BarStore, write: Write) -> None:
    path = write("time;open;high;low;close;volume\n2024-01-02;1.5;2;1;1.75;10\n2024-01-03;1.75;2;1.5;2;20\n")
    run_import(store, path)
    assert as_lists(stored(store, Resolution.DAY))[1] == (utc("2024-01-03"), 175, 200, 150, 200, 20.0)


def test_an_unnamed_first_column_is_the_time(store: BarStore, write: Write) -> None:
    path = write(
        ",Open,High,Low,Close,Volume\n2017-04-19 09:00:00,1.0716,1.0722,1.07083,1.07219,1413\n"
        "2017-04-19 10:00:00,1.07214,1.07296,1.07214,1.0726,1241\n"
    )
    run_import(store, path, flags=FOREX)
    assert as_lists(stored(store, Resolution.H1))[0] == (
        utc("2017-04-19 09:00"),
        107160,
        107220,
        107083,
        107219,
        1413.0,
    )


def test_tabs_a_byte_order_mark_crlf_and_blank_lines(store: BarStore, write: Write) -> None:
    path = write(
        "\ufeff\r\nDate\tOpen\tHigh\tLow\tClose\tVolume\r\n\r\n2024-01-02\t10\t11\t9\t10.5\t5\r\n2024-01-03\t10.5\t12\t10\t11\t6\r\n"
    )
    run_import(store, path)
    # One decimal at most: pricescale 10.
    assert as_lists(stored(store, Resolution.DAY)) == [
        (utc("2024-01-02"), 100, 110, 90, 105, 5.0),
        (utc("2024-01-03"), 105, 120, 100, 110, 6.0),
    ]


def test_times_with_offsets_and_iso_separators(store: BarStore, write: Write) -> None:
    path = write(
        "timestamp,open,high,low,close,volume\n"
        "2024-01-02T09:30:00-05:00,1,1,1,1,1\n"
        "2024-01-02T14:31:00Z,1,1,1,1,1\n"
        "2024-01-02T15:32:00+01:00,1,1,1,1,1\n"
    )
    run_import(store, path)
    assert stored(store, Resolution.M1).times.tolist() == [utc(f"2024-01-02 14:{m}") for m in (30, 31, 32)]

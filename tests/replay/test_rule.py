"""The replay's rule, a stored bar is known once its period has ended, on the grids of different sessions; when the
store as seen by a replay changes; and the replay clock itself."""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from app.market.clock import ReplayClock, server_clock
from app.market.resolutions import DAY, Resolution
from app.market.sessions import trading_hours
from app.market.trading_hours import CRYPTO_HOURS, FOREX_HOURS, STOCK_HOURS
from app.store.base import BarStore
from app.store.open import open_store
from app.store.replay import Replay, period_end, visible_before
from tests.replay.conftest import COINB_MINUTES, DATA_START, MINUTE, REPLAY_START, MovedClock


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> int:
    return int(datetime(year, month, day, hour, minute, second, tzinfo=UTC).timestamp())


def test_the_replay_clock_runs_speed_times_faster_from_when_it_begins() -> None:
    reading = [100.0]
    clock = ReplayClock(1_000.0, 10.0, monotonic=lambda: reading[0])
    reading[0] = 103.0
    assert (clock(), clock.origin) == (1_000.0, None), "held at its start until it begins"
    clock.begin()
    reading[0] = 109.0
    assert clock() == 1_060.0
    clock.begin()
    assert clock() == 1_060.0, "it begins once"
    assert clock.real_seconds(60) == 6.0
    # Another process's clock made from the same origin reads the same time.
    assert ReplayClock(1_000.0, 10.0, origin=103.0, monotonic=lambda: reading[0])() == 1_060.0
    with pytest.raises(ValueError, match="positive"):
        ReplayClock(0.0, 0.0)


def test_a_replay_clock_begun_in_a_forked_process_runs_in_all() -> None:
    # With several workers the parent makes the clock, the first worker begins it, the others read it.
    clock = ReplayClock(1_000.0, 600.0)
    worker = multiprocessing.get_context("fork").Process(target=clock.begin)
    worker.start()
    worker.join(timeout=30)
    assert worker.exitcode == 0
    assert clock.origin is not None
    assert 1_000.0 < clock() < 1_000.0 + 600 * 30


def test_without_a_replay_start_the_server_runs_on_the_wall_clock() -> None:
    wall = server_clock(None)
    replayed = server_clock(float(REPLAY_START), 2.0)
    assert isinstance(replayed, ReplayClock)
    assert (replayed.start, replayed.speed) == (REPLAY_START, 2.0)
    assert not isinstance(wall, ReplayClock)
    assert abs(wall() - datetime.now(UTC).timestamp()) < 5


def test_a_minute_is_known_once_it_has_ended() -> None:
    t = utc(2026, 11, 2, 10, 7, 30)
    assert visible_before(CRYPTO_HOURS, Resolution.M1, t) == utc(2026, 11, 2, 10, 7)
    assert period_end(CRYPTO_HOURS, Resolution.M1, utc(2026, 11, 2, 10, 6)) == utc(2026, 11, 2, 10, 7)


def test_an_hour_on_a_session_grid_ends_on_that_grid() -> None:
    # A stock's hours are anchored at 09:30 New York (14:30 UTC in November): the day's first period is 00:00-00:30.
    midnight = utc(2026, 11, 3, 5)
    assert period_end(STOCK_HOURS, Resolution.H1, midnight) == midnight + 1800
    assert visible_before(STOCK_HOURS, Resolution.H1, midnight + 1799) == midnight
    assert visible_before(STOCK_HOURS, Resolution.H1, midnight + 1800) == midnight + 1800
    assert period_end(STOCK_HOURS, Resolution.H1, utc(2026, 11, 3, 14, 30)) == utc(2026, 11, 3, 15, 30)


def test_a_day_is_known_once_its_trading_day_has_ended() -> None:
    monday = utc(2026, 11, 2)
    # A New York stock's Monday ends at midnight New York time, 05:00 UTC on Tuesday.
    assert period_end(STOCK_HOURS, Resolution.DAY, monday) == utc(2026, 11, 3, 5)
    assert visible_before(STOCK_HOURS, Resolution.DAY, utc(2026, 11, 3, 4, 59)) == monday
    assert visible_before(STOCK_HOURS, Resolution.DAY, utc(2026, 11, 3, 5)) == monday + DAY
    # A forex day ends at 17:00 New York time.
    assert period_end(FOREX_HOURS, Resolution.DAY, monday) == utc(2026, 11, 2, 22)
    assert visible_before(FOREX_HOURS, Resolution.DAY, utc(2026, 11, 2, 22)) == monday + DAY


def test_a_week_is_known_once_it_has_ended() -> None:
    # A week stamped on its first day with data (Tuesday) ends with its Sunday.
    tuesday = utc(2026, 11, 3)
    assert period_end(CRYPTO_HOURS, Resolution.WEEK, tuesday) == utc(2026, 11, 9)
    assert visible_before(CRYPTO_HOURS, Resolution.WEEK, utc(2026, 11, 8, 23, 59)) == utc(2026, 11, 2)
    assert period_end(CRYPTO_HOURS, Resolution.MONTH, tuesday) == utc(2026, 12, 1)
    hours = trading_hours("0930-1600", "America/New_York")
    assert visible_before(hours, Resolution.MONTH, utc(2026, 12, 1, 4, 59)) == utc(2026, 11, 1)


@pytest.fixture
def store(replay_url: str) -> Iterator[BarStore]:
    opened = open_store(replay_url)
    yield opened
    opened.close()


def test_the_view_changes_when_a_stored_bar_has_ended(store: BarStore) -> None:
    clock = MovedClock(REPLAY_START)
    replay = Replay(clock, 600.0, ("coina", "COINB"))
    connect = replay.connecting(lambda: store)
    view = connect()
    assert view is not None
    assert [item.spec.symbol for item in view.instruments()] == ["COINA", "COINB"]
    first = view.revision()
    # Real seconds to 10:08, when the minute 10:07 ends (and a millisecond, to wake after it).
    assert replay.wait(1.0) == pytest.approx(30 / 600 + 0.001)
    clock.now += 29
    assert view.revision() == first, "nothing ended"
    clock.now += 1
    # Until the view's revision is asked again, reads see the bars of the one asked last, as with a store.
    assert view.read_bars("COINA", Resolution.M1, 0, 1 << 40).times.tolist()[-1] == DATA_START + 6 * MINUTE
    assert view.revision() == first + 1
    assert view.read_bars("COINA", Resolution.M1, 0, 1 << 40).times.tolist()[-1] == DATA_START + 7 * MINUTE
    assert view.read_last("COINB", Resolution.M1, 1 << 40, 1).times.tolist() == [DATA_START + 7 * MINUTE]
    assert not view.read_bars("AAPL", Resolution.DAY, 0, 1 << 40), "AAPL does not replay"


def test_nothing_changes_before_the_data_nor_after_it(store: BarStore) -> None:
    clock = MovedClock(DATA_START - 3600)
    replay = Replay(clock, 1.0, ("COINB",))
    view = replay.connecting(lambda: store)()
    assert view is not None
    before = view.revision()
    spans = view.instruments()[0].spans[Resolution.M1]
    assert spans == (DATA_START, DATA_START - 3600 - 1), "no bar shown yet: it ends before the view's time"
    # The first change is when the first minute ends.
    assert replay.wait(10_000.0) == pytest.approx(3600 + MINUTE + 0.001)
    clock.now = DATA_START + 59
    assert view.revision() == before
    assert not replay.ended("COINB")
    clock.now = DATA_START + COINB_MINUTES * MINUTE
    after = view.revision()
    assert after > before
    assert replay.ended("COINB")
    assert replay.wait(5.0) == 5.0, "nothing left to wait for"
    clock.now += 3600
    assert view.revision() == after
    assert view.instruments()[0].spans[Resolution.M1] == (DATA_START, DATA_START + (COINB_MINUTES - 1) * MINUTE)

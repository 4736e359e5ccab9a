"""What a replay shows at a chosen replay time T (a clock the test moves): history ends at T, the bar of the period
holding T is made of the stored minutes that have ended by then, and every interface reports T."""

from __future__ import annotations

from typing import Any

from app.market.resolutions import Resolution
from app.paths import DATAFEED_PREFIX, UDF_PREFIX
from app.store.open import open_store
from tests.conftest import Connect, Frame, fetch_bars
from tests.replay.conftest import (
    COINB_MINUTES,
    DATA_START,
    MINUTE,
    PRICESCALE,
    REPLAY_START,
    STORED_MINUTES,
    MovedClock,
    same_bars,
    stored_bars,
    stored_feed,
)
from tests.store_fixtures import sample_rows

LATER = DATA_START + 10 * 86_400


async def test_bars_end_at_the_replay_clock(replay_client: Connect) -> None:
    clock = MovedClock(REPLAY_START)
    client = await replay_client(clock)
    # 10:07:30: the minutes 10:00 to 10:06 have ended, 10:07 has not.
    minutes = await fetch_bars(client, "COINA", "1", DATA_START - 3600, LATER)
    assert same_bars(minutes, stored_bars("COINA", DATA_START, DATA_START + 7 * MINUTE))
    # The 5-minute bar of 10:05 is forming: the minutes 10:05 and 10:06.
    fives = await fetch_bars(client, "COINA", "5", DATA_START - 3600, LATER)
    assert same_bars(fives, stored_bars("COINA", DATA_START, DATA_START + 7 * MINUTE, period=300))
    hours = await fetch_bars(client, "COINA", "60", DATA_START - 3600, LATER)
    assert same_bars(hours, stored_bars("COINA", DATA_START, DATA_START + 7 * MINUTE, period=3600))
    assert all(bar["time"] < REPLAY_START * 1000 for bar in minutes + fives + hours)

    clock.now = DATA_START + 12 * MINUTE
    await stored_feed(client).refresh()
    fives = await fetch_bars(client, "COINA", "5", DATA_START - 3600, LATER)
    # The 10:05 bar has closed with its five minutes, the 10:10 bar holds 10:10 and 10:11.
    assert same_bars(fives, stored_bars("COINA", DATA_START, DATA_START + 12 * MINUTE, period=300))


async def test_the_udf_datafeed_ends_at_the_replay_clock_too(replay_client: Connect) -> None:
    client = await replay_client(MovedClock(REPLAY_START))
    response = await client.get(f"{UDF_PREFIX}/time")
    assert await response.text() == str(REPLAY_START)
    params = {"symbol": "COINA", "resolution": "1", "from": str(DATA_START - 3600), "to": str(LATER)}
    response = await client.get(f"{UDF_PREFIX}/history", params=params)
    body = await response.json()
    expected = stored_bars("COINA", DATA_START, DATA_START + 7 * MINUTE)
    assert body["s"] == "ok"
    assert body["t"] == [bar["time"] // 1000 for bar in expected]
    assert body["c"] == [bar["close"] for bar in expected]


async def test_before_its_first_bar_an_instrument_has_no_data(replay_client: Connect) -> None:
    clock = MovedClock(DATA_START - 30)
    client = await replay_client(clock)
    response = await client.get(
        f"{DATAFEED_PREFIX}/bars",
        params={"symbol": "COINA", "resolution": "1", "from_time": str(DATA_START - 3600), "to_time": str(LATER)},
    )
    assert await response.json() == {"bars": [], "no_data": True}
    # Its first minute appears once it has ended.
    clock.now = DATA_START + MINUTE
    await stored_feed(client).refresh()
    first = await fetch_bars(client, "COINA", "1", DATA_START - 3600, LATER)
    assert same_bars(first, stored_bars("COINA", DATA_START, DATA_START + MINUTE))


async def test_past_the_end_of_its_data_an_instrument_shows_all_of_it(replay_client: Connect) -> None:
    client = await replay_client(MovedClock(DATA_START + 3 * 3600))
    bars = await fetch_bars(client, "COINB", "1", DATA_START - 3600, LATER)
    assert same_bars(bars, stored_bars("COINB", DATA_START, DATA_START + COINB_MINUTES * MINUTE))
    feed = stored_feed(client)
    assert not feed.is_trading("COINB"), "nothing more will come: a closed market"
    assert feed.is_trading("COINA")


async def test_quotes_are_those_of_the_replay_time(replay_client: Connect) -> None:
    client = await replay_client(MovedClock(REPLAY_START))
    response = await client.post(f"{DATAFEED_PREFIX}/quotes", json={"symbols": ["COINA"]})
    [quote] = await response.json()
    rows = STORED_MINUTES["COINA"]
    # The last minute shown is 10:06, the seventh.
    assert quote["v"]["lp"] == int(rows.closes[6]) / PRICESCALE
    assert quote["v"]["open_price"] == int(rows.opens[0]) / PRICESCALE
    assert quote["v"]["high_price"] == int(rows.highs[:7].max()) / PRICESCALE


async def test_a_stored_symbol_left_out_of_the_replay_gives_way_to_the_simulation(replay_client: Connect) -> None:
    client = await replay_client(MovedClock(REPLAY_START))
    resolved: dict[str, Any] = await (await client.get(f"{DATAFEED_PREFIX}/resolve/AAPL")).json()
    assert resolved["description"].endswith("(simulated)"), "REPLAY_SYMBOLS leaves the stored AAPL out"
    # Simulated instruments follow the replay clock: their forming minute is the one holding T.
    bars: list[Frame] = await fetch_bars(client, "BTCUSD", "1", REPLAY_START - 600, LATER)
    assert bars[-1]["time"] == (REPLAY_START // MINUTE * MINUTE) * 1000
    assert [bar["time"] for bar in bars] == sorted({bar["time"] for bar in bars})


async def test_an_import_during_the_replay_is_served(replay_client: Connect, replay_url: str) -> None:
    client = await replay_client(MovedClock(REPLAY_START))
    before = await fetch_bars(client, "COINA", "1", DATA_START - 3600, LATER)
    assert len(before) == 7
    # A minute before the stored ones, and a new value of the one at 10:03.
    store = open_store(replay_url)
    try:
        store.write_bars("COINA", Resolution.M1, sample_rows(DATA_START - MINUTE, 1, seed=9))
        store.write_bars("COINA", Resolution.M1, sample_rows(DATA_START + 3 * MINUTE, 1, seed=9), replace=True)
    finally:
        store.close()
    feed = stored_feed(client)
    await feed.refresh()
    after = await fetch_bars(client, "COINA", "1", DATA_START - 3600, LATER)
    assert [bar["time"] // 1000 - DATA_START for bar in after] == [-60, 0, 60, 120, 180, 240, 300, 360]
    assert after[4] != before[3]
    assert after[4]["close"] == int(sample_rows(DATA_START + 3 * MINUTE, 1, seed=9).closes[0]) / PRICESCALE

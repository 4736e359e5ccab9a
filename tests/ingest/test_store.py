"""Closed bars go to the store (SQLite and PostgreSQL): 1-minute bars, and bars of every resolution an instrument had
stored before; /bars serves from the store exactly the last updates; a restart (a new app on the same store) keeps
them, the forming minute of the stopped server included, and goes on from there; an instrument with imported daily
history gets its days from the trades."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from app.market.resolutions import Resolution
from app.market.trades import CLOSE_GRACE
from app.store.base import BarRows
from app.store.open import open_store
from tests.conftest import Client
from tests.ingest.conftest import (
    MINUTE,
    START,
    MakeClient,
    ManualClock,
    accepted,
    bars,
    ingest_of,
    made_store,
    post,
    stored_view,
    trade,
)
from tests.store_feed.test_unavailable import Forwarder

NOW_MS = START * 1000
RESOLUTIONS = ("1", "5", "15", "30", "60", "240", "1D", "1W", "1M")


def stored_minutes(url: str) -> list[dict[str, Any]]:
    """COIN's 1-minute bars as the store holds them, in the units /bars serves."""
    store = open_store(url)
    try:
        rows = store.read_bars("COIN", Resolution.M1, 0, 1 << 40)
    finally:
        store.close()
    return [
        {"time": t * 1000, "open": o / 100, "high": h / 100, "low": lo / 100, "close": c / 100, "volume": v}
        for t, o, h, lo, c, v in zip(
            rows.times.tolist(),
            rows.opens.tolist(),
            rows.highs.tolist(),
            rows.lows.tolist(),
            rows.closes.tolist(),
            rows.volumes.tolist(),
            strict=True,
        )
    ]


async def everything(client: Client, resolutions: tuple[str, ...] = RESOLUTIONS) -> dict[str, list[dict[str, Any]]]:
    """COIN's bars at `resolutions`: intraday ones from a day before START, D/W/M from 60 days before, to a day
    after."""
    found = {}
    for resolution in resolutions:
        start = START - (86_400 if resolution.isdigit() else 60 * 86_400)
        found[resolution] = await bars(client, resolution, start, START + 86_400)
    return found


async def trade_three_minutes(client: Client, clock: ManualClock) -> None:
    """Trades in the minutes of START, START + 1 and + 3 min (fractional sizes), the clock at the last."""
    for offset, price in ((0, 100.0), (60, 101.5), (180, 99.25)):
        clock.now = START + offset
        at = (START + offset) * 1000
        await accepted(client, [trade(price, 0.1, at), trade(price + 0.5, 0.2, at + 1), trade(price, 0.3, at + 2)])


async def test_closed_bars_are_written_and_served_from_the_store_as_they_went_out(
    make_client: MakeClient, each_ingest_url: str, clock: ManualClock
) -> None:
    client = await make_client(each_ingest_url)
    await trade_three_minutes(client, clock)
    # The first minutes are written and the view shows them: the forming minute goes on taking trades.
    clock.now = START + 200
    await stored_view(client)
    await accepted(client, [trade(99.5, 0.1, (START + 200) * 1000)])
    served = await everything(client)
    assert [bar["time"] // 1000 - MINUTE for bar in served["1"]] == [0, 60, 180]
    assert served["1"][-1]["close"] == 99.5
    # Every minute closes; nothing else happens.
    clock.now = START + 3600 * 24 * 40
    closed = await everything(client)
    assert closed == served
    await stored_view(client)
    assert stored_minutes(each_ingest_url) == served["1"]
    assert await everything(client) == served


async def test_a_restart_keeps_the_closed_bars_and_the_forming_minute_which_goes_on(
    make_client: MakeClient, each_ingest_url: str, clock: ManualClock
) -> None:
    client = await make_client(each_ingest_url)
    await trade_three_minutes(client, clock)
    before = await everything(client)
    # The server stops while the minute of START + 3 min forms: that minute is written as it stands.
    await client.close()
    assert stored_minutes(each_ingest_url) == before["1"]
    again = await make_client(each_ingest_url)
    assert await everything(again) == before
    # A new server on the same store within that minute continues it: a publisher that replays the trades it could
    # not post meanwhile loses none. Its open stays; high, low, close and volume take the new trades.
    minute = (START + 180) // 60 * 60
    last = (START + 180) * 1000
    response = await post(again, [trade(98.0, 1, minute * 1000 - 1)])
    assert response.status == 422
    assert "older than the forming 1-minute bar" in (await response.json())["errors"]["trades.0.time"][0]
    await accepted(again, [trade(98.0, 1, last + 3), trade(103.0, 0.5, last + 4)])
    merged = {"time": minute * 1000, "open": 99.25, "high": 103.0, "low": 98.0, "close": 103.0, "volume": 2.1}
    served = await everything(again)
    assert served["1"] == [*before["1"][:-1], merged]
    assert served["5"][-1] | {"volume": 0} == {**merged, "time": MINUTE * 1000, "open": 100.0, "volume": 0}
    assert served["5"][-1]["volume"] == pytest.approx(0.6 + 0.6 + 2.1)
    # Stopped again in the same minute: the stored bar is replaced with the merged one, and a third server goes on.
    await again.close()
    assert stored_minutes(each_ingest_url) == served["1"]
    third = await make_client(each_ingest_url)
    # Coarser bars as history sums them (a forming bar's running sum may differ in the last bit).
    assert await everything(third) == {r: [pytest.approx(bar) for bar in found] for r, found in served.items()}
    await accepted(third, [trade(100.0, 1, last + 5)])
    final = merged | {"close": 100.0, "volume": 3.1}
    # The minute closes by the clock: the store holds its final bar, which /bars serves.
    clock.now = minute + 60 + CLOSE_GRACE
    await stored_view(third)
    assert stored_minutes(each_ingest_url) == [*before["1"][:-1], final]
    after = await everything(third)
    assert after["1"] == [*before["1"][:-1], final]
    assert (after["5"][-1]["close"], after["5"][-1]["volume"]) == (100.0, pytest.approx(0.6 + 0.6 + 3.1))
    # The next minute takes trades as ever.
    clock.now = START + 240
    await accepted(third, [trade(97.0, 1, (START + 240) * 1000)])
    later = await everything(third)
    assert later["1"][:-1] == after["1"]
    today = later["1D"][-1]
    assert (today["low"], today["close"], today["volume"]) == (97.0, 97.0, pytest.approx(0.6 + 0.6 + 3.1 + 1))


async def test_an_instrument_with_daily_history_gets_its_days_written_from_the_trades(
    make_client: MakeClient, ingest_url: str, clock: ManualClock
) -> None:
    day = START // 86_400 * 86_400
    store = open_store(ingest_url)
    try:
        days = np.array([day - 2 * 86_400, day - 86_400], dtype=np.int64)
        ticks = np.array([9_000, 9_500], dtype=np.int64)
        rows = BarRows(days, ticks, ticks + 100, ticks - 100, ticks, np.array([5.0, 6.0]))
        store.write_bars("COIN", Resolution.DAY, rows)
    finally:
        store.close()
    client = await make_client(ingest_url)
    await trade_three_minutes(client, clock)
    # The quote's previous close is the stored day before.
    (quote,) = await (await client.post("/api/v1/datafeed/quotes", json={"symbols": ["COIN"]})).json()
    assert (quote["v"]["lp"], quote["v"]["prev_close_price"]) == (99.25, 95.0)
    # Served at its stored resolution and coarser ones until its first minute is written; then at every one.
    coarse = ("1D", "1W", "1M")
    served = await everything(client, coarse)
    assert [bar["close"] for bar in served["1D"]] == [90.0, 95.0, 99.25]
    clock.now = START + 240
    await stored_view(client)
    assert [bar["close"] for bar in (await everything(client, ("1",)))["1"]] == [100.0, 101.5, 99.25]
    assert await everything(client, coarse) == served
    clock.now = day + 86_400 + CLOSE_GRACE
    await stored_view(client)
    store = open_store(ingest_url)
    try:
        written = store.read_bars("COIN", Resolution.DAY, day, day + 1)
    finally:
        store.close()
    assert written.closes.tolist() == [9_925]
    assert await everything(client, coarse) == served


async def test_while_the_store_does_not_answer_trading_goes_on_and_closed_bars_wait(
    make_client: MakeClient, postgres_url: str, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    """An outage between the server and PostgreSQL: an instrument's first trades need the store (503, nothing
    applied); one already trading goes on; its closed bars wait, served meanwhile, and are written once it answers."""
    forwarder = Forwarder(5432)
    await forwarder.start()
    url = made_store(postgres_url).replace("127.0.0.1:5432", f"127.0.0.1:{forwarder.port}")
    client = await make_client(url)
    await accepted(client, [trade(100.0, 1, NOW_MS)])
    await forwarder.cut()
    response = await post(client, [trade(100.0, 1, NOW_MS, symbol="ACME")])
    assert response.status == 503
    assert "store does not answer" in (await response.json())["detail"]
    await accepted(client, [trade(101.0, 1, NOW_MS + 1)])
    clock.now = START + 60
    await accepted(client, [trade(102.0, 1, (START + 60) * 1000)])
    ingest = ingest_of(client)
    await ingest.settled()
    assert ingest.bars_written == 0
    assert "Ingested bars wait to be written" in caplog.text
    assert [bar["close"] for bar in await bars(client, "1", MINUTE, MINUTE + 120)] == [101.0, 102.0]
    await forwarder.start()
    # On leaving, what waits is written at once.
    await client.close()
    assert [bar["close"] for bar in stored_minutes(postgres_url)] == [101.0, 102.0]
    await forwarder.cut()

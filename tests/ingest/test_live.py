"""What trades build, as clients see it: forming bars of every resolution at once in /bars, open and close by time
with equal times in arrival order, the WebSocket update within one broadcaster tick, a bar that closes when its
period ends without another trade (its final state sent, then served by /bars with exactly those values), no bar for
a period without trades, quotes of the latest trades, and the ingest metrics."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import ClientWebSocketResponse

from app.market.trades import CLOSE_GRACE
from tests.conftest import Client, receive, reply, send
from tests.ingest.conftest import MINUTE, START, ManualClock, accepted, bars, ingest_of, post, trade

NOW_MS = START * 1000
DAY_MS = START // 86_400 * 86_400 * 1000


async def subscribe(client: Client, *resolutions: str) -> ClientWebSocketResponse:
    """A WebSocket subscribed to COIN at `resolutions` (COIN has no bar yet: no update follows the replies)."""
    ws = await client.ws_connect("/api/v1/ws")
    for resolution in resolutions:
        await send(ws, "bars.subscribe", symbol="COIN", resolution=resolution)
        assert (await reply(ws, "bars.subscribe.response"))["payload"]["status"] == "ok"
    return ws


async def update(ws: ClientWebSocketResponse, topic: str, until: dict[str, Any] | None = None) -> dict[str, Any]:
    """The next update of `topic` (skipping other topics'), or with `until` the first whose bar equals it."""
    while True:
        frame = await receive(ws)
        assert frame["type"] == "bars.update", frame
        if frame["topic"] == topic and (until is None or frame["payload"] == until):
            payload: dict[str, Any] = frame["payload"]
            return payload


async def test_a_batch_forms_bars_at_every_resolution(client: Client) -> None:
    await accepted(client, [trade(100.5, 2, NOW_MS), trade(101.25, 0.5, NOW_MS + 10), trade(99.75, 1, NOW_MS + 20)])
    expected = {"open": 100.5, "high": 101.25, "low": 99.75, "close": 99.75, "volume": 3.5}
    stamps = {"1": MINUTE, "5": START // 300 * 300, "60": START // 3600 * 3600, "1D": DAY_MS // 1000}
    for resolution, stamp in stamps.items():
        assert await bars(client, resolution, stamp - 86_400, stamp + 86_400) == [{"time": stamp * 1000} | expected]


async def test_trades_of_equal_time_open_and_close_in_arrival_order(client: Client) -> None:
    await accepted(client, [trade(10.0, 1, NOW_MS + 5), trade(11.0, 1, NOW_MS + 5), trade(12.0, 1, NOW_MS + 5)])
    # A later request: an earlier trade opens the bar, one of equal time to the latest closes it.
    await accepted(client, [trade(9.5, 1, NOW_MS + 1), trade(10.5, 1, NOW_MS + 5)])
    (bar,) = await bars(client, "1", MINUTE, MINUTE + 60)
    assert (bar["open"], bar["high"], bar["low"], bar["close"], bar["volume"]) == (9.5, 12.0, 9.5, 10.5, 5)


async def test_a_subscriber_gets_the_update_with_the_next_tick(client: Client) -> None:
    ws = await subscribe(client, "1", "1D")
    await accepted(client, [trade(100.5, 2, NOW_MS), trade(101.0, 1, NOW_MS + 1)])
    bar = {"open": 100.5, "high": 101.0, "low": 100.5, "close": 101.0, "volume": 3}
    # The first frames after the request are the ticks that follow it: COIN had no bar before.
    first, second = await receive(ws), await receive(ws)
    assert {first["topic"], second["topic"]} == {"bars:COIN:1", "bars:COIN:1D"}
    by_topic = {frame["topic"]: frame["payload"] for frame in (first, second)}
    assert by_topic == {"bars:COIN:1": {"time": MINUTE * 1000} | bar, "bars:COIN:1D": {"time": DAY_MS} | bar}
    await ws.close()


async def test_a_bar_closes_when_its_period_ends_and_history_serves_its_last_update(
    client: Client, clock: ManualClock
) -> None:
    ws = await subscribe(client, "1", "5")
    # Fractional sizes over several minutes: the five-minute bar's volume is a sum of floats.
    for minute in range(3):
        at = NOW_MS + minute * 60_000
        clock.now = at / 1000
        await accepted(client, [trade(100.0 + minute, 0.1, at), trade(100.5 + minute, 0.2, at + 1)])
    last_minute = MINUTE + 120
    clock.now = last_minute + 59
    await accepted(client, [trade(99.0, 0.2, (last_minute + 59) * 1000)])
    # A trade stamped just before the minute's end may arrive just after it (a publisher's batch on its way)...
    clock.now = last_minute + 61
    await accepted(client, [trade(99.0, 0.1, last_minute * 1000 + 59_999)])
    # ...until CLOSE_GRACE seconds after the end, when the minute closes with no further trade: its final state goes
    # out with the next tick, and /bars serves exactly that.
    clock.now = last_minute + 60 + CLOSE_GRACE
    final = (await bars(client, "1", last_minute, last_minute + 60))[0]
    values = {"open": 102.0, "high": 102.5, "low": 99.0, "close": 99.0, "volume": 0.6}
    assert final == {"time": last_minute * 1000} | values
    await update(ws, "bars:COIN:1", until=final)
    response = await post(client, [trade(98.0, 1, last_minute * 1000 + 59_999)])
    assert response.status == 422
    # The five-minute period ends too, with no further trade: its last update is what /bars serves from now on.
    period = START // 300 * 300
    clock.now = period + 300 + CLOSE_GRACE
    (five,) = await bars(client, "5", period, period + 300)
    assert five == await update(ws, "bars:COIN:5", until=five)
    assert (five["open"], five["high"], five["low"], five["close"]) == (100.0, 102.5, 99.0, 99.0)
    assert five["volume"] == pytest.approx(1.2)
    minutes = await bars(client, "1", period, period + 300)
    assert [bar["time"] // 1000 - period for bar in minutes] == [0, 60, 120]
    # Written to the store with no further trade, and served from there once the view shows it.
    await ingest_of(client).settled()
    await ws.close()


async def test_a_period_without_trades_has_no_bar(client: Client, clock: ManualClock) -> None:
    await accepted(client, [trade(100.0, 1, NOW_MS)])
    clock.now = START + 300
    await accepted(client, [trade(101.0, 1, NOW_MS + 300_000)])
    found = await bars(client, "1", MINUTE - 600, MINUTE + 600)
    assert [bar["time"] // 1000 - MINUTE for bar in found] == [0, 300]
    ws = await subscribe(client, "1")
    # The subscriber's first update is the latest bar, then the forming one each tick: never the empty minutes.
    assert (await update(ws, "bars:COIN:1"))["time"] == (MINUTE + 300) * 1000
    await ws.close()


async def test_quotes_come_from_the_latest_trades(client: Client, clock: ManualClock) -> None:
    await accepted(client, [trade(100.0, 1, NOW_MS), trade(104.0, 2, NOW_MS + 1), trade(103.0, 1, NOW_MS + 2)])
    response = await client.post("/api/v1/datafeed/quotes", json={"symbols": ["COIN"]})
    (quote,) = await response.json()
    values = quote["v"]
    day = (values["open_price"], values["high_price"], values["low_price"])
    assert (values["lp"], *day) == (103.0, 100.0, 104.0, 100.0)
    assert values["volume"] == 4
    assert "prev_close_price" not in values
    # The next day: yesterday's close is the previous close.
    clock.now = START + 86_400
    await accepted(client, [trade(105.0, 1, NOW_MS + 86_400_000)])
    (quote,) = await (await client.post("/api/v1/datafeed/quotes", json={"symbols": ["COIN"]})).json()
    assert (quote["v"]["lp"], quote["v"]["prev_close_price"], quote["v"]["ch"]) == (105.0, 103.0, 2.0)


async def test_metrics_count_trades_accepted_and_refused(client: Client) -> None:
    await accepted(client, [trade(100.0, 1, NOW_MS), trade(100.0, 1, NOW_MS)])
    assert (await post(client, [trade(100.0, 1, NOW_MS), trade(100.001, 1, NOW_MS)])).status == 422
    text = await (await client.get("/metrics")).text()
    assert 'tradingpro_ingest_trades_total{outcome="accepted"} 2.0' in text
    assert 'tradingpro_ingest_trades_total{outcome="refused"} 2.0' in text
    assert "tradingpro_ingest_bars_written_total 0.0" in text

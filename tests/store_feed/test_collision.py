"""A stored symbol equal to a simulated one (AAPL): the stored instrument replaces the simulated one everywhere,
and nothing says "simulated" of it any more."""

from __future__ import annotations

import asyncio
import dataclasses

from app.market.resolutions import Resolution
from app.paths import DATAFEED_PREFIX, UDF_PREFIX, WS_PATH
from app.store.base import BarStore
from tests.conftest import Client, fetch_bars, receive, send
from tests.store_feed.conftest import stored_feed
from tests.store_feed.data import ACME, acme_days, as_bars, bar_rows

AAPL = dataclasses.replace(ACME, symbol="AAPL", description="Apple Inc.", exchange="NYSE")


async def test_a_stored_symbol_replaces_the_simulated_one(served: Client, writer: BarStore) -> None:
    simulated = await (await served.get(f"{DATAFEED_PREFIX}/resolve/AAPL")).json()
    assert simulated["description"] == "Apple Inc. (simulated)"
    writer.put_instrument(AAPL)
    writer.write_bars("AAPL", Resolution.DAY, bar_rows(acme_days()))
    async with asyncio.timeout(5):
        await stored_feed(served).refreshed(writer.revision())

    info = await (await served.get(f"{UDF_PREFIX}/symbols", params={"symbol": "aapl"})).json()
    assert (info["description"], info["exchange"]) == ("Apple Inc.", "NYSE")
    assert info["supported_resolutions"] == ["1D", "1W", "1M"]
    # The simulated AAPL's exchange no longer names anything.
    assert (await served.get(f"{DATAFEED_PREFIX}/resolve/NASDAQ:AAPL")).status == 404
    found = await (await served.get(f"{DATAFEED_PREFIX}/search", params={"user_input": "AAPL"})).json()
    assert [(result["symbol"], result["description"]) for result in found] == [("AAPL", "Apple Inc.")]
    assert await fetch_bars(served, "AAPL", "1D", 0, 1_767_225_600) == as_bars(acme_days(), 100)
    quote = (await (await served.post(f"{DATAFEED_PREFIX}/quotes", json={"symbols": ["AAPL"]})).json())[0]
    assert quote["v"]["lp"] == acme_days()[-1][4] / 100
    assert "(simulated)" not in quote["v"]["description"]
    async with served.ws_connect(WS_PATH) as ws:
        await send(ws, "bars.subscribe", symbol="AAPL", resolution="1D")
        assert (await receive(ws))["payload"]["status"] == "ok"
        assert (await receive(ws))["payload"]["time"] // 1000 == acme_days()[-1][0]
    # Every other simulated instrument stays.
    assert (await served.get(f"{DATAFEED_PREFIX}/resolve/MSFT")).status == 200

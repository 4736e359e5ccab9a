"""A WebSocket subscription at a resolution finer than an imported instrument's data is refused with the words
`/bars` uses: which resolutions it has (not as a topic the server does not broadcast)."""

from __future__ import annotations

from app.paths import DATAFEED_PREFIX, WS_PATH
from tests.conftest import Client, reply, send


async def test_a_finer_resolution_than_the_data_is_refused_naming_what_there_is(served: Client) -> None:
    message = "DAYS has no 60 bars; it has 1D, 1W, 1M."
    query = {"symbol": "DAYS", "resolution": "60", "from_time": "1700000000", "to_time": "1710000000"}
    response = await served.get(f"{DATAFEED_PREFIX}/bars", params=query)
    assert (response.status, (await response.json())["errors"]) == (422, {"resolution": [message]})
    async with served.ws_connect(WS_PATH) as ws:
        await send(ws, "bars.subscribe", symbol="days", resolution="60")
        answer = (await reply(ws, "bars.subscribe.response"))["payload"]
        assert answer == {"status": "error", "symbol": "DAYS", "message": message, "topic": "bars:DAYS:60"}
        # A resolution it has is subscribed as ever.
        await send(ws, "bars.subscribe", symbol="DAYS", resolution="1W")
        assert (await reply(ws, "bars.subscribe.response"))["payload"]["status"] == "ok"

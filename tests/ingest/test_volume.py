"""The most volume a bar takes: 2**53 volume units, at every resolution, the stored bars of its period counted. A
trade that would bring a forming bar past it is refused (422 naming it, nothing of the request applied), so every
bar's volume is served exact and never wraps around."""

from __future__ import annotations

from typing import Any

import numpy as np

from app.market.resolutions import Resolution
from app.store.base import BarRows
from app.store.open import open_store
from tests.conftest import Client
from tests.ingest.conftest import MINUTE, START, MakeClient, ManualClock, accepted, bars, post, trade

LIMIT = 2**53
NOW_MS = START * 1000


async def refused(client: Client, trades: list[dict[str, Any]]) -> dict[str, Any]:
    response = await post(client, trades)
    assert response.status == 422, await response.text()
    answer: dict[str, Any] = await response.json()
    return answer


async def acme_volumes(client: Client) -> dict[str, list[int]]:
    """ACME's bar volumes at 1 and 5 minutes and a day around START, and its quote's."""
    found = {r: [bar["volume"] for bar in await bars(client, r, MINUTE - 3600, MINUTE + 3600, "ACME")] for r in "15"}
    response = await client.post("/api/v1/datafeed/quotes", json={"symbols": ["ACME"]})
    (quote,) = await response.json()
    found["quote"] = [quote["v"]["volume"]] if "volume" in quote["v"] else []
    return found


async def test_a_batch_past_the_most_a_bar_holds_is_refused_and_the_most_is_served_exact(
    client: Client, clock: ManualClock
) -> None:
    # Each trade fits; the minute's running volume passes 2**53 units from the second on.
    answer = await refused(client, [trade(2.0, 9_000_000_000_000_000, NOW_MS, "ACME")] * 10_000)
    assert answer["detail"].startswith("9999 of 10000 trades refused, so none was applied. trades.1.size: ")
    assert "trades.0.size" not in answer["errors"]
    assert answer["errors"]["trades.1.size"] == [
        "9000000000000000.0 would bring the volume of ACME's bar at resolution 1 (2026-11-18T15:00:00.000Z) to "
        "18,000,000,000,000,000: a bar holds at most 9,007,199,254,740,992 (2**53 volume units of 1)"
    ]
    assert await acme_volumes(client) == {"1": [], "5": [], "quote": []}
    # Up to 2**53 units exactly is taken, and served as it is.
    await accepted(client, [trade(2.0, LIMIT // 2, NOW_MS, "ACME"), trade(2.0, LIMIT // 2, NOW_MS + 1, "ACME")])
    assert await acme_volumes(client) == {"1": [LIMIT], "5": [LIMIT], "quote": [LIMIT]}
    # One unit more is refused in this minute, and in the next, whose 5-minute bar holds this one's volume.
    answer = await refused(client, [trade(2.0, 1, NOW_MS + 2, "ACME")])
    assert "ACME's bar at resolution 1 " in answer["errors"]["trades.0.size"][0]
    clock.now = MINUTE + 60
    answer = await refused(client, [trade(2.0, 1, (MINUTE + 60) * 1000, "ACME")])
    assert (
        "ACME's bar at resolution 5 (2026-11-18T15:00:00.000Z) to 9,007,199,254,740,993:"
        in (answer["errors"]["trades.0.size"][0])
    )
    assert await acme_volumes(client) == {"1": [LIMIT], "5": [LIMIT], "quote": [LIMIT]}


async def test_the_stored_bars_of_a_forming_period_count(
    make_client: MakeClient, ingest_url: str, clock: ManualClock
) -> None:
    store = open_store(ingest_url)
    try:
        one = np.array([200], dtype=np.int64)
        rows = BarRows(np.array([MINUTE], dtype=np.int64), one, one, one, one, np.array([float(LIMIT - 10)]))
        store.write_bars("ACME", Resolution.M1, rows)
    finally:
        store.close()
    clock.now = START + 120
    client = await make_client(ingest_url)
    at = (START + 120) * 1000
    answer = await refused(client, [trade(2.0, 10, at, "ACME"), trade(2.0, 1, at + 1, "ACME")])
    assert list(answer["errors"]) == ["trades.1.size"]
    assert (
        "ACME's bar at resolution 5 (2026-11-18T15:00:00.000Z) to 9,007,199,254,740,993:"
        in (answer["errors"]["trades.1.size"][0])
    )
    await accepted(client, [trade(2.0, 10, at, "ACME")])
    volumes = await acme_volumes(client)
    assert (volumes["1"], volumes["5"]) == ([LIMIT - 10, 10], [LIMIT])

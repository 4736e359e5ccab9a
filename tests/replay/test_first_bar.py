"""A replay that starts before an instrument's first bar: a WebSocket subscriber that is there before that bar has
ended gets it once its period ends, and the forming coarser bar from then on (at 600x the QA engineer's subscriber
got nothing until the second minute, and nothing of the 5-minute topic before its second bar)."""

from __future__ import annotations

import pytest
from aiohttp import ClientWebSocketResponse

from app.paths import WS_PATH
from tests.conftest import Connect, Frame, receive, reply, send
from tests.replay.conftest import DATA_START, MINUTE, MovedClock, same_bars, stored_bars, stored_feed

TOPICS = (("COINB", "1"), ("COINB", "5"), ("COINA", "1"))


async def until_sent(ws: ClientWebSocketResponse, expected: dict[str, list[Frame]]) -> dict[str, list[Frame]]:
    """The updates `ws` receives, by topic, until the latest update of each bar of `expected` equals it (each
    receive waits RECEIVE_TIMEOUT at most)."""
    received: dict[str, list[Frame]] = {}

    def sent(topic: str, bars: list[Frame]) -> bool:
        latest = {update["time"]: update for update in received.get(topic, [])}
        return all(bar["time"] in latest for bar in bars) and same_bars([latest[bar["time"]] for bar in bars], bars)

    while not all(sent(topic, bars) for topic, bars in expected.items()):
        body = await receive(ws)
        assert body["type"] == "bars.update", body
        received.setdefault(body["topic"], []).append(body["payload"])
    return received


# Where the replays start: within the first minute of data (nothing of COINA or COINB is shown yet), an hour before.
@pytest.mark.parametrize("start", [DATA_START + 20, DATA_START - 3600], ids=["in-the-first-minute", "an-hour-before"])
async def test_a_subscriber_before_the_first_bar_gets_it_when_its_period_ends(
    replay_client: Connect, start: int
) -> None:
    clock = MovedClock(start)
    client = await replay_client(clock, replay_start=float(start))
    feed = stored_feed(client)
    async with client.ws_connect(WS_PATH) as ws:
        for symbol, resolution in TOPICS:
            await send(ws, "bars.subscribe", symbol=symbol, resolution=resolution)
            assert (await reply(ws, "bars.subscribe.response"))["payload"]["status"] == "ok"
        # A connection's messages are handled in turn: once the pong is back, each subscription has read its bars.
        await send(ws, "ping")
        await reply(ws, "pong")

        # 10:01: the first minute has ended; the 5-minute bar of 10:00 is forming, made of it.
        clock.now = DATA_START + MINUTE + 1
        await feed.refresh()
        first = await until_sent(
            ws,
            {
                "bars:COINB:1": stored_bars("COINB", DATA_START, DATA_START + MINUTE),
                "bars:COINB:5": stored_bars("COINB", DATA_START, DATA_START + MINUTE, period=300),
                "bars:COINA:1": stored_bars("COINA", DATA_START, DATA_START + MINUTE),
            },
        )
        assert {topic: [bar["time"] for bar in bars] for topic, bars in first.items()} == {
            topic: [DATA_START * 1000] * len(bars) for topic, bars in first.items()
        }, "nothing but the first bars"

        # 10:02:30: the forming 5-minute bar holds 10:00 and 10:01; the minute topics close 10:01.
        clock.now = DATA_START + 2 * MINUTE + 30
        await feed.refresh()
        await until_sent(
            ws,
            {
                "bars:COINB:1": stored_bars("COINB", DATA_START, DATA_START + 2 * MINUTE),
                "bars:COINB:5": stored_bars("COINB", DATA_START, DATA_START + 2 * MINUTE, period=300),
            },
        )
        # While the replay runs, the forming bar goes out every tick, unchanged.
        forming = stored_bars("COINB", DATA_START, DATA_START + 2 * MINUTE, period=300)
        again = await until_sent(ws, {"bars:COINB:5": forming})
        assert same_bars(again["bars:COINB:5"][-1:], forming)

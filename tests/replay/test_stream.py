"""A replay running on its own clock (600 times real time: a minute each 0.1 s): the WebSocket streams the stored
bars that follow, in order, on one clock for every symbol, with the same closed bars as history; an instrument
past the end of its data stops; every interface reports the replay's time."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import NamedTuple

from aiohttp import ClientWebSocketResponse

from app.keys import CLOCK
from app.market.clock import ReplayClock
from app.paths import UDF_PREFIX, WS_PATH
from tests.conftest import Client, Connect, Frame, fetch_bars, receive, reply, send
from tests.replay.conftest import COINB_MINUTES, DATA_START, MINUTE, REPLAY_START, same_bars, stored_bars

# How late (replay seconds) a bar may reach the client after its period ended: a second of real time at 600x, for
# a loaded two-core machine (a tick is 20 ms).
LATE = 600
COINB_END = DATA_START + COINB_MINUTES * MINUTE


class Received(NamedTuple):
    """An update and the server's replay time (UTC seconds) when the client had it."""

    topic: str
    bar: Frame
    at: float


async def collect(client: Client, ws: ClientWebSocketResponse, until: float) -> list[Received]:
    """Every update `ws` receives until the server's clock reads `until`."""
    clock = client.app[CLOCK]
    found = []
    while clock() < until:
        body = await receive(ws)
        assert body["type"] == "bars.update", body
        found.append(Received(body["topic"], body["payload"], clock()))
    return found


async def load_history_until(client: Client, until: float) -> int:
    """Load the history of the topics streamed, again and again, until the server's clock reads `until`; how many
    times."""
    clock, loads = client.app[CLOCK], 0
    while clock() < until:
        for symbol, resolution in (("COINA", "1"), ("COINA", "5"), ("COINB", "1")):
            await fetch_bars(client, symbol, resolution, DATA_START - 3600, int(clock()) + 3600)
        loads += 1
    return loads


def first_arrivals(updates: list[Received], topic: str) -> dict[int, float]:
    """Per bar time (UTC seconds) of `topic`, when its first update arrived (replay time)."""
    arrivals: dict[int, float] = {}
    for update in updates:
        if update.topic == topic:
            arrivals.setdefault(update.bar["time"] // 1000, update.at)
    return arrivals


async def test_the_websocket_streams_the_following_bars_on_one_clock(replay_client: Connect) -> None:
    client = await replay_client()
    clock = client.app[CLOCK]
    async with client.ws_connect(WS_PATH) as ws:
        for symbol, resolution in (("COINA", "1"), ("COINB", "1"), ("COINA", "5")):
            await send(ws, "bars.subscribe", symbol=symbol, resolution=resolution)
            assert (await reply(ws, "bars.subscribe.response"))["payload"]["status"] == "ok"
        started = clock()
        assert started < COINB_END - 10 * MINUTE, "the server took too long to start for this test"
        # Charts loading history meanwhile: reads of the store that overlap the changes of the replay's view.
        charts = asyncio.create_task(load_history_until(client, COINB_END + 3 * MINUTE))
        updates = await collect(client, ws, COINB_END + 3 * MINUTE)
        assert await charts > 10

    by_topic: defaultdict[str, list[Received]] = defaultdict(list)
    for update in updates:
        by_topic[update.topic].append(update)
    # Every topic streams (a topic whose first history read overlapped a change of the view once streamed nothing).
    assert {topic: len(received) >= 10 for topic, received in by_topic.items()} == {
        "bars:COINA:1": True,
        "bars:COINB:1": True,
        "bars:COINA:5": True,
    }
    for received in by_topic.values():
        times = [update.bar["time"] for update in received]
        assert times == sorted(times), "per topic, time never goes back"

    for symbol in ("COINA", "COINB"):
        arrivals = first_arrivals(updates, f"bars:{symbol}:1")
        minutes = sorted(arrivals)
        assert minutes == list(range(minutes[0], minutes[-1] + MINUTE, MINUTE)), "minute by minute, none missed"
        for update in by_topic[f"bars:{symbol}:1"]:
            stamp = update.bar["time"] // 1000
            # A stored minute is sent once it has ended, with its final values.
            assert update.at >= stamp + MINUTE
            assert same_bars([update.bar], stored_bars(symbol, stamp, stamp + MINUTE))
        # The bars that ended while the client listened arrived soon after they ended.
        assert all(at - (stamp + MINUTE) <= LATE for stamp, at in arrivals.items() if stamp + MINUTE >= started)

    # One clock: the same minute of both symbols arrived at about the same replay time.
    coina, coinb = first_arrivals(updates, "bars:COINA:1"), first_arrivals(updates, "bars:COINB:1")
    shared = [stamp for stamp in coinb if stamp in coina and stamp + MINUTE >= started]
    assert len(shared) >= 10
    assert all(abs(coina[stamp] - coinb[stamp]) <= LATE for stamp in shared)

    # COINB stops at the end of its data: its last minute, then nothing.
    assert max(coinb) == COINB_END - MINUTE
    assert not [update for update in by_topic["bars:COINB:1"] if update.at > COINB_END + LATE]

    # A forming 5-minute bar holds the minutes that had ended when it was sent, no more.
    for update in by_topic["bars:COINA:5"]:
        stamp = update.bar["time"] // 1000
        ended = min(int(update.at) // MINUTE * MINUTE, stamp + 5 * MINUTE)
        made = [stored_bars("COINA", stamp, end, period=300) for end in range(stamp + MINUTE, ended + 1, MINUTE)]
        assert any(same_bars([update.bar], bars) for bars in made), update

    # Each closed bar's last update is the bar history serves.
    for topic, resolution in (("bars:COINA:1", "1"), ("bars:COINA:5", "5"), ("bars:COINB:1", "1")):
        last = {update.bar["time"]: update.bar for update in by_topic[topic]}
        served = await fetch_bars(client, topic.split(":")[1], resolution, min(last) // 1000, max(last) // 1000)
        assert served, topic
        assert same_bars(served, [last[bar["time"]] for bar in served])


async def test_every_interface_reports_the_replay_time(replay_client: Connect) -> None:
    client = await replay_client()
    clock = client.app[CLOCK]
    assert isinstance(clock, ReplayClock)
    assert (clock.start, clock.speed) == (REPLAY_START, 600.0)
    before = clock()
    udf_time = int(await (await client.get(f"{UDF_PREFIX}/time")).text())
    async with client.ws_connect(WS_PATH) as ws:
        await send(ws, "ping")
        pong = await reply(ws, "pong")
    simulated = await fetch_bars(client, "BTCUSD", "1", int(before) - 600, int(before) + 86_400)
    after = clock()
    assert int(before) <= udf_time <= after
    assert before * 1000 - 1 <= pong["payload"]["time"] <= after * 1000
    # The simulation follows the same clock: its newest bar is the minute forming at the replay time.
    assert int(before) // MINUTE * MINUTE <= simulated[-1]["time"] // 1000 <= after

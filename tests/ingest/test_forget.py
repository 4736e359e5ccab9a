"""A process that stops running the bar broadcaster forgets its forming bars (`Ingest.forget`): the bars closed by
then are written, the forming ones are not (the new broadcaster's process resumes from the store), and a request
caught waiting for an instrument's book applies nothing."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from app.market.feed import FeedUnavailableError
from app.market.trades import CLOSE_GRACE, Posted
from tests.conftest import Client
from tests.ingest.conftest import MINUTE, START, ManualClock, accepted, bars, ingest_of, stored_view, trade
from tests.ingest.test_store import stored_minutes

NOW_MS = START * 1000


async def test_the_closed_minutes_are_written_and_the_forming_one_is_dropped(
    client: Client, clock: ManualClock, ingest_url: str
) -> None:
    await accepted(client, [trade(100.0, 1, NOW_MS), trade(101.0, 2, NOW_MS + 1)])
    clock.now = MINUTE + 60 + CLOSE_GRACE
    # The first minute closed by the clock a moment ago (no background step took it yet); the second one forms.
    await accepted(client, [trade(102.0, 3, (MINUTE + 61) * 1000)])
    ingest = ingest_of(client)
    ingest.forget()
    assert not ingest.trading("COIN")
    # Like any process not running the broadcaster, it serves what the store shows.
    await stored_view(client)
    first = {"time": MINUTE * 1000, "open": 100.0, "high": 101.0, "low": 100.0, "close": 101.0, "volume": 3}
    assert stored_minutes(ingest_url) == [first]
    assert await bars(client, "1", MINUTE, MINUTE + 120) == [first]
    # Trades go on in a tape made again from the store: the dropped minute's trade is not in it.
    await accepted(client, [trade(99.0, 1, (MINUTE + 62) * 1000)])
    second = {"time": (MINUTE + 60) * 1000, "open": 99.0, "high": 99.0, "low": 99.0, "close": 99.0, "volume": 1}
    assert await bars(client, "1", MINUTE, MINUTE + 120) == [first, second]
    # Leaving writes the forming minute of the new tape, never the forgotten one.
    await client.close()
    assert stored_minutes(ingest_url) == [first, second]


async def test_nothing_is_written_on_leaving_after_forgetting(client: Client, ingest_url: str) -> None:
    await accepted(client, [trade(100.0, 1, NOW_MS)])
    ingest_of(client).forget()
    await client.close()
    assert stored_minutes(ingest_url) == []


async def test_a_request_waiting_for_a_book_applies_nothing(client: Client, ingest_url: str) -> None:
    ingest = ingest_of(client)
    posted = Posted(["COIN"], np.array([100.0]), np.array([1.0]), np.array([NOW_MS], dtype=np.int64))
    applying = asyncio.create_task(ingest.apply(posted))
    # One turn of the loop: the request is waiting for COIN's book, read from the store in the writer's thread.
    await asyncio.sleep(0)
    assert not applying.done()
    ingest.forget()
    with pytest.raises(FeedUnavailableError, match="stopped running it"):
        await applying
    assert ingest.trades_accepted == 0
    assert not ingest.trading("COIN")
    assert await bars(client, "1", MINUTE, MINUTE + 60) == []
    # The next request makes the book again and is applied.
    assert await ingest.apply(posted) == 1
    assert [bar["close"] for bar in await bars(client, "1", MINUTE, MINUTE + 60)] == [100.0]

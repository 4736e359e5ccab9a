"""The generator thread's queue: requesters take turns, abandoned jobs never run."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import pytest

from app.market.fair_queue import FairQueue


def blocking() -> tuple[Callable[[], None], threading.Event, threading.Event]:
    """A job that holds the worker thread until released, and the events: it started, release it."""
    started, release = threading.Event(), threading.Event()

    def job() -> None:
        started.set()
        release.wait()

    return job, started, release


async def test_a_newcomer_waits_for_one_job_per_other_requester_not_for_a_flood() -> None:
    ran: list[str] = []
    job, started, release = blocking()
    with ThreadPoolExecutor(max_workers=1) as executor:
        queue = FairQueue(executor)
        blocker = asyncio.ensure_future(queue.run("flood", job))
        assert await asyncio.to_thread(started.wait, 10)
        flood = [asyncio.ensure_future(queue.run("flood", partial(ran.append, f"flood {i}"))) for i in range(50)]
        other = asyncio.ensure_future(queue.run("other", lambda: ran.append("other")))
        await asyncio.sleep(0)  # every job queued
        release.set()
        await asyncio.gather(blocker, other, *flood)
    assert ran[:2] == ["flood 0", "other"]
    assert ran[2:] == [f"flood {i}" for i in range(1, 50)]
    assert queue.pending() == 0


async def test_a_job_whose_caller_went_away_is_dropped_and_errors_reach_their_caller() -> None:
    ran: list[str] = []
    job, started, release = blocking()

    def fail() -> None:
        raise ValueError("no such bars")

    with ThreadPoolExecutor(max_workers=1) as executor:
        queue = FairQueue(executor)
        blocker = asyncio.ensure_future(queue.run("a", job))
        assert await asyncio.to_thread(started.wait, 10)
        abandoned = asyncio.ensure_future(queue.run("a", lambda: ran.append("abandoned")))
        failing = asyncio.ensure_future(queue.run("b", fail))
        kept = asyncio.ensure_future(queue.run("b", lambda: ran.append("kept")))
        await asyncio.sleep(0)  # every job queued
        abandoned.cancel()
        release.set()
        await blocker
        with pytest.raises(ValueError, match="no such bars"):
            await failing
        await kept
    assert ran == ["kept"]

"""Jobs for one worker thread, taken in turns between the requesters that queued them.

A plain executor serves jobs in arrival order: a client that sends three hundred cold history requests at once
makes everyone else's wait behind all of them. Here each requester (a client address) has its own line, and the
worker takes one job from each line in turn, so a newcomer waits for at most one job per other requester.
A job whose caller stopped waiting (a client that went away) is dropped without running.
"""

from __future__ import annotations

import asyncio
import weakref
from collections import OrderedDict, deque
from collections.abc import Callable, Hashable
from concurrent.futures import Executor
from typing import Any, TypeVar

T = TypeVar("T")
_Job = tuple[Callable[[], Any], "asyncio.Future[Any]"]


class _Lines:
    """One event loop's waiting jobs, a line per requester in turn order, and the task that runs them."""

    def __init__(self) -> None:
        self.lines: OrderedDict[Hashable, deque[_Job]] = OrderedDict()
        self.worker: asyncio.Task[None] | None = None

    def __len__(self) -> int:
        return sum(len(line) for line in self.lines.values())


class FairQueue:
    """Runs callables one at a time on `executor`, taking turns between requesters (round robin)."""

    def __init__(self, executor: Executor) -> None:
        self._executor = executor
        # Per event loop: tests run many loops in one process, and a future belongs to its loop.
        self._loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Lines] = weakref.WeakKeyDictionary()

    def pending(self) -> int:
        """Jobs of the running loop queued or running (0 outside a loop)."""
        try:
            lines = self._loops.get(asyncio.get_running_loop())
        except RuntimeError:
            return 0
        return 0 if lines is None else len(lines) + (lines.worker is not None and not lines.worker.done())

    async def run(self, requester: Hashable, job: Callable[[], T]) -> T:
        """The result of `job()` (or its exception), run in the executor when `requester`'s turn comes."""
        loop = asyncio.get_running_loop()
        lines = self._loops.setdefault(loop, _Lines())
        future: asyncio.Future[T] = loop.create_future()
        lines.lines.setdefault(requester, deque()).append((job, future))
        if lines.worker is None or lines.worker.done():
            lines.worker = loop.create_task(self._work(lines))
        return await future

    async def _work(self, lines: _Lines) -> None:
        loop = asyncio.get_running_loop()
        while lines.lines:
            requester, line = next(iter(lines.lines.items()))
            job, future = line.popleft()
            if line:
                lines.lines.move_to_end(requester)
            else:
                del lines.lines[requester]
            if future.done():  # its caller was cancelled
                continue
            try:
                result = await loop.run_in_executor(self._executor, job)
            except Exception as error:  # the caller's to handle, not the worker's
                if not future.done():
                    future.set_exception(error)
            else:
                if not future.done():
                    future.set_result(result)

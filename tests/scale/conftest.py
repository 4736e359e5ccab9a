"""Fixtures of the scale-out tests: a key prefix of the test's own on the shared Redis (its keys deleted at the end),
an HTTP session, and `launch`, which starts server processes and stops them at the end (resumed first if paused)."""

from __future__ import annotations

import signal
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence

import aiohttp
import pytest

from tests.live_server import LiveServer
from tests.scale.cluster import SHARED_REDIS, delete_keys, start_all

Launch = Callable[[Sequence[dict[str, str]]], Awaitable[list[LiveServer]]]


@pytest.fixture
def broker_prefix() -> Iterator[str]:
    """`tp-test-<uuid>`: the test's keys and channels on the shared Redis, deleted at the end."""
    prefix = f"tp-test-{uuid.uuid4().hex}"
    yield prefix
    delete_keys(SHARED_REDIS, prefix)


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as client:
        yield client


@pytest.fixture
def launch(broker_prefix: str) -> Iterator[Launch]:
    """Start one process per settings at once; every one is stopped at the end, and its log's tail printed (pytest
    shows it when the test fails). Made after `broker_prefix`, so torn down before it: processes still running when
    their keys go would see the lease and its token counter vanish."""
    launched: list[LiveServer] = []

    async def start(envs: Sequence[dict[str, str]]) -> list[LiveServer]:
        servers = await start_all(envs)
        launched.extend(servers)
        return servers

    yield start
    for server in launched:
        if server.process.poll() is None:
            # A paused process would ignore SIGTERM until the kill.
            server.process.send_signal(signal.SIGCONT)
        server.stop()
        print(f"--- server on port {server.port} (pid {server.pid}), exit {server.process.returncode}:")
        print(server.final_log)

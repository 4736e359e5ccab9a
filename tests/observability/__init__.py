"""Tests of metrics, CORS and logs, through the real app (in-process) or real server processes.

`scrape` reads `/metrics` and parses it with prometheus-client's own parser, so a test asserts on values,
never on the text's layout.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from app.market.simulation import SimulatedFeed
from tests.conftest import FROZEN_NOW, Client

# Market seconds per real second of `moving_feed`: at the tests' tick intervals (1 to 20 ms) every tick finds
# the forming bar changed, so every tick publishes (an unchanged bar is not sent again).
MARKET_SPEED = 1000.0
# How long a figure may take to show, on a loaded two-core machine (multiprocess mode copies once a second).
SHOW_TIMEOUT = 20.0
POLL = 0.05


class Scrape:
    """One scrape's samples, by name and labels."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.families = {family.name: family for family in text_string_to_metric_families(text)}
        self.samples: list[tuple[str, dict[str, str], float]] = [
            (sample.name, sample.labels, sample.value) for family in self.families.values() for sample in family.samples
        ]

    def value(self, name: str, **labels: str) -> float:
        """The one sample `name` with exactly these labels among its labels; 0 when there is none."""
        found = [v for n, lab, v in self.samples if n == name and all(lab.get(k) == w for k, w in labels.items())]
        assert len(found) <= 1, f"{name}{labels} matches {len(found)} samples"
        return found[0] if found else 0.0

    def labels(self, name: str) -> list[dict[str, str]]:
        """The label sets of every sample named `name`."""
        return [labels for n, labels, _ in self.samples if n == name]


async def scrape(client: Client) -> Scrape:
    """GET /metrics, which must answer 200 in Prometheus text format."""
    response = await client.get("/metrics")
    assert response.status == 200, await response.text()
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    return Scrape(await response.text())


async def scrape_until(read: Callable[[], Any], done: Callable[[Scrape], bool], what: str) -> Scrape:
    """Scrape (with `read`, an awaitable of a Scrape) until `done` holds; fail after SHOW_TIMEOUT saying `what`."""
    deadline = time.monotonic() + SHOW_TIMEOUT
    while True:
        last: Scrape = await read()
        if done(last):
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not shown within {SHOW_TIMEOUT} s; last scrape:\n{last.text}")
        await asyncio.sleep(POLL)


def moving_feed() -> SimulatedFeed:
    """The simulated market from FROZEN_NOW (every market open) on, its clock running MARKET_SPEED times fast."""
    started = time.monotonic()
    return SimulatedFeed(clock=lambda: FROZEN_NOW + (time.monotonic() - started) * MARKET_SPEED)

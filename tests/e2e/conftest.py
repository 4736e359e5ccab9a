"""Fixtures of the browser tests: a chromium per module, a shared server, pages closed after each test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, sync_playwright

from tests.e2e.browser import CHROMIUM, FLAGS, Watched
from tests.live_server import serving

OpenPage = Callable[..., Watched]


# Per module, not per session: Playwright's sync API runs an event loop in the main thread until it
# stops, and the asyncio tests collected after tests/e2e/ cannot start one of their own meanwhile.
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert Path(CHROMIUM).exists(), "chromium is missing: `make test` installs it with apt-get"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with serving({"BAR_BROADCASTER_INTERVAL": "0.2", "LOG_LEVEL": "WARNING"}) as live:
        yield live.base_url


@pytest.fixture
def open_page(browser: Browser) -> Iterator[OpenPage]:
    """`open_page(url, width=, height=, block=)` opens `url` in a fresh context (`block`: URL patterns that
    answer 404, as for a file that is not installed); every context is closed after the test."""
    contexts: list[BrowserContext] = []

    def open_(url: str, width: int = 1280, height: int = 800, block: tuple[str, ...] = ()) -> Watched:
        context = browser.new_context(viewport={"width": width, "height": height})
        contexts.append(context)
        for pattern in block:
            context.route(pattern, lambda route: route.fulfill(status=404, body="Not Found"))
        watched = Watched(context.new_page())
        watched.watch()
        watched.page.goto(url)
        return watched

    yield open_
    for context in contexts:
        context.close()

"""What the API and the live stream need from a source of market data.

The simulation implements it, and so does the store of imported bars; one feed serves both side by side
(`combined`). Another real feed (an exchange adapter) can implement the same protocol and be handed to
`create_app` instead. Whether an instrument's data is simulated is said by the instrument (`Instrument.simulated`).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Protocol

from app.market.bars import Bar, History, Quote
from app.market.instruments import Instrument
from app.market.resolutions import Resolution


class FeedUnavailableError(Exception):
    """A source the feed reads does not answer (a store that is down): a request that needs it gets 503.

    `component` names the source (`store`), `reason` says what happened, for a person."""

    def __init__(self, component: str, reason: str) -> None:
        self.component = component
        self.reason = reason
        super().__init__(f"The {component} does not answer: {reason}")


@dataclass(frozen=True, slots=True)
class BarQuote:
    """A quote made of an instrument's latest bars alone: the newest trading day's bar (`open`, `high`, `low`,
    `volume`; `last` its close) and the previous day's close. None: nothing to make the field of (no bars, or no
    previous day). Bars carry no order book, so there is no bid, ask or spread."""

    last: float | None
    open: float | None
    high: float | None
    low: float | None
    volume: float | None
    prev_close: float | None
    change: float | None
    change_percent: float | None


class Component(Protocol):
    """A part of the server that can fail on its own (the store): the health check names it while it does."""

    @property
    def name(self) -> str:
        """What the health check calls it (`store`)."""

    def problem(self) -> str | None:
        """What is wrong with it now, for a person; None while it works."""


class MarketFeed(Protocol):
    """A source of instruments, bar history, live bars and quotes."""

    @property
    def instruments(self) -> Sequence[Instrument]:
        """Every instrument the feed carries."""

    def instrument(self, symbol: str) -> Instrument | None:
        """The instrument for `symbol` (any case), or None."""

    async def prepare(self) -> None:
        """Make ready what serving needs from the start (awaited once, before the server accepts requests)."""

    def now(self) -> float:
        """The feed's clock, UTC seconds."""

    def history_start(self, resolution: Resolution) -> int:
        """Earliest period start (UTC seconds) for which any of the feed's instruments has bars."""

    def history(self, symbol: str, resolution: Resolution, start: int, end: int, count_back: int) -> History:
        """Bars with start in [start, end), extended earlier to `count_back` bars, at once (the live stream's
        calls). A feed that reads its bars from elsewhere answers from memory: the newest bars of the topics it
        loaded last, which is all the live stream asks for once `load_history` has loaded them."""

    async def load_history(
        self,
        symbol: str,
        resolution: Resolution,
        start: int,
        end: int,
        count_back: int,
        requester: Hashable = None,
    ) -> History:
        """`history` for a request handler: the same bars, without holding up the event loop while they are
        produced (read from a cache, generated in another thread, fetched from a database). `requester` (a
        client address) names whose request it is, so that a feed can share slow work fairly between clients.
        Raises FeedUnavailableError when a source it needs does not answer."""

    def is_trading(self, symbol: str) -> bool:
        """Whether the instrument trades now: its bars are forming (a simulated instrument inside its session; a
        recorded one only while live trades or a replay form them). The live stream sends each tick's forming bar
        while it does, and otherwise only what changed."""

    def live_bar(self, symbol: str, resolution: Resolution) -> Bar | None:
        """The topic's live bar as it stands now: the forming one, or, for recorded data, the newest one; None while
        there is none (a closed market)."""

    def quote(self, symbol: str) -> Quote | BarQuote:
        """The trading day so far for `symbol`."""

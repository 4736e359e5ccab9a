"""What the API and the live stream need from a source of market data.

The simulation implements it; a real feed (an exchange adapter, a database of recorded bars)
can implement the same protocol and be handed to `create_app` instead.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Protocol

from app.market.bars import Bar, History, Quote
from app.market.instruments import Instrument
from app.market.resolutions import Resolution


class MarketFeed(Protocol):
    """A source of instruments, bar history, live bars and quotes."""

    @property
    def simulated(self) -> bool:
        """True when the data is generated rather than traded."""

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
        """Earliest period start (UTC seconds) for which the feed has bars."""

    def history(self, symbol: str, resolution: Resolution, start: int, end: int, count_back: int) -> History:
        """Bars with start in [start, end), extended earlier to `count_back` bars."""

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
        client address) names whose request it is, so that a feed can share slow work fairly between clients."""

    def is_trading(self, symbol: str) -> bool:
        """Whether the instrument's session is open now."""

    def live_bar(self, symbol: str, resolution: Resolution) -> Bar | None:
        """The current (forming) bar as it stands now, or None while the market is closed."""

    def quote(self, symbol: str) -> Quote:
        """The trading day so far for `symbol`."""

"""One MarketFeed over the simulation and recorded data (the store), side by side, routing each call by symbol.

When the store holds a symbol the simulation also trades (AAPL), the stored instrument replaces the simulated one
everywhere: real data wins. The simulated one is no longer listed, resolved, searched or streamed, and nothing says
"simulated" of that symbol. The replacement follows the store: an import of AAPL takes over within a refresh, on
whatever exchange it is stored (`NASDAQ:AAPL` then names the stored AAPL only if it is stored on NASDAQ).
"""

from __future__ import annotations

import asyncio
from collections.abc import Hashable, Sequence
from typing import Protocol

from app.market.bars import Bar, History, Quote
from app.market.feed import BarQuote, MarketFeed
from app.market.instruments import Instrument
from app.market.resolutions import Resolution


class RecordedFeed(MarketFeed, Protocol):
    """A feed of recorded instruments (the store's), which replace simulated ones of the same ticker."""

    def has_symbol(self, ticker: str) -> bool:
        """Whether the feed holds `ticker` (any case, without an exchange), on whatever exchange."""


class CombinedFeed:
    """The simulation's instruments and the recorded ones, the latter replacing simulated ones of their symbol;
    implements `MarketFeed`. The simulation's clock is the feed's."""

    def __init__(self, simulation: MarketFeed, recorded: RecordedFeed) -> None:
        self.simulation = simulation
        self.recorded = recorded
        self._listed: tuple[Sequence[Instrument], tuple[Instrument, ...]] | None = None

    @property
    def instruments(self) -> Sequence[Instrument]:
        """The recorded instruments after the simulated ones they do not replace (made again when they change)."""
        recorded = self.recorded.instruments
        if self._listed is None or self._listed[0] is not recorded:
            symbols = {instrument.symbol for instrument in recorded}
            kept = [instrument for instrument in self.simulation.instruments if instrument.symbol not in symbols]
            self._listed = (recorded, (*kept, *recorded))
        return self._listed[1]

    def instrument(self, symbol: str) -> Instrument | None:
        return self._route(symbol).instrument(symbol)

    async def prepare(self) -> None:
        await asyncio.gather(self.simulation.prepare(), self.recorded.prepare())

    def now(self) -> float:
        return self.simulation.now()

    def history_start(self, resolution: Resolution) -> int:
        return min(self.simulation.history_start(resolution), self.recorded.history_start(resolution))

    def history(self, symbol: str, resolution: Resolution, start: int, end: int, count_back: int) -> History:
        return self._route(symbol).history(symbol, resolution, start, end, count_back)

    async def load_history(
        self,
        symbol: str,
        resolution: Resolution,
        start: int,
        end: int,
        count_back: int,
        requester: Hashable = None,
    ) -> History:
        return await self._route(symbol).load_history(symbol, resolution, start, end, count_back, requester)

    def is_trading(self, symbol: str) -> bool:
        return self._route(symbol).is_trading(symbol)

    def live_bar(self, symbol: str, resolution: Resolution) -> Bar | None:
        return self._route(symbol).live_bar(symbol, resolution)

    def quote(self, symbol: str) -> Quote | BarQuote:
        return self._route(symbol).quote(symbol)

    def _route(self, symbol: str) -> MarketFeed:
        """The feed that answers for `symbol` (any case, with or without an exchange)."""
        return self.recorded if self.recorded.has_symbol(symbol.rpartition(":")[2]) else self.simulation

"""Instruments as every interface describes them, and the ones the simulation trades, each with its own character."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from app.market.resolutions import Resolution
from app.market.trading_hours import CRYPTO_HOURS, FOREX_HOURS, STOCK_HOURS, TradingHours


class AssetClass(StrEnum):
    """TradingView's symbol `type` values for the classes we simulate."""

    STOCK = "stock"
    CRYPTO = "crypto"
    FOREX = "forex"


@dataclass(frozen=True, slots=True)
class Exchange:
    """An exchange as the datafeed configuration lists it."""

    value: str
    name: str
    desc: str


NASDAQ = Exchange("NASDAQ", "NASDAQ", "NASDAQ Stock Market")
CRYPTO = Exchange("CRYPTO", "Crypto", "Simulated crypto exchange (24/7)")
FX = Exchange("FX", "Forex", "Simulated interbank forex (24/5)")


@dataclass(frozen=True, slots=True)
class Character:
    """The parameters of a simulated instrument's price process."""

    base_price: float
    daily_volatility: float
    daily_volume: int
    spread_ticks: int
    # Overnight jump as a fraction of the daily volatility (equities gap, crypto never closes).
    gap_ratio: float = 0.0


@dataclass(frozen=True, slots=True)
class Instrument:
    """Static description of one instrument: what SymbolInfo says of it, the resolutions it is served at, and, for a
    simulated one, the parameters of its price process (`character`; None for real data, such as a store's)."""

    symbol: str
    description: str
    exchange: Exchange
    asset_class: AssetClass
    hours: TradingHours
    pricescale: int
    minmov: int = 1
    # Decimal places of volume: coins trade in fractions, shares and forex ticks in whole units.
    volume_precision: int = 0
    # ISO 4217 code of the currency prices are quoted in (TradingView's `currency_code`).
    currency: str = "USD"
    character: Character | None = None
    # Finest first; the simulation serves every resolution, stored data its own and every coarser one.
    resolutions: tuple[Resolution, ...] = tuple(Resolution)

    @property
    def simulated(self) -> bool:
        """True when the instrument's bars are generated rather than traded."""
        return self.character is not None

    def unserved(self, resolution: Resolution) -> str | None:
        """Why the instrument has no bars of `resolution`, for the client that asked (None when it has them): a
        resolution finer than its data, say."""
        if resolution in self.resolutions:
            return None
        served = ", ".join(r.value for r in self.resolutions)
        return f"{self.symbol} has no {resolution.value} bars; it has {served}."

    @property
    def volume_scale(self) -> int:
        """Volumes are simulated as integer counts of 1/volume_scale."""
        return int(10**self.volume_precision)

    def volume(self, units: int) -> float:
        """A volume counted in units of 1/volume_scale as clients see it (a whole number when precision is 0)."""
        return units / self.volume_scale if self.volume_precision else units

    @property
    def tick_size(self) -> float:
        return self.minmov / self.pricescale

    # The simulation reads its parameters from the instrument it simulates.
    @property
    def base_price(self) -> float:
        return self._character().base_price

    @property
    def daily_volatility(self) -> float:
        return self._character().daily_volatility

    @property
    def daily_volume(self) -> int:
        return self._character().daily_volume

    @property
    def spread_ticks(self) -> int:
        return self._character().spread_ticks

    @property
    def gap_ratio(self) -> float:
        return self._character().gap_ratio

    def _character(self) -> Character:
        if self.character is None:
            raise ValueError(f"{self.symbol} is not simulated: it has no price process")
        return self.character


def _stock(symbol: str, name: str, price: float, vol: float, volume: int) -> Instrument:
    return Instrument(
        symbol, name, NASDAQ, AssetClass.STOCK, STOCK_HOURS, 100, character=Character(price, vol, volume, 1, 0.35)
    )


def _crypto(symbol: str, name: str, price: float, vol: float, volume: int) -> Instrument:
    return Instrument(
        symbol,
        name,
        CRYPTO,
        AssetClass.CRYPTO,
        CRYPTO_HOURS,
        100,
        volume_precision=4,
        character=Character(price, vol, volume, 2),
    )


def _forex(symbol: str, name: str, price: float, vol: float, scale: int) -> Instrument:
    # A pair is quoted in its second currency: EURUSD in USD, USDJPY in JPY.
    return Instrument(
        symbol,
        name,
        FX,
        AssetClass.FOREX,
        FOREX_HOURS,
        scale,
        currency=symbol[3:],
        character=Character(price, vol, 250_000, 2, 0.1),
    )


INSTRUMENTS: tuple[Instrument, ...] = (
    _stock("AAPL", "Apple Inc.", 190.0, 0.016, 55_000_000),
    _stock("MSFT", "Microsoft Corporation", 410.0, 0.015, 22_000_000),
    _stock("GOOGL", "Alphabet Inc. Class A", 165.0, 0.018, 25_000_000),
    _stock("AMZN", "Amazon.com, Inc.", 180.0, 0.020, 40_000_000),
    _stock("TSLA", "Tesla, Inc.", 240.0, 0.035, 95_000_000),
    _stock("NVDA", "NVIDIA Corporation", 120.0, 0.030, 300_000_000),
    _stock("META", "Meta Platforms, Inc.", 500.0, 0.022, 15_000_000),
    _crypto("BTCUSD", "Bitcoin / US Dollar", 65_000.0, 0.032, 25_000),
    _crypto("ETHUSD", "Ethereum / US Dollar", 3_200.0, 0.040, 350_000),
    _forex("EURUSD", "Euro / US Dollar", 1.0850, 0.0050, 100_000),
    _forex("GBPUSD", "British Pound / US Dollar", 1.2700, 0.0055, 100_000),
    _forex("USDJPY", "US Dollar / Japanese Yen", 150.00, 0.0060, 1_000),
)

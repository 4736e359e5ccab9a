"""The instrument an import or `instruments add` describes: its flags, the defaults by type, and what is stored.

A new instrument takes each flag, or its type's default: stocks `America/New_York` `0930-1600` on NASDAQ, forex
`America/New_York` `1700-1700:23456` (Sunday to Friday 17:00) on FX, crypto `Etc/UTC` `24x7` on CRYPTO (the
simulation's own), a stock when no type is given; its pricescale is `--pricescale` or what the prices' decimals
need, its volume precision the volumes' decimals. A stored instrument keeps its type, timezone, session and
pricescale: its bars lie on that grid and are counted in those ticks, so a flag that would change them is refused
(import into a new symbol instead); its description and exchange follow the flags.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

from app.market.instruments import CRYPTO, FX, NASDAQ, AssetClass, Exchange
from app.market.sessions import SessionError
from app.market.trading_hours import CRYPTO_HOURS, FOREX_HOURS, STOCK_HOURS, TradingHours
from app.store.base import InstrumentSpec

# Letters, digits, `.`, `_` and `-`: a symbol is part of URL paths and WebSocket topics (`bars:SYMBOL:1`).
SYMBOL = re.compile(r"[A-Z0-9][A-Z0-9._-]{0,31}")
# Prices with more decimals are float noise (1.0716000000000001), not a tick size.
MAX_PLACES = 10
_DEFAULT_HOURS = {AssetClass.STOCK: STOCK_HOURS, AssetClass.CRYPTO: CRYPTO_HOURS, AssetClass.FOREX: FOREX_HOURS}
_DEFAULT_EXCHANGES: dict[AssetClass, Exchange] = {
    AssetClass.STOCK: NASDAQ,
    AssetClass.CRYPTO: CRYPTO,
    AssetClass.FOREX: FX,
}
# `instruments add` has no prices to read the decimals of: cents, and forex's fifth decimal (pips and pipettes).
_DEFAULT_PRICESCALES = {AssetClass.STOCK: 100, AssetClass.CRYPTO: 100, AssetClass.FOREX: 100_000}
# Decimals of volume of an instrument with no bars yet (`instruments add`, for live ingest): coins trade in
# fractions (Binance's base quantities have 8), shares and currency units whole.
DEFAULT_VOLUME_PLACES = {AssetClass.STOCK: 0, AssetClass.CRYPTO: 8, AssetClass.FOREX: 0}


class InstrumentError(ValueError):
    """Flags that do not describe a usable instrument, or would change a stored one; the message says which."""


@dataclass(frozen=True, slots=True)
class InstrumentFlags:
    """The instrument flags as given (None: not given)."""

    asset_class: AssetClass | None = None
    exchange: str | None = None
    timezone: str | None = None
    session: str | None = None
    description: str | None = None
    pricescale: int | None = None


def symbol_of(text: str) -> str:
    """The canonical (upper-case) symbol; raises InstrumentError for one that cannot be served."""
    symbol = text.strip().upper()
    if not SYMBOL.fullmatch(symbol):
        raise InstrumentError(
            f"symbol {text!r}: 1 to 32 letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    return symbol


def hours_for(spec: InstrumentSpec) -> TradingHours:
    """The trading hours a stored instrument is served with (`InstrumentSpec.trading_hours`); raises InstrumentError
    for a session or timezone it cannot read."""
    try:
        return spec.trading_hours()
    except SessionError as error:
        raise InstrumentError(str(error)) from None


def new_spec(symbol: str, flags: InstrumentFlags, price_places: int | None, volume_places: int) -> InstrumentSpec:
    """The spec of an instrument not yet stored; `price_places`: the most decimals a price has (None: no prices,
    the type's default pricescale). Raises InstrumentError."""
    asset_class = flags.asset_class or AssetClass.STOCK
    hours = _DEFAULT_HOURS[asset_class]
    if flags.pricescale is not None:
        pricescale = flags.pricescale
    elif price_places is None:
        pricescale = _DEFAULT_PRICESCALES[asset_class]
    elif price_places > MAX_PLACES:
        raise InstrumentError(
            f"prices with {price_places} decimals: more than {MAX_PLACES} is float noise, not a tick size; give"
            " --pricescale (e.g. 100000 for 5 decimals) and prices on that grid"
        )
    else:
        pricescale = 10**price_places
    spec = InstrumentSpec(
        symbol=symbol,
        asset_class=asset_class,
        exchange=flags.exchange or _DEFAULT_EXCHANGES[asset_class].value,
        timezone=flags.timezone or hours.timezone,
        session=flags.session or hours.session,
        description=flags.description or symbol,
        pricescale=pricescale,
        volume_precision=min(volume_places, MAX_PLACES),
        # A pair is quoted in its second currency: EURUSD in USD, USDJPY in JPY.
        currency=symbol[3:] if asset_class is AssetClass.FOREX and len(symbol) == 6 else "USD",
    )
    hours_for(spec)
    return spec


def stored_spec(stored: InstrumentSpec, flags: InstrumentFlags, volume_places: int) -> InstrumentSpec:
    """The spec of a stored instrument after an import with `flags`; raises InstrumentError for a flag that
    would change its type, timezone, session or pricescale."""
    fixed = (
        ("--type", flags.asset_class, stored.asset_class),
        ("--timezone", flags.timezone, stored.timezone),
        ("--session", flags.session, stored.session),
        ("--pricescale", flags.pricescale, stored.pricescale),
    )
    for flag, given, kept in fixed:
        if given is not None and given != kept:
            raise InstrumentError(
                f"{flag} {given}: {stored.symbol} is stored with {kept}, and its bars lie on that grid in those"
                " ticks; import into a new symbol to change it"
            )
    return dataclasses.replace(
        stored,
        exchange=flags.exchange or stored.exchange,
        description=flags.description or stored.description,
        volume_precision=max(stored.volume_precision, min(volume_places, MAX_PLACES)),
    )

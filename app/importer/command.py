"""`python -m app import` and `python -m app instruments add|list`: the store STORE_URL names, opened for one
command; a refusal is the reason on stderr and exit status 1, the store as it was."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import TextIO

from app.importer.importing import ImportRequest, import_files
from app.importer.instrument import DEFAULT_VOLUME_PLACES, InstrumentError, InstrumentFlags, new_spec, symbol_of
from app.importer.problems import ImportRefusedError
from app.importer.report import instruments_table
from app.market.instruments import AssetClass
from app.settings import SettingsError, load_settings
from app.store.base import BarStore, StoreError
from app.store.open import open_store


def run(args: argparse.Namespace, environ: Mapping[str, str], out: TextIO, err: TextIO) -> int:
    """Run the `import` or `instruments` command that `args` (app.cli's parse_args) names against STORE_URL's
    store; the exit status: 0 done, 1 refused (the reason on `err`, nothing written)."""
    if args.command == "import":
        failed = "Nothing was imported"
    else:
        failed = "Nothing was added" if args.action == "add" else "Cannot list the instruments"
    try:
        settings = load_settings(environ)
    except SettingsError as error:
        print(f"Configuration error: {error}", file=err)
        return 1
    try:
        # The flags first: a bad one is said before the store is opened (or created).
        request = _request(args) if args.command == "import" else None
        symbol = symbol_of(args.symbol) if request is None and args.action == "add" else None
        store = open_store(settings.store_url)
        try:
            store.migrate()
            if request is not None:
                for line in import_files(request, store, err).summary():
                    print(line, file=out)
            elif symbol is not None:
                add_instrument(symbol, _flags(args), store, out)
            else:
                list_instruments(store, out)
        finally:
            store.close()
    except ImportRefusedError as refused:
        print(refused, file=err)
        return 1
    except (InstrumentError, StoreError) as error:
        print(f"{failed}: {error}", file=err)
        return 1
    return 0


def _flags(args: argparse.Namespace) -> InstrumentFlags:
    return InstrumentFlags(
        asset_class=None if args.type is None else AssetClass(args.type),
        exchange=args.exchange,
        timezone=args.timezone,
        session=args.session,
        description=args.description,
        pricescale=args.pricescale,
    )


def _request(args: argparse.Namespace) -> ImportRequest:
    return ImportRequest(
        files=tuple(args.files),
        symbol=symbol_of(args.symbol),
        flags=_flags(args),
        input_zone=args.input_timezone,
        ambiguous=args.ambiguous,
        decimal_comma=args.decimal == ",",
        replace=args.replace,
    )


def add_instrument(symbol: str, flags: InstrumentFlags, store: BarStore, out: TextIO) -> None:
    """`instruments add`: store a new instrument with no bars. Raises InstrumentError (for one already stored
    too) or StoreError."""
    if any(item.spec.symbol == symbol for item in store.instruments()):
        raise InstrumentError(f"{symbol} is already stored (import adds bars to it)")
    spec = new_spec(symbol, flags, None, DEFAULT_VOLUME_PLACES[flags.asset_class or AssetClass.STOCK])
    store.put_instrument(spec)
    print(
        f"Added {spec.symbol}: {spec.asset_class} on {spec.exchange}, {spec.session} {spec.timezone}, pricescale"
        f" {spec.pricescale}, {_volume_places(spec.volume_precision)}, no bars yet",
        file=out,
    )


def _volume_places(places: int) -> str:
    return f"volume with {places} decimals" if places else "whole volumes"


def list_instruments(store: BarStore, out: TextIO) -> None:
    """`instruments list`: the stored instruments as a table."""
    instruments = store.instruments()
    print(instruments_table(instruments) if instruments else "No instruments stored.", file=out)

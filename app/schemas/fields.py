"""Fields shared by the request schemas: symbols and resolutions as clients spell them."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from marshmallow import ValidationError, fields, validate

from app.market.resolutions import ALIASES, Resolution, parse_resolution
from app.schemas.limits import MAX_BARS, MAX_SYMBOL_LENGTH, MAX_TIMESTAMP

RESOLUTION_NAMES = [r.value for r in Resolution] + list(ALIASES)


# A ticker, optionally prefixed by its exchange (NASDAQ:AAPL), as TradingView may send it.
SYMBOL_PATTERN = rf"[A-Za-z0-9][A-Za-z0-9._:/!-]{{0,{MAX_SYMBOL_LENGTH - 1}}}"


class SymbolField(fields.String):
    """A ticker in any case, loaded as its canonical upper-case form."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("validate", validate.Regexp(f"^{SYMBOL_PATTERN}$", error="Not a valid symbol."))
        metadata = {"description": f"Ticker, case-insensitive (e.g. AAPL, btcusd), 1 to {MAX_SYMBOL_LENGTH} characters"}
        super().__init__(metadata=metadata | kwargs.pop("metadata", {}), **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> str:
        return super()._deserialize(value, attr, data, **kwargs).upper()


class SymbolListField(fields.String):
    """Comma-separated tickers (UDF's `symbols=A,B`), loaded as canonical upper-case strings."""

    def __init__(self, max_symbols: int, **kwargs: Any) -> None:
        self.max_symbols = max_symbols
        # Validators run on the loaded list, so the pattern is checked here and only documented there.
        self.pattern = re.compile(f"{SYMBOL_PATTERN}(,{SYMBOL_PATTERN}){{0,{max_symbols - 1}}}")
        metadata = {
            "description": f"Comma-separated tickers, case-insensitive, 1 to {max_symbols}",
            "pattern": f"^{self.pattern.pattern}$",
        }
        super().__init__(metadata=metadata | kwargs.pop("metadata", {}), **kwargs)

    def _deserialize(  # type: ignore[override]
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> list[str]:
        text = super()._deserialize(value, attr, data, **kwargs)
        if not self.pattern.fullmatch(text):
            raise ValidationError(f"Give 1 to {self.max_symbols} comma-separated symbols.")
        return text.upper().split(",")


class ResolutionField(fields.String):
    """A resolution name or alias (D, W, M), loaded as a `Resolution`."""

    def __init__(self, **kwargs: Any) -> None:
        metadata = {
            "description": "Bar period: minutes (1, 5, 15, 30, 60, 240), 1D, 1W, 1M; aliases D, W, M",
            "enum": RESOLUTION_NAMES,
        }
        super().__init__(metadata=metadata | kwargs.pop("metadata", {}), **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> Resolution:
        resolution = parse_resolution(super()._deserialize(value, attr, data, **kwargs))
        if resolution is None:
            raise ValidationError(f"Must be one of: {', '.join(RESOLUTION_NAMES)}.")
        return resolution


def timestamp(description: str, **kwargs: Any) -> fields.Integer:
    """A UTC time in whole seconds within the accepted range."""
    return fields.Integer(
        validate=validate.Range(min=0, max=MAX_TIMESTAMP),
        metadata={"description": f"{description} (UTC seconds, 0 to {MAX_TIMESTAMP})"},
        **kwargs,
    )


def count_back_field(**kwargs: Any) -> fields.Integer:
    """A bar count of a history request (default 0): the datafeed's `count_back`, UDF's `countback` (which
    documents its own meaning)."""
    metadata = {
        "description": "Extend the range earlier until it holds at least this many bars; the range itself is "
        f"never cut (at most {MAX_BARS})"
    }
    return fields.Integer(
        load_default=0,
        validate=validate.Range(min=0, max=MAX_BARS),
        metadata=metadata | kwargs.pop("metadata", {}),
        **kwargs,
    )

"""Fields shared by the request schemas: symbols and resolutions as clients spell them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marshmallow import ValidationError, fields, validate

from app.market.resolutions import ALIASES, Resolution, parse_resolution
from app.schemas.limits import MAX_SYMBOL_LENGTH, MAX_TIMESTAMP

RESOLUTION_NAMES = [r.value for r in Resolution] + list(ALIASES)


class SymbolField(fields.String):
    """A ticker in any case, loaded as its canonical upper-case form."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("validate", validate.Length(min=1, max=MAX_SYMBOL_LENGTH))
        metadata = {"description": "Ticker, case-insensitive (e.g. AAPL, btcusd)", "example": "AAPL"}
        super().__init__(metadata=metadata | kwargs.pop("metadata", {}), **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> str:
        return super()._deserialize(value, attr, data, **kwargs).strip().upper()


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

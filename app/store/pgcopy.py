"""Bars as PostgreSQL's binary COPY stream, built with numpy: the fastest way in, and no Python object per value.

The format (PostgreSQL's documentation, "COPY", binary format): a signature and two 32-bit words, then per row a
16-bit field count and, per field, a 32-bit length and the value in network byte order (text as its UTF-8 bytes),
then a 16-bit -1. Every field here is NOT NULL and of fixed length per write, so a row is a numpy record.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from app.market.resolutions import Resolution
from app.store.base import BarRows

COLUMNS = "symbol, resolution, time, open, high, low, close, volume"
HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)
TRAILER = b"\xff\xff"
# Rows per block handed to the driver: a few megabytes, reused, rather than one buffer for a whole import.
BLOCK = 65_536
_VALUES = (("time", ">i8"), ("open", ">i8"), ("high", ">i8"), ("low", ">i8"), ("close", ">i8"), ("volume", ">f8"))


def copy_blocks(symbol: str, resolution: Resolution, rows: BarRows) -> Iterator[bytes]:
    """The binary COPY stream of `rows` for the columns COLUMNS, in blocks of at most BLOCK rows."""
    name, period = symbol.encode(), resolution.value.encode()
    layout = np.dtype(
        [("fields", ">i2"), ("symbol_length", ">i4"), ("symbol", f"S{len(name)}")]
        + [("resolution_length", ">i4"), ("resolution", f"S{len(period)}")]
        + [item for field, kind in _VALUES for item in ((f"{field}_length", ">i4"), (field, kind))]
    )
    block = np.zeros(min(len(rows), BLOCK), dtype=layout)
    block["fields"] = 2 + len(_VALUES)
    block["symbol_length"], block["symbol"] = len(name), name
    block["resolution_length"], block["resolution"] = len(period), period
    for field, _ in _VALUES:
        block[f"{field}_length"] = 8
    yield HEADER
    columns = (rows.times, rows.opens, rows.highs, rows.lows, rows.closes, rows.volumes)
    for start in range(0, len(rows), BLOCK):
        part = block[: min(BLOCK, len(rows) - start)]
        for (field, _), column in zip(_VALUES, columns, strict=True):
            part[field] = column[start : start + len(part)]
        yield part.tobytes()
    yield TRAILER

"""What the metrics read of live ingest: counts the ingest keeps as plain integers (no metric is touched per trade)."""

from __future__ import annotations

from typing import Protocol

from aiohttp import web


class IngestCounts(Protocol):
    """Totals since start: trades applied, trades refused (every trade of a refused request), bars written."""

    @property
    def trades_accepted(self) -> int: ...

    @property
    def trades_refused(self) -> int: ...

    @property
    def bars_written(self) -> int: ...


# Set by create_app while ingest is on (INGEST_TOKEN).
INGEST_COUNTS: web.AppKey[IngestCounts] = web.AppKey("ingest_counts")

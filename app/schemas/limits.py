"""Bounds on what one request may ask for, so no request can monopolise the server."""

from __future__ import annotations

# Most bars one history request may span or ask for with count_back.
MAX_BARS = 5000
MAX_SEARCH_RESULTS = 100
MAX_QUOTE_SYMBOLS = 50
MAX_SYMBOL_LENGTH = 32
MAX_QUERY_LENGTH = 64
# Latest accepted timestamp (2100-01-01T00:00:00Z): far enough for any chart, small enough for any calendar.
MAX_TIMESTAMP = 4_102_444_800

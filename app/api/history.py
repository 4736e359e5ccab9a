"""History requests shared by both datafeeds: bounds checks, then the feed."""

from __future__ import annotations

from app.api.errors import invalid
from app.market.bars import History
from app.market.feed import MarketFeed
from app.market.instruments import Instrument
from app.market.resolutions import Resolution
from app.market.simulation import DEEPER_DAYS
from app.schemas.limits import MAX_BARS

# How far back each instrument is served at each resolution, for the documentation of both datafeeds.
HISTORY_DEPTH = (
    "The simulation serves daily, weekly and monthly bars from 2014-09-01, minute bars for "
    "MARKET_INTRADAY_DAYS days (60 by default), "
    + ", ".join(f"{resolution.value}-minute bars for {days} days" for resolution, days in DEEPER_DAYS.items())
    + ". An imported instrument serves the resolutions it is stored at and every coarser one (aggregated), from its "
    "first stored bar; a finer resolution is a 422."
)


async def fetch_history(
    feed: MarketFeed,
    instrument: Instrument,
    resolution: Resolution,
    start: int,
    end: int,
    count_back: int,
    names: tuple[str, str] = ("from_time", "to_time"),
    requester: str | None = None,
) -> History:
    """Bars of `instrument` for a validated request (from the client at `requester`); 422 for a resolution the
    instrument is not served at or a range too wide; FeedUnavailableError (503) when its data does not answer."""
    start_name, end_name = names
    unserved = instrument.unserved(resolution)
    if unserved is not None:
        raise invalid({"resolution": [unserved]})
    if end < start:
        raise invalid({end_name: [f"Must not be earlier than {start_name}."]})
    # Only the part of the range where bars can exist counts against the limit.
    served_from = max(start, feed.history_start(resolution))
    served_to = min(end, int(feed.now()) + resolution.seconds)
    if (served_to - served_from) / resolution.seconds > MAX_BARS:
        raise invalid({start_name: [f"The range spans more than {MAX_BARS} bars of {resolution.value}; narrow it."]})
    return await feed.load_history(instrument.symbol, resolution, start, end, count_back, requester)

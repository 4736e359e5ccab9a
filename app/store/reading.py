"""History requests answered from a store's rows (in a worker thread: every call here blocks on the store).

A resolution is served from the stored resolution that `aggregate.source_for` picks: as stored when it is that one,
else aggregated exactly from whole periods of its rows. Requests follow the MarketFeed rule: bars stamped in
[start, end), extended earlier to `count_back` bars; `no_data` when no bar is stamped before `end`.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.market.aggregate import TickColumns, aggregate, source_for, source_span
from app.market.resolutions import Resolution
from app.market.trading_hours import TradingHours
from app.store.base import BarRows, BarStore

# Rows asked for at once when walking back for `count_back` (the walk doubles it each time, up to the cap).
_FIRST_ASK = 256
_MOST_ASKED = 1 << 20
# The end of time for "up to the newest bar" (UTC seconds, in the year 6325: beyond any bar, inside any calendar).
END_OF_TIME = 1 << 37


@dataclass(frozen=True, slots=True)
class Series:
    """One stored instrument as reads need it: its symbol, trading hours and stored resolutions with the time of
    each one's last bar (UTC seconds)."""

    symbol: str
    hours: TradingHours
    last_times: dict[Resolution, int]

    @property
    def stored(self) -> tuple[Resolution, ...]:
        return tuple(self.last_times)


@dataclass(frozen=True, slots=True, eq=False)
class Found:
    """The bars of a request, ascending, and what they say about the rest: `no_data` when no bar is stamped before
    the request's end; `newest` when they run up to the newest stored bar, so that every bar stamped at or after
    `bars.times[0]` (or the request's start, when there is none) is among them."""

    bars: TickColumns
    no_data: bool
    newest: bool
    start: int


def columns(rows: BarRows) -> TickColumns:
    """A store's rows as the aggregation's columns."""
    return TickColumns(rows.times, rows.opens, rows.highs, rows.lows, rows.closes, rows.volumes)


def read_history(
    store: BarStore, series: Series, resolution: Resolution, start: int, end: int, count_back: int
) -> Found:
    """The bars of `series` at `resolution` stamped in [start, end), extended earlier to `count_back` bars.

    Raises StoreUnavailableError when the store does not answer. A resolution no stored one serves has no bars.
    """
    source = source_for(series.stored, resolution)
    if source is None:
        return Found(TickColumns.empty(), no_data=True, newest=True, start=start)
    lo, hi = source_span(series.hours, source, resolution, start, end)
    made = aggregate(series.hours, source, resolution, columns(store.read_bars(series.symbol, source, lo, hi)))
    inside = made.between(start, end)
    earlier = made.between(-END_OF_TIME, start)
    if len(inside) < count_back:
        earlier = _last_before(store, series, source, resolution, lo, earlier, count_back - len(inside))
        bars = TickColumns.concat((earlier, inside))
    else:
        bars = inside
    # Nothing is stored after the rows read, and none of them made a bar stamped after the end (a week whose data
    # begins after it).
    newest = hi > series.last_times[source] and not len(made.between(end, END_OF_TIME))
    first = int(bars.times[0]) if len(bars) else start
    if len(bars):
        return Found(bars, no_data=False, newest=newest, start=first)
    # Nothing to show: is there any bar before the end at all?
    before = len(earlier) > 0 or len(store.read_last(series.symbol, source, lo, 1)) > 0
    return Found(bars, no_data=not before, newest=newest, start=first)


def _last_before(
    store: BarStore, series: Series, source: Resolution, target: Resolution, lo: int, known: TickColumns, count: int
) -> TickColumns:
    """The last `count` bars stamped before the request's start: `known` (made of rows from `lo` on), preceded by
    bars made of the rows before `lo`, read backwards in growing chunks until enough whole periods are in hand.

    `lo` starts a period of `target`, so the bars made of rows before it hold whole periods, except perhaps the
    earliest of them, whose first rows may not be read yet: it counts only once the rows run out."""
    rows = TickColumns.empty()
    # About the rows `count` bars hold, and the partial bar before them (a trading day of minutes counts as 24 hours:
    # more than a stock needs).
    per_bar = max(1, target.seconds // source.seconds)
    ask, cursor, exhausted = min(max(_FIRST_ASK, (count + 1) * per_bar), _MOST_ASKED), lo, False
    while True:
        made = TickColumns.concat((aggregate(series.hours, source, target, rows), known))
        whole = made if exhausted or not len(rows) else made[1:]
        if exhausted or len(whole) >= count:
            return whole[max(0, len(whole) - count) :]
        chunk = columns(store.read_last(series.symbol, source, cursor, ask))
        exhausted = len(chunk) < ask
        if len(chunk):
            rows, cursor = TickColumns.concat((chunk, rows)), int(chunk.times[0])
        ask = min(ask * 2, _MOST_ASKED)

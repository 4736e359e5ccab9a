"""Where the stored feed reads the newest bars it holds again after the store changed.

Bars appended after a series' newest one change at most a topic's newest bar: its tail is read again
(`Window.tail_start`). A write that changed older bars of a series (a `--replace` import, rows added before its last
one) is counted in the store (`Rewrites`, per series), with the earliest bar time it wrote: every topic made of that
series is read again from the bar that holds that time, whatever the resolution (coarser ones are aggregated from
it). A topic that another stored resolution serves now (one was imported) is read again whole.
"""

from __future__ import annotations

from app.market.aggregate import bar_time, source_for
from app.store.live import Topic, Window
from app.store.view import Listing


def reload_starts(held: dict[Topic, Window], before: dict[str, Listing], after: dict[str, Listing]) -> dict[Topic, int]:
    """For each topic of `held` (its newest bars in memory) that `after` (the instruments now) still serves, the time
    (UTC seconds) its bars are read again from; `before`: the instruments as the held bars were read."""
    starts = {}
    for topic, window in held.items():
        symbol, resolution = topic
        listing = after.get(symbol)
        if listing is None or resolution not in listing.instrument.resolutions:
            continue
        start = window.tail_start(resolution.seconds)
        old = before.get(symbol)
        source = source_for(listing.series.stored, resolution)
        if old is None or source is not source_for(old.series.stored, resolution):
            start = window.start
        elif source is not None and (rewrites := listing.rewrites.get(source)) is not None:
            seen = old.rewrites.get(source)
            changed = rewrites.since(0 if seen is None else seen.count)
            if changed is not None:
                hours = listing.instrument.hours
                start = min(start, max(window.start, bar_time(hours, source, resolution, changed)))
        starts[topic] = start
    return starts

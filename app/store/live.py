"""The stored feed's live state: the newest bars of each topic (symbol, resolution) it served lately, in memory.

The live stream asks for bars at once, on the event loop (the latest bar, a bar that just closed, the bars of a
resume), and a store is not read there. So a topic's newest bars are kept here: each history answer that runs up
to the newest stored bar leaves them (`offer`), a change in the store reloads them, and the live stream reads them.
Bars that ingest or a replay form belong here too: this is the one place a topic's newest bars live.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from app.market.aggregate import TickColumns
from app.market.resolutions import Resolution

Topic = tuple[str, Resolution]


@dataclass(frozen=True, slots=True, eq=False)
class Window:
    """Every bar of a topic stamped at or after `start` (UTC seconds), ascending."""

    start: int
    bars: TickColumns

    def between(self, start: int, end: int, count_back: int) -> TickColumns:
        """The bars stamped in [start, end), extended earlier to `count_back` with the bars it holds."""
        inside = self.bars.between(start, end)
        if len(inside) >= count_back:
            return inside
        first = int(self.bars.times.searchsorted(start))
        return self.bars[max(0, first - (count_back - len(inside))) : first + len(inside)]


class NewestBars:
    """The newest bars of up to `topics` topics (the least recently used go first), at most `depth` bars each."""

    def __init__(self, depth: int, topics: int) -> None:
        self.depth = depth
        self._topics = topics
        self._windows: OrderedDict[Topic, Window] = OrderedDict()

    def get(self, topic: Topic) -> Window | None:
        """The topic's window, or None when it has none in memory."""
        window = self._windows.get(topic)
        if window is not None:
            self._windows.move_to_end(topic)
        return window

    def offer(self, topic: Topic, window: Window) -> None:
        """Keep `window` (as fresh as what is held) unless the topic's window already reaches further back."""
        held = self._windows.get(topic)
        if held is None or window.start < held.start:
            self.put(topic, window)
        else:
            self._windows.move_to_end(topic)

    def put(self, topic: Topic, window: Window) -> None:
        """Hold `window` for `topic`, cut to its newest `depth` bars."""
        if len(window.bars) > self.depth:
            kept = window.bars[len(window.bars) - self.depth :]
            window = Window(int(kept.times[0]), kept)
        self._windows[topic] = window
        self._windows.move_to_end(topic)
        while len(self._windows) > self._topics:
            self._windows.popitem(last=False)

    def starts(self) -> dict[Topic, int]:
        """Each held topic and where its window starts, least recently used first."""
        return {topic: window.start for topic, window in self._windows.items()}

    def replace(self, windows: dict[Topic, Window]) -> None:
        """Hold exactly `windows` (reloaded after the store changed), in their order."""
        self._windows.clear()
        for topic, window in windows.items():
            self.put(topic, window)

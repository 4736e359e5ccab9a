"""The stored feed's live state: the newest bars of each topic (symbol, resolution) it served lately, in memory.

The live stream asks for bars at once, on the event loop (the latest bar, a bar that just closed, the bars of a
resume), and a store is not read there. So a topic's newest bars are kept here: each history answer that runs up
to the newest stored bar leaves them (`offer`), a change in the store reloads their tail, or more where a write
changed older bars (`refresh`, from where `reload.reload_starts` says), the live stream reads them, and history
requests they cover are answered from them. Bars that ingest or a replay form
belong here too: this is the one place a topic's newest bars live.
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

    def covers(self, start: int, end: int, count_back: int) -> bool:
        """Whether `between(start, end, count_back)` holds every bar the request asks for (it may ask for none)."""
        if start < self.start:
            return False
        wanted = count_back - len(self.bars.between(start, end))
        return wanted <= 0 or int(self.bars.times.searchsorted(start)) >= wanted

    def tail_start(self, period: int) -> int:
        """Where a reload after bars were appended to the store begins: a period (`period` seconds) before the
        newest bar, so that the newest bar, which the appended rows may belong to, is read again."""
        return max(self.start, int(self.bars.times[-1]) - period) if len(self.bars) else self.start

    def merged(self, fresher: Window) -> Window:
        """This window with its bars from `fresher.start` on replaced by `fresher`'s."""
        if fresher.start <= self.start:
            return fresher
        return Window(self.start, TickColumns.concat((self.bars.between(self.start, fresher.start), fresher.bars)))


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
        """Take `window`, just read, for the bars from its start on."""
        held = self._windows.get(topic)
        self.put(topic, window if held is None else held.merged(window))

    def put(self, topic: Topic, window: Window) -> None:
        """Hold `window` for `topic`, cut to its newest `depth` bars."""
        if len(window.bars) > self.depth:
            kept = window.bars[len(window.bars) - self.depth :]
            window = Window(int(kept.times[0]), kept)
        self._windows[topic] = window
        self._windows.move_to_end(topic)
        while len(self._windows) > self._topics:
            self._windows.popitem(last=False)

    def windows(self) -> dict[Topic, Window]:
        """Every held topic's window, as they stand now (a copy: the poll thread reads it while the loop moves on)."""
        return dict(self._windows)

    def tails(self) -> dict[Topic, int]:
        """Each held topic and where a reload of its window begins (`Window.tail_start`)."""
        return {topic: window.tail_start(topic[1].seconds) for topic, window in self._windows.items()}

    def refresh(self, tails: dict[Topic, Window], regridded: set[str]) -> None:
        """After a change of the store: each topic of `tails` with its bars from the tail's start on reloaded; the
        others go (their instrument or resolution is no longer served). The older bars of `regridded` symbols (whose
        session or timezone changed) go too: they were made on another grid."""
        held = self._windows
        self._windows = OrderedDict()
        for topic, tail in tails.items():
            window = None if topic[0] in regridded else held.get(topic)
            self.put(topic, tail if window is None else window.merged(tail))

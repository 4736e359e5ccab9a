"""The broadcaster: every market tick, the forming bar of each watched topic goes to its subscribers.

It publishes through the broker: with memory:// straight to this process's hub; with Redis, once, to every
process whose clients watch the topic, and only while this process holds the broker's lease (`leading`). A process
that takes the lease over goes on from the bar times the previous broadcaster published (`Broker.last_times`), so
bars that closed during the hand-over go out with their final values and per topic `time` never goes back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Collection
from typing import NamedTuple

from app.broker.base import Broker, Update
from app.broker.memory import MemoryBroker
from app.market.bars import Bar
from app.market.feed import FeedUnavailableError, MarketFeed
from app.market.resolutions import Resolution
from app.paths import DATAFEED_PREFIX
from app.schemas.ws import MAX_REPLAY_BARS
from app.stats import BroadcasterStats
from app.ws.hub import Hub
from app.ws.protocol import Topic, TopicError, find_topic, update_frame

log = logging.getLogger(__name__)
# Topic names remembered (a broker's names come from other processes): a bound, whatever they send.
_MAX_NAMES = 100_000


# A bar's time (UTC ms) and its `bars.update` frame.
Framed = tuple[int, bytes]


class Catchup(NamedTuple):
    """A topic's frames, in this order: the bars that closed since the last frame (one, unless several arrived at
    once, as an import brings them), the forming bar; `changed`: whether the forming bar differs from the one last
    published to every subscriber (a newcomer's own does not count)."""

    closed: tuple[Framed, ...]
    forming: Framed | None
    changed: bool


def make_update(topic: Topic, framed: list[Framed]) -> Update:
    """One update of `topic` carrying `framed` in order."""
    ends, end = [], 0
    for _, frame in framed:
        end += len(frame)
        ends.append(end)
    return Update(topic.name, b"".join(frame for _, frame in framed), tuple(t for t, _ in framed), tuple(ends))


class Broadcaster:
    """Publishes live bars from a `MarketFeed`; does no work for topics nobody watches."""

    def __init__(
        self,
        feed: MarketFeed,
        hub: Hub,
        interval: float,
        *,
        enabled: bool = True,
        symbols: Collection[str] = (),
        resolutions: Collection[Resolution] = (),
        broker: Broker | None = None,
    ) -> None:
        self._feed = feed
        self._hub = hub
        self._broker: Broker = broker if broker is not None else MemoryBroker(hub.receive)
        # Set when this process takes the lease: the next tick first reads where the last broadcaster stopped.
        self._resuming = False
        # Topic names from the broker, resolved once: the topic, or None for a name this feed does not broadcast.
        self._named: dict[str, Topic | None] = {}
        self.interval = interval
        self.enabled = enabled
        self._symbols = frozenset(symbols)
        self._resolutions = frozenset(resolutions)
        # Per topic, the start (ms) of the last bar sent: a later bar means that one has closed.
        self._last_sent: dict[Topic, int] = {}
        # Per topic, the forming bar's frame last published to every subscriber (a newcomer's own does not count).
        self._published: dict[Topic, bytes] = {}
        self.running = False
        self.ticks = 0
        # Called after each tick with its lag: seconds from when the tick was due until its last update was
        # written (metrics set it). One call per tick, whatever the number of subscribers.
        self.lag_observer: Callable[[float], None] | None = None

    def leadership_changed(self, leading: bool) -> None:
        """The broker's news: this process now runs the broadcaster (or no longer does). Either way what was
        published before is another broadcaster's business: forgotten, or read back before the next tick."""
        self._last_sent.clear()
        self._published.clear()
        self._resuming = leading

    def stats(self) -> BroadcasterStats:
        """Whether it is enabled and running, its interval (seconds), ticks since start, whether this process leads."""
        return BroadcasterStats(
            self.enabled, self.running, self.interval, self.ticks, self.enabled and self._broker.leading
        )

    def broadcasts(self, topic: Topic) -> bool:
        """Whether this broadcaster streams `topic` (BAR_BROADCASTER_SYMBOLS/RESOLUTIONS, empty meaning all, at a
        resolution its instrument is served at: an imported one's stored resolutions and coarser)."""
        instrument = self._feed.instrument(topic.symbol)
        return (
            self.enabled
            and (not self._symbols or topic.symbol in self._symbols)
            and (not self._resolutions or topic.resolution in self._resolutions)
            and instrument is not None
            and topic.resolution in instrument.resolutions
        )

    def catch_up(self, topic: Topic) -> Catchup:
        """Bring `topic` up to date; the frames that say so, which the caller publishes.

        A tick sends both to the topic. A new subscriber joins between the two: the closed bar goes
        to those already there (so they see its final state), the forming bar to the newcomer alone,
        which the others get with the next tick. A newcomer costs O(1), not a broadcast, and per topic
        `time` never goes back for anyone.
        """
        bar = self._feed.live_bar(topic.symbol, topic.resolution)
        last = self._last_sent.get(topic)
        if last is not None and bar is not None and bar.time < last:
            # Older than a bar already published: a broadcaster that took over with its clock behind the last one's
            # waits until its own clock reaches that bar.
            return Catchup((), None, changed=False)
        self._last_sent.pop(topic, None)
        closed: tuple[Framed, ...] = ()
        if last is not None and (bar is None or bar.time > last):
            closed = self._closed_frames(topic, last, bar.time if bar is not None else None)
        if bar is None:
            return Catchup(closed, None, changed=False)
        self._last_sent[topic] = bar.time
        forming = update_frame(topic, bar.json)
        return Catchup(closed, (bar.time, forming), changed=forming != self._published.get(topic))

    async def check_since(self, topic: Topic, since: int, requester: str | None = None) -> None:
        """TopicError when more than MAX_REPLAY_BARS bars of `topic`, the forming one too, have `time >= since` (ms)."""
        now = self._feed.now()
        # Bars never outnumber half as many nominal periods (months, short session bars), so a recent
        # `since` needs no count; an older one is counted in bars that exist, not in periods.
        if since >= (now - MAX_REPLAY_BARS // 2 * topic.resolution.seconds) * 1000:
            return
        end = int(now) + 1
        try:
            found = await self._feed.load_history(
                topic.symbol, topic.resolution, end, end, MAX_REPLAY_BARS + 1, requester
            )
        except FeedUnavailableError as error:
            raise TopicError(str(error)) from None
        newest = found.bars
        if len(newest) > MAX_REPLAY_BARS and newest[0].time >= since:
            raise TopicError(
                f"since is more than {MAX_REPLAY_BARS} bars back: load older bars from {DATAFEED_PREFIX}/bars"
            )

    async def admit(self, topic: Topic, since: int | None, requester: str | None = None) -> bytes:
        """Bring `topic` up to date for its subscribers; the frames (one write) for a newcomer joining now.

        With `since` (ms, checked by `check_since`; its history made in the turn of `requester`, a client
        address): every bar with `time >= since`, closed bars with their final values, the forming bar last.
        Without: the forming bar. Either way at least the latest bar, even while the market is closed. Nothing
        awaits once the frames are made, so the caller subscribes the newcomer before the next tick and per
        topic `time` never goes back for it.
        """
        # The bars to send are made (or read) off the event loop first: the replay's with `since`, else the latest
        # one. What follows reads them from the feed's memory, so nothing awaits between the frames being made and
        # the newcomer joining. Without an answer from the feed's source (a store that is down), the newcomer gets
        # what the feed holds in memory.
        until = int(self._feed.now()) + 1
        start, count_back = (-(-since // 1000), 0) if since is not None else (until, 1)
        with contextlib.suppress(FeedUnavailableError):
            await self._feed.load_history(topic.symbol, topic.resolution, start, until, count_back, requester)
        # While the instrument trades, those already there get the forming bar with the next tick, as always: a
        # join costs O(1). Outside its session no tick sends an unchanged bar, so a changed one goes to them now.
        closed_market = not self._feed.is_trading(topic.symbol)
        catchup = self.catch_up(topic)
        while catchup.closed or (closed_market and catchup.forming is not None and catchup.changed):
            # Those already there see the bar's final state first; a bar may change or close during that publish.
            now = asyncio.get_running_loop().time()
            if catchup.closed:
                await self._hub.publish(topic, b"".join(frame for _, frame in catchup.closed), now)
            if closed_market and catchup.forming is not None and catchup.changed:
                self._published[topic] = catchup.forming[1]
                await self._hub.publish(topic, catchup.forming[1], now)
            catchup = self.catch_up(topic)
        if since is None and catchup.forming is not None:
            return catchup.forming[1]
        # The forming bar's start once catch_up has sent it; otherwise every bar up to now is closed.
        end = self._last_sent[topic] // 1000 if catchup.forming is not None else int(self._feed.now()) + 1
        bars = self._since(topic, since, end) if since is not None else []
        frames = [update_frame(topic, bar.json) for bar in bars]
        if catchup.forming is not None:
            frames.append(catchup.forming[1])
        elif not frames:
            latest = self._feed.history(topic.symbol, topic.resolution, end, end, 1).bars
            frames = [update_frame(topic, bar.json) for bar in latest]
        return b"".join(frames)

    def _since(self, topic: Topic, since: int, end: int) -> list[Bar]:
        # Bar times are whole seconds, so the first one at or after `since` ms starts at or after its ceiling.
        start = -(-since // 1000)
        return self._feed.history(topic.symbol, topic.resolution, start, end, 0).bars if start < end else []

    async def view(self, topic: Topic, since: int | None, requester: str | None = None) -> Update | None:
        """A newcomer's first frames with a shared broker, from this process's own feed, changing nothing: every bar
        with `time >= since` (ms; checked by `check_since`) and the live bar, or without `since` the live bar (the
        latest one while there is none); None when the topic has no bar at all. The stream from the broadcaster
        (maybe in another process) goes on from there: see `Hub.join`."""
        until = int(self._feed.now()) + 1
        start, count_back = (-(-since // 1000), 0) if since is not None else (until, 1)
        with contextlib.suppress(FeedUnavailableError):
            await self._feed.load_history(topic.symbol, topic.resolution, start, until, count_back, requester)
        bar = self._feed.live_bar(topic.symbol, topic.resolution)
        end = bar.time // 1000 if bar is not None else until
        bars = self._since(topic, since, end) if since is not None else []
        if bar is not None:
            bars.append(bar)
        elif not bars:
            bars = self._feed.history(topic.symbol, topic.resolution, end, end, 1).bars
        return make_update(topic, [(b.time, update_frame(topic, b.json)) for b in bars]) if bars else None

    async def tick(self, now: float) -> None:
        """While this process runs the broadcaster: bring every topic watched anywhere up to date and publish what
        changed (one publish for all topics); forget unwatched topics."""
        if not self._broker.leading:
            return
        self.ticks += 1
        if self._resuming:
            self._resuming = False
            await self._resume()
        watched = self._watched(await self._broker.watched(self._hub.topic_names))
        updates = []
        for topic in watched:
            closed, forming, changed = self.catch_up(topic)
            framed = list(closed)
            # While the instrument trades, every tick sends its forming bar; outside its session the bar (a closed
            # market's day, week or month) is sent only when it changed, so its latest bar goes out once.
            if forming is not None and (changed or self._feed.is_trading(topic.symbol)):
                self._published[topic] = forming[1]
                framed.append(forming)
            if framed:
                updates.append(make_update(topic, framed))
        for topic in self._last_sent.keys() - watched:
            del self._last_sent[topic]
        for topic in self._published.keys() - watched:
            del self._published[topic]
        await self._broker.publish(updates)

    async def _resume(self) -> None:
        """Go on from the bars the last broadcaster published (its topics that this one broadcasts)."""
        for name, time in (await self._broker.last_times()).items():
            topic = self._topic(name)
            if topic is not None:
                self._last_sent[topic] = time

    def _watched(self, names: Collection[str]) -> dict[Topic, None]:
        """The topics of `names` this feed broadcasts, in the order given (memory://: the order of subscription)."""
        return {topic: None for name in names if (topic := self._topic(name)) is not None}

    def _topic(self, name: str) -> Topic | None:
        """The topic a broker names, if this feed broadcasts it (names come from other processes, maybe of another
        version: an unknown one is skipped, not an error)."""
        if name in self._named:
            return self._named[name]
        topic = None
        prefix, _, rest = name.partition(":")
        symbol, _, resolution = rest.rpartition(":")
        if prefix == "bars" and symbol:
            with contextlib.suppress(TopicError):
                found = find_topic(self._feed, symbol, resolution)
                topic = found if found.name == name and self.broadcasts(found) else None
        if len(self._named) >= _MAX_NAMES:
            self._named.clear()
        self._named[name] = topic
        return topic

    def _closed_frames(self, topic: Topic, start_ms: int, next_ms: int | None) -> tuple[Framed, ...]:
        """The bars from the one last sent (`start_ms`) up to the live one (`next_ms`; None: up to now), with their
        complete values, exactly as history will serve them from now on."""
        start = start_ms // 1000
        end = next_ms // 1000 if next_ms is not None else int(self._feed.now()) + 1
        closed = self._feed.history(topic.symbol, topic.resolution, start, max(end, start + 1), 0).bars
        return tuple((bar.time, update_frame(topic, bar.json)) for bar in closed)

    async def run(self) -> None:
        """Tick every `interval` seconds on the loop's clock, without drifting, until cancelled."""
        loop = asyncio.get_running_loop()
        self.running = True
        next_tick = loop.time()
        try:
            while True:
                now = loop.time()
                try:
                    await self.tick(now)
                except Exception:
                    log.exception("Broadcaster tick failed")
                if self.lag_observer is not None:
                    self.lag_observer(loop.time() - next_tick)
                next_tick = max(next_tick + self.interval, loop.time())
                await asyncio.sleep(next_tick - loop.time())
        finally:
            self.running = False

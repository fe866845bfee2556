"""Fan-out of lobby events to the displays connected to this process.

Whoever commits a lobby change (this process, or another through PostgreSQL NOTIFY) calls
``notify(office, seq)``. One pump task reads the new events from the database and, in seq
order, writes each one's frame (encoded once) straight to every display that is up to date
and draining (``live``), and offers it to the bounded queue of every other display, whose own
task sends it (see connection.py). ``notify`` never awaits; a display whose queue is full is
marked lagging instead of slowing the others, and catches up from the database on its own.

Exactly one side writes to a display at a time: the pump while ``live``, the display's task
otherwise. The pump hands a display over (``live = False``, event queued) as soon as an event
does not follow its ``last`` seq or its socket stops draining; the task hands it back only
when its queue is empty and it has sent everything the pump has published.
"""

import asyncio
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from app.realtime.direct import DirectWriter, encode_text_frame

log = logging.getLogger(__name__)

# (office_id, after_seq, up_to_seq) → [(seq, serialised event)], oldest first.
FetchEvents = Callable[[str, int, int], Awaitable[list[tuple[int, str]]]]


@dataclass(eq=False)
class Subscription:
    office_id: str
    queue: "asyncio.Queue[tuple[int, str] | None]"
    direct: DirectWriter | None = None
    # The seq of the last event (or snapshot) sent to the display.
    last: int = 0
    # The pump writes to the display itself; its task only beats and reads.
    live: bool = False
    lagging: bool = False
    resume_from: int | None = None
    delivered: int = field(default=0)
    # loop.time() of the last message sent, for heartbeats after silence.
    sent_at: float = 0.0
    # The display's token: the hub's sweep closes the connection once it is revoked or expired.
    token_id: str | None = None
    # Set (code, reason) by end(): the display's task closes the socket with them.
    ending: tuple[int, str] | None = None
    ended: asyncio.Event = field(default_factory=asyncio.Event)

    def end(self, code: int, reason: str) -> None:
        """Ask the display's task to close the connection (the pump stops writing to it now)."""
        self.live = False
        if self.ending is None:
            self.ending = (code, reason)
        self.ended.set()

    def wake(self) -> None:
        """Ask the writer to look at its flags (resume, lagging) now."""
        try:
            self.queue.put_nowait(None)
        except asyncio.QueueFull:
            self.lagging = True

    def request_resume(self, after_seq: int) -> None:
        self.live = False
        self.resume_from = after_seq if self.resume_from is None else min(self.resume_from, after_seq)
        self.wake()


class Hub:
    def __init__(self, fetch: FetchEvents, *, queue_size: int = 64) -> None:
        self._fetch = fetch
        self._queue_size = queue_size
        self._by_office: dict[str, set[Subscription]] = defaultdict(set)
        self._published: dict[str, int] = {}
        self._wanted: dict[str, int] = {}
        self._wake = asyncio.Event()
        self.direct_writes = 0
        self.queued_writes = 0

    @contextmanager
    def subscribe(
        self,
        office_id: str,
        direct: DirectWriter | None = None,
        *,
        token_id: str | None = None,
    ) -> Iterator[Subscription]:
        subscription = Subscription(
            office_id, asyncio.Queue(self._queue_size), direct=direct, token_id=token_id
        )
        self._by_office[office_id].add(subscription)
        try:
            yield subscription
        finally:
            subscription.live = False
            subscribers = self._by_office.get(office_id)
            if subscribers is not None:
                subscribers.discard(subscription)
                if not subscribers:
                    del self._by_office[office_id]
                    self._published.pop(office_id, None)

    def offices(self) -> list[str]:
        return list(self._by_office)

    def subscriptions(self) -> list[Subscription]:
        return [s for subs in self._by_office.values() for s in subs]

    def end_token(self, token_id: str, code: int, reason: str) -> int:
        """Close every display connected with this token; returns how many."""
        ended = 0
        for subscription in self.subscriptions():
            if subscription.token_id == token_id:
                subscription.end(code, reason)
                ended += 1
        return ended

    def end_overfull(self, max_buffered: int, code: int, reason: str) -> int:
        """Cut every display with more than ``max_buffered`` unsent bytes (protocol pongs and
        closes are written past the send path, so this is the hard cap); returns how many."""
        cut = 0
        for subscription in self.subscriptions():
            writer = subscription.direct
            if writer is not None and writer.buffered() > max_buffered:
                writer.abort()
                subscription.end(code, reason)
                cut += 1
        return cut

    def connection_count(self) -> int:
        return sum(len(subs) for subs in self._by_office.values())

    def published_seq(self, office_id: str) -> int | None:
        return self._published.get(office_id)

    def may_go_live(self, subscription: Subscription) -> bool:
        """True when the pump can take over writing: nothing queued, nothing missed, draining."""
        if (
            subscription.direct is None
            or subscription.lagging
            or subscription.resume_from is not None
            or not subscription.queue.empty()
        ):
            return False
        published = self._published.get(subscription.office_id)
        if published is not None and subscription.last < published:
            return False
        return subscription.direct.ready()

    def notify(self, office_id: str, seq: int) -> None:
        """Events up to ``seq`` exist for the office; never blocks the caller."""
        if office_id not in self._by_office:
            return
        if seq > self._wanted.get(office_id, -1):
            self._wanted[office_id] = seq
            self._wake.set()

    async def run(self) -> None:
        """The pump: one task per process, events of each office fanned out in seq order."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._wanted:
                office_id, wanted = self._wanted.popitem()
                try:
                    await self._deliver(office_id, wanted)
                except Exception:
                    log.exception("lobby fan-out failed; retrying", extra={"office_id": office_id})
                    self.notify(office_id, wanted)
                    await asyncio.sleep(1.0)

    async def _deliver(self, office_id: str, wanted: int) -> None:
        published = self._published.get(office_id)
        if published is None:
            # No history kept for this office yet: start at the newest event. Displays that
            # are further behind fill their own gap from the database.
            published = wanted - 1
        if wanted <= published:
            return
        events = await self._fetch(office_id, published, wanted)
        subscribers = self._by_office.get(office_id)
        if not subscribers:
            return
        now = asyncio.get_running_loop().time()
        for seq, text in events:
            if seq <= published:
                continue
            self._fan_out(subscribers, seq, text, now)
            published = seq
        self._published[office_id] = published

    def _fan_out(self, subscribers: set[Subscription], seq: int, text: str, now: float) -> None:
        frame: bytes | None = None
        direct = queued = 0
        for subscription in subscribers:
            if subscription.ending is not None:
                continue
            if subscription.live:
                if seq <= subscription.last:
                    continue  # its task already sent it from the database
                writer = subscription.direct
                if seq == subscription.last + 1 and writer is not None and writer.ready():
                    if frame is None:
                        frame = encode_text_frame(text)
                    writer.write(frame)
                    subscription.last = seq
                    subscription.sent_at = now
                    subscription.delivered += 1
                    direct += 1
                    continue
                # Behind, ahead or not draining: its own task takes over from this event on.
                subscription.live = False
            if subscription.lagging:
                continue
            try:
                subscription.queue.put_nowait((seq, text))
                queued += 1
            except asyncio.QueueFull:
                # A stuck screen must never slow the others: it resyncs from the database.
                subscription.lagging = True
        self.direct_writes += direct
        self.queued_writes += queued

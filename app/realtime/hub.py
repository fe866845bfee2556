"""Fan-out of lobby events to the displays connected to this process.

Whoever commits a lobby change (this process, or another through PostgreSQL NOTIFY) calls
``notify(office, seq)``. One pump task reads the new events from the database, serialises each
once and offers it to every display's bounded queue. ``notify`` never awaits, and a display
whose queue is full is marked lagging instead of slowing the others; it then catches up from
the database on its own (see connection.py).
"""

import asyncio
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

# (office_id, after_seq, up_to_seq) → [(seq, serialised event)], oldest first.
FetchEvents = Callable[[str, int, int], Awaitable[list[tuple[int, str]]]]


@dataclass(eq=False)
class Subscription:
    office_id: str
    queue: "asyncio.Queue[tuple[int, str] | None]"
    lagging: bool = False
    resume_from: int | None = None
    delivered: int = field(default=0)

    def wake(self) -> None:
        """Ask the writer to look at its flags (resume, lagging) now."""
        try:
            self.queue.put_nowait(None)
        except asyncio.QueueFull:
            self.lagging = True

    def request_resume(self, after_seq: int) -> None:
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

    @contextmanager
    def subscribe(self, office_id: str) -> Iterator[Subscription]:
        subscription = Subscription(office_id, asyncio.Queue(self._queue_size))
        self._by_office[office_id].add(subscription)
        try:
            yield subscription
        finally:
            subscribers = self._by_office.get(office_id)
            if subscribers is not None:
                subscribers.discard(subscription)
                if not subscribers:
                    del self._by_office[office_id]
                    self._published.pop(office_id, None)

    def offices(self) -> list[str]:
        return list(self._by_office)

    def connection_count(self) -> int:
        return sum(len(subs) for subs in self._by_office.values())

    def published_seq(self, office_id: str) -> int | None:
        return self._published.get(office_id)

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
        for seq, text in events:
            for subscription in subscribers:
                if subscription.lagging:
                    continue
                try:
                    subscription.queue.put_nowait((seq, text))
                except asyncio.QueueFull:
                    # A stuck screen must never slow the others: it resyncs from the database.
                    subscription.lagging = True
            published = max(published, seq)
        self._published[office_id] = published

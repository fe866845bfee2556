"""Fan-out of lobby events to the displays connected to this process.

Whoever commits a lobby change (this process, or another through PostgreSQL NOTIFY) calls
``notify(office, seq)``. One pump task reads the new events from the database and, in seq
order, writes each one's frame (encoded once) straight to every display that is up to date
and draining (``live``), and offers it to the bounded queue of every other display, whose own
task sends it (see connection.py). ``notify`` never awaits; a display whose queue is full is
marked lagging instead of slowing the others, and catches up from the database on its own.

The hub also keeps, per office, what (re)connecting displays ask for most, so a reconnect storm
costs the server little: the last ``window_events`` events as the frames it already encoded for
the fan-out (a resume inside that window is served from memory, page by page, without a
database read), and the last snapshot, encoded once and shared by every display connecting
before the next event (or ``snapshot_ttl_s``).

Exactly one side writes to a display at a time: the pump while ``live``, the display's task
otherwise. The pump hands a display over (``live = False``, event queued) as soon as an event
does not follow its ``last`` seq or its socket stops draining; the task hands it back only
when its queue is empty and it has sent everything the pump has published.
"""

import asyncio
import itertools
import json
import logging
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from app.realtime.direct import DirectWriter, encode_text_frame
from app.realtime.messages import LobbySnapshot

log = logging.getLogger(__name__)

# (office_id, after_seq, up_to_seq) → [(seq, serialised event)], oldest first.
FetchEvents = Callable[[str, int, int], Awaitable[list[tuple[int, str]]]]
# (office_id, count) → (the channel's seq, [(seq, serialised event)] of its last ``count`` events).
RecentEvents = Callable[[str, int], Awaitable[tuple[int, list[tuple[int, str]]]]]
LoadSnapshot = Callable[[], Awaitable[LobbySnapshot]]

# The queue's seq for a message outside the sequence: sent as it comes, in queue order.
CONTROL_SEQ = -1

# Frames encoded per turn of the event loop while a window is loaded: the fan-out goes on.
_ENCODE_BATCH = 200


@dataclass(frozen=True)
class EncodedSnapshot:
    """A snapshot as sent: its seq and epoch and its JSON text."""

    seq: int
    epoch: str
    text: str
    made_at: float


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
        self.resume_from = (
            after_seq if self.resume_from is None else min(self.resume_from, after_seq)
        )
        self.wake()


class Hub:
    def __init__(
        self,
        fetch: FetchEvents,
        *,
        queue_size: int = 64,
        recent: RecentEvents | None = None,
        window_events: int = 5000,
        snapshot_ttl_s: float = 2.0,
    ) -> None:
        self._fetch = fetch
        self._queue_size = queue_size
        self._recent = recent
        self._window_size = max(0, window_events)
        self._snapshot_ttl_s = snapshot_ttl_s
        # office → [(seq, frame)], contiguous seqs, oldest first, at most window_events.
        self._windows: dict[str, deque[tuple[int, bytes]]] = {}
        self._window_loads: dict[str, asyncio.Task[None]] = {}
        # Offices whose window was loaded from the database: loaded once, not again for every
        # display asking from further back (those read the database page by page).
        self._window_loaded: set[str] = set()
        self._snapshots: dict[str, EncodedSnapshot] = {}
        self._snapshot_loads: dict[str, asyncio.Task[EncodedSnapshot]] = {}
        # For the README's figures and the tests: how connects and resumes were served.
        self.snapshot_reads = 0
        self.snapshot_hits = 0
        self.window_replays = 0
        self.window_loads = 0
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
                    # Nobody listens: notify() ignores the office from now on, so what is kept
                    # for it would go stale.
                    del self._by_office[office_id]
                    self._published.pop(office_id, None)
                    self._windows.pop(office_id, None)
                    self._window_loaded.discard(office_id)
                    self._snapshots.pop(office_id, None)

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
            # Nothing fanned out for this office yet: start at the newest event, or right after
            # the window when it was loaded just before. Displays that are further behind fill
            # their own gap.
            window = self._windows.get(office_id)
            end = window[-1][0] if window else None
            if end is not None and end < wanted <= end + self._queue_size:
                published = end
            else:
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
            frame = encode_text_frame(text)
            self._remember(office_id, seq, frame)
            self._fan_out(subscribers, seq, text, frame, now)
            published = seq
        self._published[office_id] = published

    def _remember(self, office_id: str, seq: int, frame: bytes) -> None:
        """Keep the event's frame in the office's window; the cached snapshot is now old."""
        self._snapshots.pop(office_id, None)
        if self._window_size == 0:
            return
        window = self._windows.get(office_id)
        if window is None:
            window = self._windows[office_id] = deque(maxlen=self._window_size)
        elif window and seq != window[-1][0] + 1:
            if seq <= window[-1][0]:
                return  # loaded from the database before the pump got to it
            window.clear()  # a gap: the window restarts here, contiguous
            self._window_loaded.discard(office_id)
        window.append((seq, frame))

    def _fan_out(
        self, subscribers: set[Subscription], seq: int, text: str, frame: bytes, now: float
    ) -> None:
        direct = queued = 0
        for subscription in subscribers:
            if subscription.ending is not None:
                continue
            if subscription.live:
                if seq <= subscription.last:
                    continue  # its task already sent it from the database
                writer = subscription.direct
                if seq == subscription.last + 1 and writer is not None and writer.ready():
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

    # Messages outside the sequence (display.test, display.settings)

    def control(self, office_id: str, text: str, token_id: str | None = None) -> int:
        """Send a message that is not a lobby event to the office's displays (those of one
        token when ``token_id`` is given), now; returns how many were reached. Never replayed:
        a display not connected now misses it (its next snapshot carries the settings)."""
        # The cached snapshot may carry settings this message changes.
        self._snapshots.pop(office_id, None)
        frame = encode_text_frame(text)
        reached = 0
        for subscription in list(self._by_office.get(office_id, ())):
            if subscription.ending is not None:
                continue
            if token_id is not None and subscription.token_id != token_id:
                continue
            writer = subscription.direct
            if subscription.live and writer is not None and writer.ready():
                # The pump's side writes: a whole frame between two events, never inside one.
                writer.write(frame)
                reached += 1
                continue
            subscription.live = False
            try:
                subscription.queue.put_nowait((CONTROL_SEQ, text))
                reached += 1
            except asyncio.QueueFull:
                subscription.lagging = True  # it catches up from the database; this is lost
        return reached

    def control_payload(self, payload: str) -> None:
        """A PostgreSQL notification of another (or this) process: {office, token, message}."""
        try:
            data = json.loads(payload)
            office_id, token_id, text = data["office"], data["token"], data["message"]
        except (ValueError, KeyError, TypeError):
            log.warning("unreadable display control notification ignored")
            return
        if isinstance(office_id, str) and isinstance(text, str):
            self.control(office_id, text, token_id if isinstance(token_id, str) else None)

    # Reconnects and resumes served from memory

    async def snapshot(self, office_id: str, load: LoadSnapshot) -> EncodedSnapshot:
        """The office's snapshot, encoded: read and serialised once for every display that
        connects before the next event is fanned out (and within ``snapshot_ttl_s``, since it
        carries the time and the day's waiting estimates)."""
        loop = asyncio.get_running_loop()
        cached = self._snapshots.get(office_id)
        if cached is not None and self._snapshot_fresh(office_id, cached, loop.time()):
            self.snapshot_hits += 1
            return cached
        task = self._snapshot_loads.get(office_id)
        if task is None:
            task = loop.create_task(self._load_snapshot(office_id, load))
            self._snapshot_loads[office_id] = task
            task.add_done_callback(lambda t: _done(self._snapshot_loads, office_id, t))
        else:
            self.snapshot_hits += 1
        # Shielded: a display that leaves while waiting does not cancel the others' read.
        encoded = await asyncio.shield(task)
        published = self._published.get(office_id)
        if published is not None and encoded.seq < published:
            # Read before an event this display subscribed too late to be sent: it would wait
            # for the next one to see it. Its own read is at least as new as the fan-out.
            encoded = await self._load_snapshot(office_id, load)
        return encoded

    def _snapshot_fresh(self, office_id: str, snapshot: EncodedSnapshot, now: float) -> bool:
        published = self._published.get(office_id)
        # Never older than what the pump has fanned out: a display given it would miss events.
        return (published is None or snapshot.seq >= published) and (
            now - snapshot.made_at < self._snapshot_ttl_s
        )

    async def _load_snapshot(self, office_id: str, load: LoadSnapshot) -> EncodedSnapshot:
        snapshot = await load()
        self.snapshot_reads += 1
        encoded = EncodedSnapshot(
            snapshot.seq,
            snapshot.epoch,
            snapshot.model_dump_json(),
            asyncio.get_running_loop().time(),
        )
        if office_id in self._by_office and self._snapshot_fresh(
            office_id, encoded, encoded.made_at
        ):
            self._snapshots[office_id] = encoded
        return encoded

    async def window_after(self, office_id: str, after_seq: int) -> list[tuple[int, bytes]] | None:
        """The frames of the events after ``after_seq`` up to the newest one fanned out (or
        loaded), from memory; None when the window does not reach back that far (the caller
        reads the database). Loads the window from the database once when it is missing."""
        events = self._window_slice(office_id, after_seq)
        if events is not None or self._recent is None or self._window_size == 0:
            return events
        if after_seq < 0 or office_id not in self._by_office:
            return None
        task = self._window_loads.get(office_id)
        if task is None:
            if office_id in self._window_loaded:
                return None
            task = asyncio.get_running_loop().create_task(self._load_window(office_id))
            self._window_loads[office_id] = task
            task.add_done_callback(lambda t: _done(self._window_loads, office_id, t))
        await asyncio.shield(task)
        return self._window_slice(office_id, after_seq)

    def _window_slice(self, office_id: str, after_seq: int) -> list[tuple[int, bytes]] | None:
        window = self._windows.get(office_id)
        if not window:
            return None
        first, end = window[0][0], window[-1][0]
        published = self._published.get(office_id)
        if published is not None and end < published:
            return None  # behind the fan-out (a load raced with it): not to be trusted
        if after_seq + 1 < first or after_seq > end:
            return None
        self.window_replays += 1
        return list(itertools.islice(window, after_seq + 1 - first, None))

    async def _load_window(self, office_id: str) -> None:
        assert self._recent is not None
        _, events = await self._recent(office_id, self._window_size)
        self.window_loads += 1
        if office_id not in self._by_office or not events:
            return
        loaded: deque[tuple[int, bytes]] = deque(maxlen=self._window_size)
        previous = None
        for index, (seq, text) in enumerate(events):
            if previous is not None and seq != previous + 1:
                loaded.clear()  # keep the newest contiguous run only
            loaded.append((seq, encode_text_frame(text)))
            previous = seq
            if index % _ENCODE_BATCH == _ENCODE_BATCH - 1:
                await asyncio.sleep(0)
        if office_id not in self._by_office:
            return
        self._window_loaded.add(office_id)
        current = self._windows.get(office_id)
        if current and current[0][0] <= loaded[-1][0] + 1 and current[-1][0] >= loaded[-1][0]:
            # The pump has appended since the read started: join the two runs.
            for seq, frame in current:
                if seq == loaded[-1][0] + 1:
                    loaded.append((seq, frame))
        elif current and current[-1][0] > loaded[-1][0]:
            return  # the fan-out is ahead and not joined to what was read: keep its window
        self._windows[office_id] = loaded


def _done(loads: dict[str, Any], office_id: str, task: "asyncio.Task[Any]") -> None:
    """A shared read is over: the next one starts afresh. Its error, if every display that
    waited for it has left, is logged here rather than lost."""
    loads.pop(office_id, None)
    if not task.cancelled() and task.exception() is not None:
        log.debug("lobby read for reconnecting displays failed", exc_info=task.exception())

"""Reconnecting and resuming displays are served from what the hub keeps in memory.

A room of displays that reconnects at once costs one snapshot read, and a resume within the
hub's window of recent events reads no database at all; further back, the paged database read
still serves it. Every guarantee stays: snapshot first, then every event once, in seq order,
written a page at a time only as fast as the display drains.
"""

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

from app.realtime.connection import DisplayConnection, DisplayOptions
from app.realtime.hub import Hub
from app.realtime.messages import LobbySnapshot
from tests.realtime.test_direct_writes import FakeWriter, Wire, WireSocket, seqs
from tests.realtime.test_slow_display import Feed


class CountingFeed(Feed):
    """The in-memory lobby, counting the reads a database would have served."""

    def __init__(self) -> None:
        super().__init__()
        self.snapshot_reads = 0
        self.replay_reads = 0
        self.recent_reads = 0

    async def snapshot(self, office_id: str) -> LobbySnapshot:
        self.snapshot_reads += 1
        taken = await super().snapshot(office_id)  # the state when the read began
        await asyncio.sleep(0.01)  # a read takes a moment: displays arrive meanwhile
        return taken

    async def events_after(
        self, office_id: str, after_seq: int, limit: int
    ) -> tuple[int, list[tuple[int, str]]]:
        self.replay_reads += 1
        return await super().events_after(office_id, after_seq, limit)

    async def recent(self, office_id: str, count: int) -> tuple[int, list[tuple[int, str]]]:
        self.recent_reads += 1
        first = max(0, self.seq - count)
        return self.seq, [(s, f"event {s}") for s in range(first + 1, self.seq + 1)]


@contextlib.asynccontextmanager
async def room(
    count: int, feed: CountingFeed, *, window_events: int = 5000, **options: Any
) -> AsyncIterator[tuple[Hub, list[Wire], list[WireSocket]]]:
    hub = Hub(feed.fetch, recent=feed.recent, window_events=window_events, snapshot_ttl_s=60)
    pump = asyncio.create_task(hub.run())
    settings = DisplayOptions(
        **{"heartbeat_s": 30, "send_timeout_s": 5, "history_limit": 1000, **options}
    )
    wires = [Wire() for _ in range(count)]
    sockets = [WireSocket(w) for w in wires]
    tasks = [
        asyncio.create_task(
            DisplayConnection(s, hub, feed, "office", settings, direct=FakeWriter(w)).run()
        )
        for s, w in zip(sockets, wires, strict=True)
    ]
    await asyncio.sleep(0.05)
    try:
        yield hub, wires, sockets
    finally:
        for task in tasks:
            task.cancel()
        pump.cancel()
        await asyncio.gather(*tasks, pump, return_exceptions=True)


async def publish(hub: Hub, feed: Feed, count: int) -> None:
    for _ in range(count):
        feed.seq += 1
        hub.notify("office", feed.seq)
        await asyncio.sleep(0.002)


def snapshot_seqs(wire: Wire) -> list[int]:
    return [json.loads(t)["seq"] for t in wire.texts if t.startswith("{")]


async def test_a_room_connecting_at_once_costs_one_snapshot_read() -> None:
    feed = CountingFeed()
    feed.seq = 7
    async with room(50, feed) as (_hub, wires, _):
        assert feed.snapshot_reads == 1
        assert all(snapshot_seqs(w) == [7] for w in wires)


async def test_the_next_event_makes_connecting_displays_read_a_new_snapshot() -> None:
    feed = CountingFeed()
    async with room(2, feed) as (hub, wires, _):
        await publish(hub, feed, 3)
        await asyncio.sleep(0.05)
        late = Wire()
        task = asyncio.create_task(
            DisplayConnection(
                WireSocket(late),
                hub,
                feed,
                "office",
                DisplayOptions(heartbeat_s=30, send_timeout_s=5, history_limit=1000),
                direct=FakeWriter(late),
            ).run()
        )
        await asyncio.sleep(0.05)
        await publish(hub, feed, 2)
        await asyncio.sleep(0.05)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    # Not the snapshot at seq 0 the first two got: that one would hide events 1-3 from it.
    assert snapshot_seqs(late) == [3] and seqs(late) == [4, 5]
    assert feed.snapshot_reads == 2
    assert all(seqs(w) == [1, 2, 3, 4, 5] for w in wires)


async def test_a_resume_within_the_window_reads_no_database() -> None:
    feed = CountingFeed()
    async with room(3, feed) as (hub, wires, sockets):
        await publish(hub, feed, 30)
        sockets[0].incoming.put_nowait(json.dumps({"type": "resume", "after_seq": 4}))
        await asyncio.sleep(0.05)
        await publish(hub, feed, 5)
        await asyncio.sleep(0.05)
    received = seqs(wires[0])
    restart = received.index(5, 5)
    assert received[:restart] == list(range(1, restart + 1))
    assert received[restart:] == list(range(5, 36))
    assert feed.replay_reads == 0 and feed.recent_reads == 0
    assert all(seqs(w) == list(range(1, 36)) for w in wires[1:])


async def test_history_from_before_the_server_started_is_loaded_once_for_everyone() -> None:
    feed = CountingFeed()
    feed.seq = 300  # events stored before any display connected to this process
    async with room(5, feed) as (hub, wires, sockets):
        for socket in sockets:
            socket.incoming.put_nowait(json.dumps({"type": "resume", "after_seq": 0}))
        await asyncio.sleep(0.1)
        await publish(hub, feed, 3)
        await asyncio.sleep(0.05)
    for wire in wires:
        assert snapshot_seqs(wire) == [300]
        assert seqs(wire) == list(range(1, 304))
    assert feed.recent_reads == 1 and feed.replay_reads == 0


async def test_a_resume_from_before_the_window_is_read_from_the_database() -> None:
    feed = CountingFeed()
    async with room(1, feed, window_events=10, replay_page=8) as (hub, wires, sockets):
        await publish(hub, feed, 30)
        sockets[0].incoming.put_nowait(json.dumps({"type": "resume", "after_seq": 2}))
        await asyncio.sleep(0.1)
        await publish(hub, feed, 2)
        await asyncio.sleep(0.05)
    received = seqs(wires[0])
    assert received[:30] == list(range(1, 31))
    assert received[30:] == list(range(3, 33))
    assert feed.replay_reads == 4  # 28 events, 8 a page


class FillingWriter(FakeWriter):
    """A socket whose buffer is full after each write until the display reads it."""

    def write(self, frames: bytes) -> None:
        super().write(frames)
        self.wire.draining = False


async def test_a_replay_from_memory_is_written_a_page_at_a_time_as_the_display_drains() -> None:
    feed = CountingFeed()
    hub = Hub(feed.fetch, recent=feed.recent)
    pump = asyncio.create_task(hub.run())
    options = DisplayOptions(heartbeat_s=30, send_timeout_s=5, history_limit=1000, replay_page=50)
    wire, watcher = Wire(), Wire()
    socket = WireSocket(wire)
    tasks = [
        asyncio.create_task(
            DisplayConnection(
                socket, hub, feed, "office", options, direct=FillingWriter(wire)
            ).run()
        ),
        asyncio.create_task(
            DisplayConnection(
                WireSocket(watcher), hub, feed, "office", options, direct=FakeWriter(watcher)
            ).run()
        ),
    ]
    await asyncio.sleep(0.05)
    wire.draining = False  # this display reads nothing for a while
    await publish(hub, feed, 400)
    await asyncio.sleep(0.05)
    socket.incoming.put_nowait(json.dumps({"type": "resume", "after_seq": 0}))
    await asyncio.sleep(0.05)
    assert seqs(wire) == []  # nothing written while its socket is full
    pages = [0]
    for _ in range(4):
        wire.draining = True  # it reads what it holds: one more page goes out, no more
        await asyncio.sleep(0.02)
        pages.append(len(seqs(wire)))
    # One page per drain (the first drain also lets out the one event its task was sending).
    steps = [after - before for before, after in zip(pages, pages[1:], strict=False)]
    assert steps[0] in (50, 51) and steps[1:] == [50, 50, 50]
    while len(seqs(wire)) < 400:
        wire.draining = True
        await asyncio.sleep(0.005)
    received = seqs(wire)
    # What it got before the resume, in order, then the whole replay.
    assert received[-400:] == list(range(1, 401))
    assert received[:-400] == list(range(1, len(received) - 399))
    assert seqs(watcher) == list(range(1, 401))
    assert feed.replay_reads == 0
    for task in tasks:
        task.cancel()
    pump.cancel()
    await asyncio.gather(*tasks, pump, return_exceptions=True)


async def test_a_display_joining_a_snapshot_read_overtaken_by_an_event_still_gets_it() -> None:
    feed = CountingFeed()
    hub = Hub(feed.fetch, recent=feed.recent, snapshot_ttl_s=60)
    pump = asyncio.create_task(hub.run())
    options = DisplayOptions(heartbeat_s=30, send_timeout_s=5, history_limit=1000)
    first, late = Wire(), Wire()
    connect = [
        asyncio.create_task(
            DisplayConnection(
                WireSocket(first), hub, feed, "office", options, direct=FakeWriter(first)
            ).run()
        )
    ]
    await asyncio.sleep(0.001)  # the first display's snapshot read (seq 0) is under way
    feed.seq = 1
    hub.notify("office", 1)  # event 1 is fanned out while it reads
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    # The late display subscribes after event 1 went out, and joins the read still running.
    connect.append(
        asyncio.create_task(
            DisplayConnection(
                WireSocket(late), hub, feed, "office", options, direct=FakeWriter(late)
            ).run()
        )
    )
    await asyncio.sleep(0.1)
    for task in connect:
        task.cancel()
    pump.cancel()
    await asyncio.gather(*connect, pump, return_exceptions=True)
    # Without waiting for a next event, each has event 1: in its snapshot or sent after it.
    for wire in (first, late):
        (snapshot,) = snapshot_seqs(wire)
        assert seqs(wire) == list(range(snapshot + 1, 2))


async def test_resumes_from_before_a_loaded_window_do_not_load_it_again() -> None:
    feed = CountingFeed()
    feed.seq = 50  # more history than the window holds
    async with room(3, feed, window_events=10) as (_hub, wires, sockets):
        for _ in range(3):
            for socket in sockets:
                socket.incoming.put_nowait(json.dumps({"type": "resume", "after_seq": 0}))
            await asyncio.sleep(0.6)  # however long apart
    for wire in wires:
        assert seqs(wire) == list(range(1, 51)) * 3
    # One window read at most; every resume from 0 is read from the database, page by page.
    assert feed.recent_reads == 1
    assert feed.replay_reads == 9

"""A display that stops reading is dropped without slowing the others."""

import asyncio
from datetime import UTC, datetime

from starlette.websockets import WebSocketDisconnect

from app.realtime.connection import DisplayConnection, DisplayOptions
from app.realtime.hub import Hub
from app.realtime.messages import LobbySnapshot, OfficeInfo


class Feed:
    """An in-memory lobby: events are just numbered strings."""

    def __init__(self) -> None:
        self.seq = 0

    async def snapshot(self, office_id: str) -> LobbySnapshot:
        return LobbySnapshot(
            seq=self.seq,
            epoch="e1",
            at=datetime.now(UTC),
            office=OfficeInfo(id=office_id, name_ja="本庁", name_en="Main"),
            called=[],
            queues=[],
        )

    async def events_after(
        self, office_id: str, after_seq: int, limit: int
    ) -> tuple[int, list[tuple[int, str]]]:
        return self.seq, [(s, f"event {s}") for s in range(after_seq + 1, self.seq + 1)][:limit]

    async def fetch(self, office_id: str, after_seq: int, up_to: int) -> list[tuple[int, str]]:
        return [(s, f"event {s}") for s in range(after_seq + 1, up_to + 1)]


class Socket:
    def __init__(self, stuck: bool = False) -> None:
        self.stuck = stuck
        self.sent: list[str] = []
        self.closed: int | None = None
        self._never = asyncio.Event()

    async def send_text(self, data: str) -> None:
        if self.stuck and self.sent:
            await self._never.wait()  # the TV froze after the snapshot
        self.sent.append(data)

    async def receive(self) -> dict[str, str]:
        await self._never.wait()
        return {"type": "websocket.disconnect"}

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        self.closed = code


async def test_stuck_display_is_closed_and_the_others_get_every_event() -> None:
    feed = Feed()
    hub = Hub(feed.fetch, queue_size=4)
    pump = asyncio.create_task(hub.run())
    options = DisplayOptions(heartbeat_s=30, send_timeout_s=0.3, history_limit=1000)
    stuck, healthy = Socket(stuck=True), Socket()
    tasks = [
        asyncio.create_task(DisplayConnection(s, hub, feed, "office", options).run())
        for s in (stuck, healthy)
    ]
    await asyncio.sleep(0.05)
    for _ in range(50):
        feed.seq += 1
        hub.notify("office", feed.seq)
        await asyncio.sleep(0.002)
    await asyncio.wait_for(tasks[0], 2)
    await asyncio.sleep(0.1)
    assert stuck.closed == 1013
    assert healthy.sent[1:] == [f"event {s}" for s in range(1, 51)]
    assert healthy.closed is None
    assert hub.connection_count() == 1
    tasks[1].cancel()
    pump.cancel()
    await asyncio.gather(*tasks, pump, return_exceptions=True)


async def test_lagging_display_catches_up_from_history_instead_of_dropping_events() -> None:
    feed = Feed()
    hub = Hub(feed.fetch, queue_size=2)
    pump = asyncio.create_task(hub.run())
    socket = Socket()
    options = DisplayOptions(heartbeat_s=30, send_timeout_s=1, history_limit=1000)
    with hub.subscribe("office") as watcher:
        task = asyncio.create_task(DisplayConnection(socket, hub, feed, "office", options).run())
        await asyncio.sleep(0.05)
        feed.seq = 1
        hub.notify("office", 1)
        await asyncio.sleep(0.05)
        # A burst larger than the queue, delivered without yielding: the display lags.
        feed.seq = 30
        hub.notify("office", 30)
        await asyncio.sleep(0.2)
        assert watcher.lagging
    assert socket.sent[1:] == [f"event {s}" for s in range(1, 31)]
    task.cancel()
    pump.cancel()
    await asyncio.gather(task, pump, return_exceptions=True)


class GoneSocket(Socket):
    """A display that hung up as it connected: the server's first send fails."""

    async def send_text(self, data: str) -> None:
        raise WebSocketDisconnect(code=1006)


async def test_a_display_gone_before_its_snapshot_ends_quietly_and_leaves_nothing_behind() -> None:
    feed = Feed()
    hub = Hub(feed.fetch)
    options = DisplayOptions(heartbeat_s=30, send_timeout_s=1, history_limit=1000)
    # No exception reaches the server (which would log it with a traceback, once per hang-up).
    await asyncio.wait_for(DisplayConnection(GoneSocket(), hub, feed, "office", options).run(), 5)
    assert hub.connection_count() == 0

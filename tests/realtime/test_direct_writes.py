"""Frames written straight to display sockets: same guarantees as the per-display path.

The pump writes an event to every up-to-date display that drains; a display that falls behind,
stops draining or asks to resume is handed back to its own task. Either way a display sees
every event once, in seq order.
"""

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from app.realtime.connection import DisplayConnection, DisplayOptions
from app.realtime.hub import Hub
from app.settings import DisplaySettings
from app.storage import lobby as lobby_store
from app.storage.db import create_engine, make_sessionmaker
from tests.realtime.test_slow_display import Feed, Socket
from tests.support import LiveServer, Office, make_settings, run_server, seed

# -- the pump and the display task, with a socket and a direct writer that share one wire ----


class Wire:
    """What one display received, whichever path wrote it."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.flowing = asyncio.Event()
        self.flowing.set()
        self.direct = 0

    @property
    def draining(self) -> bool:
        return self.flowing.is_set()

    @draining.setter
    def draining(self, value: bool) -> None:
        if value:
            self.flowing.set()
        else:
            self.flowing.clear()


class FakeWriter:
    def __init__(self, wire: Wire) -> None:
        self.wire = wire

    def ready(self) -> bool:
        return self.wire.draining

    def write(self, frames: bytes) -> None:
        assert self.wire.draining, "written to while not draining"
        while frames:  # one frame from the pump, a page of them from a replay
            length = frames[1] & 0x7F
            offset = 2 if length < 126 else 4 if length == 126 else 10
            if length >= 126:
                length = int.from_bytes(frames[2:offset], "big")
            self.wire.texts.append(frames[offset : offset + length].decode())
            frames = frames[offset + length :]
            self.wire.direct += 1

    async def drained(self) -> None:
        await self.wire.flowing.wait()

    def close_behind(self, code: int, reason: str, grace_s: float) -> None:
        self.wire.texts.append(f"close {code}")


class WireSocket(Socket):
    def __init__(self, wire: Wire) -> None:
        super().__init__()
        self.wire = wire
        self.incoming: asyncio.Queue[str] = asyncio.Queue()

    async def send_text(self, data: str) -> None:
        await self.wire.flowing.wait()
        self.wire.texts.append(data)

    async def receive(self) -> dict[str, str]:
        return {"type": "websocket.receive", "text": await self.incoming.get()}


def seqs(wire: Wire) -> list[int]:
    return [int(t.split()[1]) for t in wire.texts if t.startswith("event ")]


@contextlib.asynccontextmanager
async def displays(
    count: int, feed: Feed, **options: Any
) -> AsyncIterator[tuple[Hub, list[Wire], list[WireSocket]]]:
    hub = Hub(feed.fetch)
    pump = asyncio.create_task(hub.run())
    settings = DisplayOptions(
        **{"heartbeat_s": 30, "send_timeout_s": 5, "history_limit": 1000, **options}
    )
    wires = [Wire() for _ in range(count)]
    sockets = [WireSocket(w) for w in wires]
    connections = [
        DisplayConnection(s, hub, feed, "office", settings, direct=FakeWriter(w))
        for s, w in zip(sockets, wires, strict=True)
    ]
    tasks = [asyncio.create_task(c.run()) for c in connections]
    await asyncio.sleep(0.05)
    try:
        yield hub, wires, sockets
    finally:
        for task in tasks:
            task.cancel()
        pump.cancel()
        await asyncio.gather(*tasks, pump, return_exceptions=True)


async def publish(hub: Hub, feed: Feed, count: int, pause_s: float = 0.002) -> None:
    for _ in range(count):
        feed.seq += 1
        hub.notify("office", feed.seq)
        await asyncio.sleep(pause_s)


async def test_up_to_date_displays_are_written_by_the_pump() -> None:
    feed = Feed()
    async with displays(3, feed) as (hub, wires, _):
        await publish(hub, feed, 40)
        await asyncio.sleep(0.05)
    for wire in wires:
        assert seqs(wire) == list(range(1, 41))
        assert wire.direct == 40  # none of them went through its own task
    assert hub.direct_writes == 120 and hub.queued_writes == 0


async def test_a_display_that_stops_draining_is_handed_back_and_misses_nothing() -> None:
    feed = Feed()
    async with displays(3, feed) as (hub, wires, _):
        await publish(hub, feed, 10)
        wires[0].draining = False  # a TV whose socket fills up for a moment
        await publish(hub, feed, 20)
        assert len(seqs(wires[0])) < 30
        wires[0].draining = True
        await asyncio.sleep(0.1)
        await publish(hub, feed, 10)
        await asyncio.sleep(0.05)
    for wire in wires:
        assert seqs(wire) == list(range(1, 41))
    # The stalled one went back to the direct path once it had caught up.
    assert 10 < wires[0].direct < 40 and wires[1].direct == 40


async def test_a_display_that_stays_stuck_is_closed_with_1013() -> None:
    feed = Feed()
    async with displays(2, feed, send_timeout_s=0.2) as (hub, wires, _):
        await publish(hub, feed, 5)
        wires[0].draining = False
        await publish(hub, feed, 20)
        await asyncio.sleep(0.4)
        assert wires[0].texts[-1] == "close 1013"
        assert hub.connection_count() == 1
        await publish(hub, feed, 5)
        await asyncio.sleep(0.05)
    assert seqs(wires[1]) == list(range(1, 31))


async def test_resume_while_written_directly_replays_a_contiguous_sequence() -> None:
    feed = Feed()
    async with displays(2, feed) as (hub, wires, sockets):
        await publish(hub, feed, 20)
        sockets[0].incoming.put_nowait(json.dumps({"type": "resume", "after_seq": 12}))
        await publish(hub, feed, 10)
        await asyncio.sleep(0.05)
    received = seqs(wires[0])
    restart = received.index(13, 13)  # the replay starts after 12, wherever the live stream was
    assert received[:restart] == list(range(1, restart + 1))
    assert received[restart:] == list(range(13, 31))
    assert seqs(wires[1]) == list(range(1, 31))


async def test_a_display_behind_the_pump_catches_up_from_history_first() -> None:
    feed = Feed()
    feed.seq = 5
    async with displays(1, feed) as (hub, wires, _):
        # The pump starts at the newest event; the display, whose snapshot is older, fills
        # the gap from history and then goes back to direct writes.
        feed.seq = 40
        hub.notify("office", 40)
        await asyncio.sleep(0.1)
        await publish(hub, feed, 5)
        await asyncio.sleep(0.05)
    assert seqs(wires[0]) == list(range(6, 46))
    assert wires[0].direct >= 5


# -- a real uvicorn server and real websocket clients ---------------------------------------


@contextlib.asynccontextmanager
async def live_server(database_url: str, **display: Any) -> AsyncIterator[LiveServer]:
    """The app under uvicorn's default websocket protocol, compression on offer."""
    settings = make_settings(
        database_url, display=DisplaySettings(**{"heartbeat_s": 30.0, **display})
    )
    async with run_server(settings, ws="websockets-sansio", ws_per_message_deflate=True) as live:
        yield live


async def append_events(
    server: LiveServer, office: Office, count: int, padding: int = 0, pause_s: float = 0.0
) -> int:
    """Commit ``count`` lobby events one by one, as the commands do, and tell the hub of each."""
    engine = create_engine(server.settings.database_url)
    seq = 0
    try:
        for index in range(count):
            async with make_sessionmaker(engine)() as session:
                seq = await lobby_store.append_event(
                    session,
                    municipality_code="431001",
                    office_id=office.id,
                    type_="ticket.issued",
                    at=datetime.now(UTC),
                    data={"number": f"Z-{index:03d}", "queues": [], "pad": "x" * padding},
                )
                await session.commit()
            server.app.state.resources.hub.notify(office.id, seq)
            await asyncio.sleep(pause_s)
    finally:
        await engine.dispose()
    return seq


async def read_until(ws: ClientConnection, seq: int) -> list[int]:
    seen: list[int] = []
    async with asyncio.timeout(10):
        while not seen or seen[-1] < seq:
            message = json.loads(await ws.recv())
            if message["type"] not in ("heartbeat", "lobby.snapshot"):
                seen.append(message["seq"])
    return seen


async def test_compressed_and_direct_displays_receive_identical_streams(clean_db: str) -> None:
    async with live_server(clean_db) as server:
        office = Office(await seed(clean_db))
        url = server.lobby_ws(office.id, office.token("display"))
        async with (
            connect(url, compression=None) as plain,
            connect(url, compression="deflate") as deflated,
        ):
            for ws in (plain, deflated):
                assert json.loads(await ws.recv())["type"] == "lobby.snapshot"
            assert deflated.protocol.extensions and not plain.protocol.extensions
            last = await append_events(server, office, 60)
            assert await read_until(plain, last) == list(range(1, last + 1))
            assert await read_until(deflated, last) == list(range(1, last + 1))
        hub = server.app.state.resources.hub
        # The plain display was written to directly; the compressed one through its own task.
        assert hub.direct_writes >= 50 and hub.queued_writes >= 60


@contextlib.asynccontextmanager
async def stuck_and_healthy(
    server: LiveServer, office: Office
) -> AsyncIterator[tuple[ClientConnection, ClientConnection, int]]:
    """A TV that stops reading after its snapshot (a tiny receive buffer) and one that reads;
    more events than the kernel's loopback buffers (a few MB) hold are committed meanwhile."""
    url = server.lobby_ws(office.id, office.token("display"))
    stuck_socket = socket.socket()
    stuck_socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stuck_socket.setblocking(False)
    port = int(server.url.rsplit(":", 1)[1])
    await asyncio.get_running_loop().sock_connect(stuck_socket, ("127.0.0.1", port))
    async with (
        connect(url, sock=stuck_socket, compression=None, max_queue=1) as stuck,
        # The healthy one reads everything as it comes (no queue limit), however late this test
        # gets to look at it on a busy machine.
        connect(url, compression=None, max_size=2**24, max_queue=None) as healthy,
    ):
        await stuck.recv()
        await healthy.recv()
        last = 0
        for _ in range(6):
            last = await append_events(server, office, 10, padding=120_000)
            await asyncio.sleep(0.05)
        assert await read_until(healthy, last) == list(range(1, last + 1))
        hub = server.app.state.resources.hub
        async with asyncio.timeout(10):
            # The server has given up on the stuck one (the hub has no event to wait on).
            while hub.connection_count() > 1:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
        yield stuck, healthy, last


async def read_to_the_end(ws: ClientConnection) -> tuple[list[int], ConnectionClosed]:
    seen: list[int] = []
    try:
        async with asyncio.timeout(10):
            while True:
                message = json.loads(await ws.recv())
                if message["type"] != "lobby.snapshot":
                    seen.append(message["seq"])
    except ConnectionClosed as closed:
        return seen, closed
    raise AssertionError("the connection was not closed")  # pragma: no cover


async def test_slow_display_is_closed_with_1013_while_the_others_get_every_event(
    clean_db: str,
) -> None:
    async with live_server(clean_db, send_timeout_s=1.0) as server:
        office = Office(await seed(clean_db))
        async with stuck_and_healthy(server, office) as (stuck, healthy, last):
            # It reads again: the backlog, then the close frame that tells it to reconnect.
            seen, closed = await read_to_the_end(stuck)
            assert closed.rcvd is not None and closed.rcvd.code == 1013
            assert seen == list(range(1, len(seen) + 1)) and len(seen) < last
            # The healthy one goes on, written to directly.
            more = await append_events(server, office, 5)
            assert await read_until(healthy, more) == list(range(last + 1, more + 1))


async def test_a_display_that_never_reads_again_is_cut_off(clean_db: str) -> None:
    async with live_server(clean_db, send_timeout_s=0.5) as server:
        office = Office(await seed(clean_db))
        async with stuck_and_healthy(server, office) as (stuck, _healthy, last):
            # Past the send timeout the close frame still waits behind unread data: the
            # connection is dropped, and what it had not read goes with it.
            await asyncio.sleep(1.5)
            seen, closed = await read_to_the_end(stuck)
            assert closed.rcvd is None
            assert seen == list(range(1, len(seen) + 1)) and len(seen) < last


async def test_display_resuming_mid_stream_gets_a_contiguous_sequence(clean_db: str) -> None:
    async with live_server(clean_db) as server:
        office = Office(await seed(clean_db))
        await append_events(server, office, 10)
        url = server.lobby_ws(office.id, office.token("display"))
        async with connect(url, compression=None) as ws:
            assert json.loads(await ws.recv())["seq"] == 10
            writer = asyncio.create_task(append_events(server, office, 30, pause_s=0.01))
            stream = await read_until(ws, 15)
            await ws.send(json.dumps({"type": "resume", "after_seq": 12}))
            async with asyncio.timeout(10):
                while 13 not in stream[5:] or stream[-1] < 40:
                    message = json.loads(await ws.recv())
                    if message["type"] != "heartbeat":
                        stream.append(message["seq"])
            await writer
        assert server.app.state.resources.hub.direct_writes > 0
        restart = stream.index(13, 5)
        # Up to the resume, the live stream; from there 13, 14, ... 40 with nothing missing.
        assert stream[:restart] == list(range(11, 11 + restart))
        assert stream[restart:] == list(range(13, 41))

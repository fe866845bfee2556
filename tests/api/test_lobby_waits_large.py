"""A large lobby's waits for the displays are replayed at most once a second per office: the
events in between carry the last replay's waits, and a plain ticket issued then is given its
category's wait from that replay, without reading the lobby again. Small lobbies replay at
every event (tests/api/test_lobby_estimates.py).

Here "large" is lowered to four residents waiting; category A of the demo office is served by
three counters at 420 s a resident by default.
"""

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

from sqlalchemy import event
from websockets.asyncio.client import connect

from app.settings import LobbySettings
from tests.support import LiveServer, Office, make_settings, run_server, seed
from tests.support_thread import FakeClock, office_hours_today


@contextmanager
def lobby_reads(server: LiveServer) -> Iterator[list[str]]:
    """The statements that read the whole lobby (tickets waiting or at counters, counters)."""
    engine = server.app.state.resources.engine.sync_engine
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "stops" in statement and "paused" in statement:
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


async def issue(server: LiveServer, office: Office, **extra: Any) -> dict[str, Any]:
    async with server.client(office.token("kiosk")) as kiosk:
        body = {"category": office.category("A"), **extra}
        response = await kiosk.post(f"/offices/{office.id}/tickets", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def next_event(display: Any) -> dict[str, Any]:
    while (received := json.loads(await display.recv()))["type"] == "heartbeat":
        pass
    return dict(received)


def wait_of_a(lobby_event: dict[str, Any]) -> tuple[int, int]:
    queue = next(q for q in lobby_event["data"]["queues"] if q["prefix"] == "A")
    return queue["waiting"], queue["estimate_min"]


@asynccontextmanager
async def large_lobby(clean_db: str) -> AsyncIterator[tuple[LiveServer, Office, FakeClock]]:
    """The demo office where four residents waiting make a large lobby, on a clock the test
    moves."""
    clock = FakeClock(office_hours_today())
    lobby = LobbySettings(no_show_grace_s=0, replay_every_event_below=4, replay_interval_s=1.0)
    async with run_server(make_settings(clean_db, lobby=lobby), clock=clock) as server:
        yield server, Office(await seed(clean_db)), clock


async def test_a_large_lobby_is_replayed_at_most_once_a_second_for_its_displays(
    clean_db: str,
) -> None:
    async with (
        large_lobby(clean_db) as (server, office, clock),
        connect(server.lobby_ws(office.id, office.token("display"))) as display,
    ):
        await display.recv()  # the snapshot
        for _ in range(4):
            clock.advance(1)
            await issue(server, office)
            replayed = await next_event(display)
        # Four wait on three free counters at 420 s: a new one waits 7 minutes.
        assert wait_of_a(replayed) == (4, 7)
        with lobby_reads(server) as reads:
            clock.advance(0.2)
            fifth = await issue(server, office)
            carried = await next_event(display)
            clock.advance(0.2)
            sixth = await issue(server, office)
            carried_again = await next_event(display)
        # Within the second: no lobby read; the counts are exact, the waits the replay's.
        assert reads == []
        assert wait_of_a(carried) == (5, 7) and wait_of_a(carried_again) == (6, 7)
        # The fifth came right after the replayed event: its wait is exactly that one's.
        assert fifth["estimate_min"] == 7
        # The sixth is given the last replay's wait (one event behind, under a second old);
        # here it is also its own: the fourth to sixth go in the second round.
        assert (sixth["ahead"], sixth["estimate_min"]) == (5, 7)
        # A priority ticket passes the others: never from the last replay.
        with lobby_reads(server) as reads:
            clock.advance(0.2)
            urgent = await issue(server, office, is_priority=True)
            exact = await next_event(display)
        assert len(reads) == 1
        assert (urgent["ahead"], urgent["estimate_min"]) == (0, 0)
        # Seven wait now; a replay: three at once, three at 7 min, the seventh and a new one
        # at 14 (two counters free then).
        assert wait_of_a(exact) == (7, 14)
        # A second after the last replay, the next event replays again.
        with lobby_reads(server) as reads:
            clock.advance(1.0)
            async with server.client(office.token("counter")) as counter:
                called = await counter.post(f"/counters/{office.counter('2')}/call-next")
            assert called.status_code == 200
            call = await next_event(display)
        assert len(reads) == 1
        assert call["type"] == "ticket.called"
        assert wait_of_a(call)[0] == 6


async def test_below_the_bar_every_event_is_replayed(clean_db: str) -> None:
    clock = FakeClock(office_hours_today())
    lobby = LobbySettings(no_show_grace_s=0, replay_every_event_below=100)
    async with run_server(make_settings(clean_db, lobby=lobby), clock=clock) as server:
        office = Office(await seed(clean_db))
        answers = []
        with lobby_reads(server) as reads:
            for _ in range(5):
                clock.advance(0.1)
                answers.append(await issue(server, office))
        assert len(reads) == 5
        # Three free counters take the first three; the fourth and fifth wait one round.
        assert [a["estimate_min"] for a in answers] == [0, 0, 0, 7, 7]


async def test_a_display_connecting_to_a_large_lobby_takes_the_last_replays_waits(
    clean_db: str,
) -> None:
    async with large_lobby(clean_db) as (server, office, clock):
        for _ in range(5):
            clock.advance(1)
            issued = await issue(server, office)
        # Five wait on three free counters: the fourth and fifth go in the second round.
        assert issued["estimate_min"] == 7
        clock.advance(0.3)
        with lobby_reads(server) as reads:
            async with connect(server.lobby_ws(office.id, office.token("display"))) as display:
                snapshot = json.loads(await display.recv())
        # Under a second after the last event's replay: its waits, no lobby read.
        assert reads == []
        shown = next(q for q in snapshot["queues"] if q["prefix"] == "A")
        assert (shown["waiting"], shown["estimate_min"]) == (5, 7)
        # Later, a display connecting replays the lobby, and the next event reuses that replay.
        clock.advance(2)
        with lobby_reads(server) as reads:
            async with connect(server.lobby_ws(office.id, office.token("display"))) as display:
                snapshot = json.loads(await display.recv())
                clock.advance(0.3)
                sixth = await issue(server, office)
                carried = await next_event(display)
        assert len(reads) == 1
        assert wait_of_a(carried) == (6, 7) and sixth["estimate_min"] == 7

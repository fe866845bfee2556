"""A kiosk press right after an event this process replayed starts from that event's waiting
tickets and reads only the office's counters (app/services/lobby_waits.py ``waiting_before``):
the waits it carries are those of a full replay, other categories, priority tickets and calls in
between included, and a change to a waiting ticket that took no seq is not carried over."""

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import pytest
from sqlalchemy import text
from websockets.asyncio.client import connect

from app.services import lobby_waits
from app.settings import LobbySettings
from app.storage import lobby_reads
from app.storage.db import create_engine
from tests.support import LiveServer, Office, make_settings, run_server, seed
from tests.support_thread import FakeClock, office_hours_today


@contextmanager
def waiting_reads(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[bool]]:
    """For each lobby read of an event: whether it read the waiting tickets."""
    seen: list[bool] = []
    read = lobby_reads.read_for_event

    async def spy(*args: Any, **kwargs: Any) -> lobby_reads.EventReads:
        if kwargs.get("with_lobby"):
            seen.append(kwargs.get("with_waiting", True))
        return await read(*args, **kwargs)

    monkeypatch.setattr(lobby_reads, "read_for_event", spy)
    yield seen
    monkeypatch.setattr(lobby_reads, "read_for_event", read)


@asynccontextmanager
async def lobby_server(clean_db: str) -> AsyncIterator[tuple[LiveServer, Office, FakeClock]]:
    """A server on a fake clock within office hours, its demo office, nothing kept from before."""
    lobby_waits.forget()
    clock = FakeClock(office_hours_today())
    settings = make_settings(clean_db, lobby=LobbySettings(no_show_grace_s=0))
    async with run_server(settings, clock=clock) as server:
        yield server, Office(await seed(clean_db)), clock


async def next_event(display: Any) -> dict[str, Any]:
    while (received := json.loads(await display.recv()))["type"] == "heartbeat":
        pass
    return dict(received)


async def snapshot_waits(server: LiveServer, office: Office) -> dict[str, tuple[int, int]]:
    """Each category's (waiting, wait) as a display connecting now is shown: a full replay."""
    async with connect(server.lobby_ws(office.id, office.token("display"))) as display:
        snapshot = json.loads(await display.recv())
    return {q["prefix"]: (q["waiting"], q["estimate_min"]) for q in snapshot["queues"]}


def event_waits(lobby_event: dict[str, Any]) -> dict[str, tuple[int, int]]:
    return {q["prefix"]: (q["waiting"], q["estimate_min"]) for q in lobby_event["data"]["queues"]}


async def test_presses_after_this_processs_events_carry_a_full_replays_waits(
    clean_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with lobby_server(clean_db) as (server, office, clock):
        presses = [("A", False), ("B", False), ("A", False), ("C", True), ("A", False)]
        presses += [("B", False), ("A", False), ("C", False), ("A", True), ("B", False)]
        with waiting_reads(monkeypatch) as reads:
            async with (
                server.client(office.token("kiosk")) as kiosk,
                server.client(office.token("counter")) as counter,
                connect(server.lobby_ws(office.id, office.token("display"))) as display,
            ):
                await display.recv()  # the snapshot
                for index, (prefix, urgent) in enumerate(presses):
                    clock.advance(30)
                    if index == 6:
                        called = await counter.post(f"/counters/{office.counter('2')}/call-next")
                        assert called.status_code == 200
                        await next_event(display)
                    issued = await kiosk.post(
                        f"/offices/{office.id}/tickets",
                        json={"category": office.category(prefix), "is_priority": urgent},
                    )
                    assert issued.status_code == 201, issued.text
                    carried = event_waits(await next_event(display))
                    full = await snapshot_waits(server, office)
                    assert carried == {p: full[p] for p in carried}, index
    # The first press read the waiting tickets, and the call (the tickets after it are known
    # then); every press started from the event before its own.
    assert reads == [True, *[False] * 5, True, *[False] * 4]


async def test_a_waiting_ticket_changed_without_a_seq_is_read_again(
    clean_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with lobby_server(clean_db) as (server, office, clock):
        async with server.client(office.token("kiosk")) as kiosk:
            for _ in range(5):
                clock.advance(10)
                issued = await kiosk.post(
                    f"/offices/{office.id}/tickets", json={"category": office.category("A")}
                )
                assert issued.status_code == 201
            # Outside the lobby's events: four of A's five waiting residents are gone.
            engine = create_engine(clean_db)
            try:
                async with engine.begin() as connection:
                    await connection.execute(
                        text(
                            "DELETE FROM ticket WHERE id IN (SELECT id FROM ticket"
                            " WHERE category_id = :category ORDER BY queued_at LIMIT 4)"
                        ),
                        {"category": office.category("A")},
                    )
            finally:
                await engine.dispose()
            with waiting_reads(monkeypatch) as reads:
                clock.advance(10)
                sixth = await kiosk.post(
                    f"/offices/{office.id}/tickets", json={"category": office.category("A")}
                )
        full = await snapshot_waits(server, office)
    # Started from the tickets known, found the counts wrong, read them all: the sixth has
    # one resident ahead and three counters free (with the five known it would wait 7 min).
    assert reads == [False]
    assert (sixth.json()["ahead"], sixth.json()["estimate_min"]) == (1, 0)
    assert full["A"] == (2, 0)

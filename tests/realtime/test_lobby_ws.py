"""The lobby channel as a display sees it: snapshot, contiguous events, resume, heartbeats."""

import asyncio
import json
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from app.settings import DisplaySettings
from app.storage import lobby as lobby_store
from app.storage.db import create_engine, make_sessionmaker
from tests.api.test_lobby_flow import QUEUE_KEYS
from tests.support import LiveServer, Office, make_settings, run_server, seed


async def receive(ws: ClientConnection, timeout: float = 5.0) -> dict[str, Any]:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def receive_events(ws: ClientConnection, count: int) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    while len(events) < count:
        message = await receive(ws)
        if message["type"] != "heartbeat":
            events.append(message)
    return events


async def issue(server: LiveServer, office: Office, n: int = 1) -> list[dict[str, Any]]:
    async with server.client(office.token("kiosk")) as kiosk:
        return [
            (
                await kiosk.post(
                    f"/offices/{office.id}/tickets", json={"category": office.category("A")}
                )
            ).json()
            for _ in range(n)
        ]


async def test_snapshot_first_then_events_in_seq_order(server: LiveServer, office: Office) -> None:
    await issue(server, office, 2)
    async with connect(server.lobby_ws(office.id, office.token("display"))) as ws:
        snapshot = await receive(ws)
        assert snapshot["type"] == "lobby.snapshot"
        assert snapshot["seq"] == 2
        await issue(server, office)
        async with server.client(office.token("counter")) as counter:
            await counter.post(f"/counters/{office.counter('1')}/call-next")
        issued, called = await receive_events(ws, 2)
    assert (issued["type"], issued["seq"], issued["data"]["number"]) == (
        "ticket.issued",
        3,
        "A-003",
    )
    assert (called["type"], called["seq"]) == ("ticket.called", 4)
    assert called["data"]["number"] == "A-001" and called["data"]["counter_label"] == "1"
    # Numbers and counters only: nothing about the resident or the procedure.
    assert set(issued["data"]) == {"number", "call_count", "recall_count", "queues"}
    assert set(called["data"]) == {
        "number",
        "counter_id",
        "counter_label",
        "call_count",
        "recall_count",
        "queues",
        "announcements",
    }
    for event in (issued, called):
        assert set(event) == {"type", "seq", "at", "data"}
        assert [set(q) for q in event["data"]["queues"]] == [QUEUE_KEYS]
    # What is said aloud: the number and the counter, nothing else.
    assert [a["text"] for a in called["data"]["announcements"]] == [
        "エー の 1番の方、1番窓口へお越しください"
    ]


async def test_two_displays_receive_identical_contiguous_streams_under_load(
    server: LiveServer, office: Office
) -> None:
    token = office.token("display")
    async with (
        connect(server.lobby_ws(office.id, token)) as one,
        connect(server.lobby_ws(office.id, token)) as two,
    ):
        start = (await receive(one))["seq"]
        await receive(two)
        async with server.client(office.token("kiosk")) as kiosk:
            await asyncio.gather(
                *[
                    kiosk.post(
                        f"/offices/{office.id}/tickets", json={"category": office.category("B")}
                    )
                    for _ in range(40)
                ]
            )
        first = await receive_events(one, 40)
        second = await receive_events(two, 40)
    assert [e["seq"] for e in first] == list(range(start + 1, start + 41))
    assert first == second
    assert sorted(e["data"]["number"] for e in first) == [f"B-{n:03d}" for n in range(1, 41)]


async def test_resume_replays_missed_events(server: LiveServer, office: Office) -> None:
    await issue(server, office, 5)
    async with connect(server.lobby_ws(office.id, office.token("display"))) as ws:
        assert (await receive(ws))["seq"] == 5
        await ws.send(json.dumps({"type": "resume", "after_seq": 2}))
        replayed = await receive_events(ws, 3)
        assert [e["seq"] for e in replayed] == [3, 4, 5]
        assert [e["data"]["number"] for e in replayed] == ["A-003", "A-004", "A-005"]
        await issue(server, office)
        assert (await receive_events(ws, 1))[0]["seq"] == 6


async def test_resume_from_pruned_history_sends_a_fresh_snapshot(
    server: LiveServer, office: Office
) -> None:
    await issue(server, office, 6)
    engine = create_engine(server.settings.database_url)
    async with make_sessionmaker(engine)() as session:
        await lobby_store.prune_events(session, keep=2)
        await session.commit()
    await engine.dispose()
    async with connect(server.lobby_ws(office.id, office.token("display"))) as ws:
        await receive(ws)
        await ws.send(json.dumps({"type": "resume", "after_seq": 1}))
        again = await receive(ws)
    assert again["type"] == "lobby.snapshot" and again["seq"] == 6


async def test_heartbeat_carries_the_last_seq(clean_db: str) -> None:
    settings = make_settings(clean_db, display=DisplaySettings(heartbeat_s=0.2, watchdog_s=1.0))
    async with run_server(settings) as server:
        office = Office(await seed(clean_db))
        await issue(server, office)
        async with connect(server.lobby_ws(office.id, office.token("display"))) as ws:
            await receive(ws)
            beat = await receive(ws, timeout=2)
    assert beat["type"] == "heartbeat" and beat["seq"] == 1


@pytest.mark.parametrize("who", ["kiosk", "operator", "nobody"])
async def test_only_display_tokens_may_subscribe(
    server: LiveServer, office: Office, who: str
) -> None:
    token = office.token(who) if who != "nobody" else "mdg_invalid"
    async with connect(server.lobby_ws(office.id, token)) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            await receive(ws)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


async def test_another_municipalitys_office_is_not_found(
    server: LiveServer, office: Office, other_office: Office
) -> None:
    async with connect(server.lobby_ws(other_office.id, office.token("display"))) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            await receive(ws)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4404


async def test_refused_command_publishes_nothing(server: LiveServer, office: Office) -> None:
    await issue(server, office)
    async with connect(server.lobby_ws(office.id, office.token("display"))) as ws:
        await receive(ws)
        async with server.client(office.token("counter")) as counter:
            ticket_id = (await counter.post(f"/counters/{office.counter('1')}/call-next")).json()[
                "id"
            ]
            assert (await counter.post(f"/tickets/{ticket_id}/finish")).status_code == 409
            assert (await counter.post(f"/tickets/{ticket_id}/start")).status_code == 200
        events = await receive_events(ws, 2)
    assert [(e["type"], e["seq"]) for e in events] == [("ticket.called", 2), ("ticket.started", 3)]

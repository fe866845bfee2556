"""Counter terminal actions: call a given number, recall, hold and resume, pause, undo a call,
no-show after its grace time; each refused in the wrong state, office or role."""

from typing import Any

from sqlalchemy import select

from app.settings import LobbySettings
from app.storage.db import create_engine, make_sessionmaker
from app.storage.tables import EventLog
from tests.support import LiveServer, Office, make_settings, run_server, seed
from tests.support_thread import FakeClock, office_hours_today


async def issue(server: LiveServer, office: Office, prefix: str = "A") -> dict[str, Any]:
    async with server.client(office.token("kiosk")) as kiosk:
        response = await kiosk.post(
            f"/offices/{office.id}/tickets", json={"category": office.category(prefix)}
        )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def snapshot(server: LiveServer, office: Office) -> dict[str, Any]:
    async with server.client(office.token("display")) as display:
        return dict((await display.get(f"/offices/{office.id}/lobby")).json())


def called_numbers(snap: dict[str, Any]) -> list[str]:
    return [c["number"] for c in snap["called"]]


async def test_call_a_given_number_by_number_or_id(server: LiveServer, office: Office) -> None:
    first = await issue(server, office)
    second = await issue(server, office)
    other = await issue(server, office, "B")
    async with server.client(office.token("counter")) as counter:
        # Out of order: the second ticket, by its printed number.
        called = await counter.post(
            f"/counters/{office.counter('2')}/call", json={"ticket": second["number"]}
        )
        assert called.status_code == 200, called.text
        assert called.json()["status"] == "called"
        assert called.json()["counter_label"] == "2"
        # A category this counter does not call by itself is still the office's: by id.
        by_id = await counter.post(
            f"/counters/{office.counter('1')}/call", json={"ticket": other["id"]}
        )
        assert by_id.json()["number"] == "B-001" and by_id.json()["counter_label"] == "1"
        # Called already: refused.
        again = await counter.post(
            f"/counters/{office.counter('4')}/call", json={"ticket": second["id"]}
        )
        assert again.status_code == 409
        assert again.json()["code"] == "invalid_transition"
        unknown = await counter.post(
            f"/counters/{office.counter('4')}/call", json={"ticket": "Z-999"}
        )
        assert unknown.status_code == 404
        assert unknown.headers["content-type"] == "application/problem+json"
        # The first ticket is still next for call-next.
        nxt = await counter.post(f"/counters/{office.counter('4')}/call-next")
        assert nxt.json()["number"] == first["number"]
    assert set(called_numbers(await snapshot(server, office))) == {"A-001", "A-002", "B-001"}


async def test_call_is_refused_across_offices_and_roles(
    server: LiveServer, office: Office, other_office: Office
) -> None:
    ticket = await issue(server, office)
    async with server.client(other_office.token("counter")) as stranger:
        # Another municipality's counter token sees neither this counter nor this ticket.
        response = await stranger.post(
            f"/counters/{office.counter('1')}/call", json={"ticket": ticket["id"]}
        )
        assert response.status_code == 404
        mine = await stranger.post(
            f"/counters/{other_office.counter('1')}/call", json={"ticket": ticket["id"]}
        )
        assert mine.status_code == 404
        for path in ("hold", "undo-call", "no-show"):
            assert (await stranger.post(f"/tickets/{ticket['id']}/{path}")).status_code == 404
        pause = await stranger.post(f"/counters/{office.counter('1')}/pause")
        assert pause.status_code == 404
    for role in ("kiosk", "vendor"):
        async with server.client(office.token(role)) as client:
            for path, body in [
                (f"/counters/{office.counter('1')}/call", {"ticket": ticket["id"]}),
                (f"/counters/{office.counter('1')}/pause", None),
                (f"/counters/{office.counter('1')}/resume", None),
                (f"/tickets/{ticket['id']}/hold", None),
                (f"/tickets/{ticket['id']}/resume", {"counter": office.counter("1")}),
                (f"/tickets/{ticket['id']}/undo-call", None),
            ]:
                response = await client.post(path, json=body)
                assert response.status_code == 403, (role, path, response.text)


async def test_each_recall_is_counted_on_the_ticket_and_the_board(
    server: LiveServer, office: Office
) -> None:
    ticket = await issue(server, office)
    async with server.client(office.token("counter")) as counter:
        called = await counter.post(f"/counters/{office.counter('1')}/call-next")
        assert called.json()["recall_count"] == 0
        for expected in (1, 2):
            recalled = await counter.post(f"/tickets/{ticket['id']}/recall")
            assert recalled.json()["recall_count"] == expected
        board = (await counter.get(f"/counters/{office.counter('1')}")).json()
        assert board["current"]["number"] == "A-001"
        assert board["current"]["recall_count"] == 2
        # Not called: nothing to recall.
        waiting = await issue(server, office)
        refused = await counter.post(f"/tickets/{waiting['id']}/recall")
        assert refused.status_code == 409


async def test_hold_leaves_the_counter_and_display_and_resume_calls_again(
    server: LiveServer, office: Office
) -> None:
    ticket = await issue(server, office)
    later = await issue(server, office)
    async with server.client(office.token("counter")) as counter:
        await counter.post(f"/counters/{office.counter('1')}/call-next")
        await counter.post(f"/tickets/{ticket['id']}/start")
        held = await counter.post(f"/tickets/{ticket['id']}/hold")
        assert held.status_code == 200, held.text
        assert held.json()["status"] == "held"
        assert held.json()["counter_id"] is None
        assert "resume" in held.json()["allowed_actions"]
        board = (await counter.get(f"/counters/{office.counter('1')}")).json()
        assert board["current"] is None
        # Listed for the counters to resume.
        assert [(p["number"], p["status"]) for p in board["parked"]] == [("A-001", "held")]
        assert called_numbers(await snapshot(server, office)) == []
        # Held is not waiting: call-next passes it by.
        nxt = await counter.post(f"/counters/{office.counter('1')}/call-next")
        assert nxt.json()["number"] == later["number"]
        again = await counter.post(f"/tickets/{ticket['id']}/hold")
        assert again.status_code == 409
        waiting = await issue(server, office)
        assert (await counter.post(f"/tickets/{waiting['id']}/hold")).status_code == 409
        assert (
            await counter.post(
                f"/tickets/{waiting['id']}/resume", json={"counter": office.counter("2")}
            )
        ).status_code == 409
        resumed = await counter.post(
            f"/tickets/{ticket['id']}/resume", json={"counter": office.counter("2")}
        )
        assert resumed.status_code == 200, resumed.text
        assert resumed.json()["status"] == "called"
        assert resumed.json()["counter_label"] == "2"
    snap = await snapshot(server, office)
    assert snap["called"][0]["number"] == ticket["number"]
    assert snap["called"][0]["counter_label"] == "2"


async def test_paused_counter_refuses_calls_until_resumed(
    server: LiveServer, office: Office
) -> None:
    ticket = await issue(server, office)
    counter_id = office.counter("1")
    async with server.client(office.token("counter")) as counter:
        paused = await counter.post(f"/counters/{counter_id}/pause")
        assert paused.status_code == 200 and paused.json()["paused"] is True
        board = (await counter.get(f"/counters/{counter_id}")).json()
        assert board["counter"]["paused"] is True
        snap = await snapshot(server, office)
        assert [c["counter_label"] for c in snap["paused_counters"]] == ["1"]
        refused = await counter.post(f"/counters/{counter_id}/call-next")
        assert refused.status_code == 409
        body = refused.json()
        assert body["code"] == "counter_paused"
        assert "一時停止" in body["detail"] and "paused" in body["detail"]
        specific = await counter.post(f"/counters/{counter_id}/call", json={"ticket": ticket["id"]})
        assert specific.status_code == 409
        # Other counters still call.
        assert (await counter.post(f"/counters/{office.counter('2')}/pause")).status_code == 200
        assert (await counter.post(f"/counters/{office.counter('2')}/resume")).status_code == 200
        resumed = await counter.post(f"/counters/{counter_id}/resume")
        assert resumed.json()["paused"] is False
        assert (await snapshot(server, office))["paused_counters"] == []
        called = await counter.post(f"/counters/{counter_id}/call-next")
        assert called.status_code == 200
        assert called.json()["number"] == ticket["number"]


async def test_undo_call_puts_the_ticket_back_at_its_place(
    server: LiveServer, office: Office
) -> None:
    first = await issue(server, office)
    second = await issue(server, office)
    async with server.client(office.token("counter")) as counter:
        await counter.post(f"/counters/{office.counter('1')}/call-next")
        undone = await counter.post(f"/tickets/{first['id']}/undo-call")
        assert undone.status_code == 200, undone.text
        body = undone.json()
        assert body["status"] == "waiting" and body["counter_id"] is None
        # Still first in line, ahead of the ticket issued after it.
        assert body["position"] == 1
        assert called_numbers(await snapshot(server, office)) == []
        nxt = await counter.post(f"/counters/{office.counter('2')}/call-next")
        assert nxt.json()["number"] == first["number"]
        assert (await counter.post(f"/tickets/{second['id']}/undo-call")).status_code == 409
        await counter.post(f"/tickets/{first['id']}/start")
        assert (await counter.post(f"/tickets/{first['id']}/undo-call")).status_code == 409


async def test_no_show_grace_and_undo_window_follow_the_clock(clean_db: str) -> None:
    clock = FakeClock(office_hours_today())
    settings = make_settings(clean_db, lobby=LobbySettings(undo_call_s=30, no_show_grace_s=60))
    async with run_server(settings, clock=clock) as server:
        office = Office(await seed(server.settings.database_url, "431001"))
        ticket = await issue(server, office)
        async with server.client(office.token("counter")) as counter:
            await counter.post(f"/counters/{office.counter('1')}/call-next")
            clock.advance(20)
            early = await counter.post(f"/tickets/{ticket['id']}/no-show")
            assert early.status_code == 409
            problem = early.json()
            assert problem["code"] == "too_soon"
            assert problem["context"]["seconds_left"] == 40
            assert "40" in problem["detail"]
            clock.advance(11)
            late = await counter.post(f"/tickets/{ticket['id']}/undo-call")
            assert late.status_code == 409
            assert late.json()["code"] == "window_closed"
            clock.advance(30)
            absent = await counter.post(f"/tickets/{ticket['id']}/no-show")
            assert absent.status_code == 200, absent.text
            assert absent.json()["status"] == "no_show"
            # The resident turns up: called again, and the recall is counted.
            back = await counter.post(f"/tickets/{ticket['id']}/recall")
            assert back.json()["status"] == "called"
            assert back.json()["recall_count"] == 1


async def test_actions_reach_the_event_log(server: LiveServer, office: Office) -> None:
    ticket = await issue(server, office)
    async with server.client(office.token("counter")) as counter:
        await counter.post(f"/counters/{office.counter('1')}/pause")
        await counter.post(f"/counters/{office.counter('1')}/resume")
        await counter.post(f"/counters/{office.counter('1')}/call", json={"ticket": ticket["id"]})
        await counter.post(f"/tickets/{ticket['id']}/hold")
        await counter.post(f"/tickets/{ticket['id']}/resume", json={"counter": office.counter("1")})
        await counter.post(f"/tickets/{ticket['id']}/undo-call")
    engine = create_engine(server.settings.database_url)
    try:
        async with make_sessionmaker(engine)() as session:
            rows = (await session.execute(select(EventLog.entity, EventLog.action))).all()
    finally:
        await engine.dispose()
    actions = [(entity, action) for entity, action in rows if entity in ("ticket", "counter")]
    for expected in [
        ("counter", "pause"),
        ("counter", "resume"),
        ("ticket", "call"),
        ("ticket", "hold"),
        ("ticket", "resume"),
        ("ticket", "undo_call"),
    ]:
        assert expected in actions

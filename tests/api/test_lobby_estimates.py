"""Waits shown to residents and displays. A new ticket's wait (the kiosk's answer, the phone's
status page) is the lobby replayed forward (``lobby_replay``: every waiting ticket on the
counters calling, each taking its category's mean recent time); a display's wait for a new
ticket per category is the same replay, for a plain ticket issued at the event's moment.

Category A of the demo office is served by three counters (1, 2 and 4) and defaults to 420 s a
resident; a clock the test moves makes the service times exact.
"""

import json
import math
from typing import Any

from sqlalchemy import event
from websockets.asyncio.client import connect

from tests.support import LiveServer, Office, make_settings, run_server, seed
from tests.support_thread import FakeClock, office_hours_today


async def serve(server: LiveServer, office: Office, clock: FakeClock, seconds: float) -> None:
    async with server.client(office.token("counter")) as counter:
        ticket = (await counter.post(f"/counters/{office.counter('2')}/call-next")).json()
        assert (await counter.post(f"/tickets/{ticket['id']}/start")).status_code == 200
        clock.advance(seconds)
        assert (await counter.post(f"/tickets/{ticket['id']}/finish")).status_code == 200


async def issue(
    server: LiveServer, office: Office, clock: FakeClock, **extra: Any
) -> dict[str, Any]:
    async with server.client(office.token("kiosk")) as kiosk:
        body = {"category": office.category("A"), **extra}
        response = await kiosk.post(f"/offices/{office.id}/tickets", json=body)
    assert response.status_code == 201, response.text
    clock.advance(1)  # residents arrive one after another
    return dict(response.json())


def minutes(ahead: int, per_resident_s: float, counters: int = 3) -> int:
    return math.ceil(ahead * per_resident_s / counters / 60)


async def test_issue_answer_and_event_carry_waits_from_the_recent_service_times(
    clean_db: str,
) -> None:
    clock = FakeClock(office_hours_today())
    async with run_server(make_settings(clean_db), clock=clock) as server:
        office = Office(await seed(clean_db))
        first = await issue(server, office, clock)
        second = await issue(server, office, clock)
        # Three counters free: the second resident is called at once too.
        assert (first["ahead"], first["estimate_min"]) == (0, 0)
        assert (second["ahead"], second["estimate_min"]) == (1, 0)
        for _ in range(3):
            await issue(server, office, clock)
        for seconds in (100, 300, 200):
            await serve(server, office, clock, seconds)
        # Two wait (the fourth and fifth); the mean of 100, 300 and 200 s is 200 s.
        async with connect(server.lobby_ws(office.id, office.token("display"))) as display:
            snapshot = json.loads(await display.recv())
            queues = {q["prefix"]: q for q in snapshot["queues"]}
            # Two wait and three counters are free: a new ticket is called at once (the
            # per-category figure said ⌈2×200/3/60⌉ = 3 min while the kiosk said 0).
            assert (queues["A"]["waiting"], queues["A"]["estimate_min"]) == (2, 0)
            assert (queues["B"]["waiting"], queues["B"]["estimate_min"]) == (0, 0)
            plain = await issue(server, office, clock)
            event = json.loads(await display.recv())
            while event["type"] == "heartbeat":
                event = json.loads(await display.recv())
        # Two ahead and three counters free: the replay calls the new one at once.
        assert (plain["ahead"], plain["position"], plain["estimate_min"]) == (2, 3, 0)
        assert event["type"] == "ticket.issued" and event["data"]["number"] == plain["number"]
        # Three wait on three free counters: a fourth is called when the first is done, 200 s.
        queued = [(q["prefix"], q["waiting"], q["estimate_min"]) for q in event["data"]["queues"]]
        assert queued == [("A", 3, 4)]
        # A priority ticket goes before every plain one; a plain one after it waits behind all.
        urgent = await issue(server, office, clock, is_priority=True)
        last = await issue(server, office, clock)
        assert (urgent["ahead"], urgent["position"], urgent["estimate_min"]) == (0, 1, 0)
        # Three counters take the priority one and the two oldest, then the plain one and this
        # one at 200 s (the mean): 4 minutes (the per-category figure would say ⌈4×200/3⌉ = 5).
        assert (last["ahead"], last["estimate_min"]) == (4, 4)
        # The resident's phone shows the same place and wait as the kiosk's answer.
        async with server.client() as phone:
            answer = await phone.get(
                f"/tickets/{last['id']}/public", params={"key": last["public_key"]}
            )
            public = answer.json()
        assert (public["ahead"], public["estimate_min"]) == (4, 4)


async def test_kiosk_press_reads_the_lobby_in_one_statement_whatever_the_queue(
    clean_db: str,
) -> None:
    clock = FakeClock(office_hours_today())
    async with run_server(make_settings(clean_db), clock=clock) as server:
        office = Office(await seed(clean_db))
        engine = server.app.state.resources.engine.sync_engine
        pressed: list[list[str]] = []
        answers: list[dict[str, Any]] = []
        for before in (0, 25):
            while len(answers) < before:
                answers.append(await issue(server, office, clock))
            statements: list[str] = []

            def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
                statements.append(statement)  # noqa: B023 (listened to within this round)

            event.listen(engine, "before_cursor_execute", count)
            try:
                answers.append(await issue(server, office, clock))
            finally:
                event.remove(engine, "before_cursor_execute", count)
            pressed.append(statements)
    # As many statements on tickets with 0 or 25 residents waiting (the background jobs'
    # statements aside); the lobby (tickets waiting or at a counter, counters) is read by one.
    on_tickets = [[s for s in p if "ticket." in s and "event_log" not in s] for p in pressed]
    assert len(on_tickets[0]) == len(on_tickets[1]), on_tickets
    lobby_reads = [s for s in pressed[1] if "stops" in s and "paused" in s]
    assert len(lobby_reads) == 1, pressed[1]
    # 25 ahead on A's three free counters at the default 420 s: called after 8 rounds.
    assert (answers[-1]["ahead"], answers[-1]["estimate_min"]) == (25, 8 * 7)


async def next_event(display: Any) -> dict[str, Any]:
    while (event := json.loads(await display.recv()))["type"] == "heartbeat":
        pass
    return dict(event)


def carried(event: dict[str, Any]) -> dict[str, int]:
    return {q["prefix"]: q["estimate_min"] for q in event["data"]["queues"]}


async def test_display_wait_for_a_new_ticket_is_the_kiosk_answer_on_shared_counters(
    clean_db: str,
) -> None:
    clock = FakeClock(office_hours_today())
    async with run_server(make_settings(clean_db), clock=clock) as server:
        office = Office(await seed(clean_db))
        other = Office(await seed(clean_db, "131211"))
        # Six for A (420 s); C (300 s) has nobody waiting, but its counters 1 and 4 also serve
        # A, and call in walk-in order: a C ticket now waits for two rounds of A.
        for _ in range(6):
            await issue(server, office, clock)
        # Another municipality's crowded C queue changes nothing here.
        for _ in range(5):
            await issue(server, other, clock, category=other.category("C"))
        async with server.client(office.token("display")) as display_client:
            snapshot = (await display_client.get(f"/offices/{office.id}/lobby")).json()
        shown = {q["prefix"]: (q["waiting"], q["estimate_min"]) for q in snapshot["queues"]}
        # The per-category figure (mean_open) said 0 min for C: nobody ahead in C.
        assert shown["C"] == (0, 14)
        assert shown["A"] == (6, 14)
        async with connect(server.lobby_ws(office.id, office.token("display"))) as display:
            await display.recv()  # the snapshot
            first_c = await issue(server, office, clock, category=office.category("C"))
            assert (first_c["ahead"], first_c["estimate_min"]) == (0, shown["C"][1])
            issued = await next_event(display)
            assert issued["data"]["number"] == first_c["number"]
            # Counters 1 and 4 both free up after two rounds of A: the next C is called then too,
            # the third one 300 s later, behind the first.
            second_c = await issue(server, office, clock, category=office.category("C"))
            assert second_c["estimate_min"] == carried(issued)["C"] == 14
            issued = await next_event(display)
            third_c = await issue(server, office, clock, category=office.category("C"))
            assert third_c["estimate_min"] == carried(issued)["C"] == 19
            await next_event(display)
            # A call: counter 2 takes the first A resident; the event carries A's new wait.
            async with server.client(office.token("counter")) as counter:
                called = await counter.post(f"/counters/{office.counter('2')}/call-next")
            assert called.status_code == 200
            call = await next_event(display)
            assert call["type"] == "ticket.called"
            plain_a = await issue(server, office, clock)
            assert plain_a["estimate_min"] == carried(call)["A"]


async def test_a_call_reads_the_lobby_once_for_the_displays_waits(clean_db: str) -> None:
    clock = FakeClock(office_hours_today())
    async with run_server(make_settings(clean_db), clock=clock) as server:
        office = Office(await seed(clean_db))
        for _ in range(4):
            await issue(server, office, clock)
        engine = server.app.state.resources.engine.sync_engine
        statements: list[str] = []

        def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            statements.append(statement)

        event.listen(engine, "before_cursor_execute", count)
        try:
            async with server.client(office.token("counter")) as counter:
                called = await counter.post(f"/counters/{office.counter('2')}/call-next")
        finally:
            event.remove(engine, "before_cursor_execute", count)
        assert called.status_code == 200
        # One statement more than the per-category figures needed: the lobby, read once.
        lobby_reads = [s for s in statements if "stops" in s and "paused" in s]
        assert len(lobby_reads) == 1, statements
        # Three wait; counters 1 and 4 take two at once, counter 2 is busy for 420 s: the third
        # and a new one are called when they all free up, after 420 s (7 min).
        async with server.client(office.token("display")) as display:
            snapshot = (await display.get(f"/offices/{office.id}/lobby")).json()
        new = await issue(server, office, clock)
        shown = next(q for q in snapshot["queues"] if q["prefix"] == "A")
        assert (shown["waiting"], shown["estimate_min"]) == (3, new["estimate_min"]) == (3, 7)

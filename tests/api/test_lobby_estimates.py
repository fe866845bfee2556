"""Waits shown to residents and displays. A new ticket's wait (the kiosk's answer, the phone's
status page) is the lobby replayed forward (``lobby_replay``: every waiting ticket on the
counters calling, each taking its category's mean recent time); a display's wait for a new
ticket per category is the mean of the last service times over the counters calling
(``mean_open``; here the times are symmetric, mean = median).

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
            assert (queues["A"]["waiting"], queues["A"]["estimate_min"]) == (2, minutes(2, 200))
            assert (queues["B"]["waiting"], queues["B"]["estimate_min"]) == (0, 0)
            plain = await issue(server, office, clock)
            event = json.loads(await display.recv())
            while event["type"] == "heartbeat":
                event = json.loads(await display.recv())
        # Two ahead and three counters free: the replay calls the new one at once.
        assert (plain["ahead"], plain["position"], plain["estimate_min"]) == (2, 3, 0)
        assert event["type"] == "ticket.issued" and event["data"]["number"] == plain["number"]
        carried = [(q["prefix"], q["waiting"], q["estimate_min"]) for q in event["data"]["queues"]]
        assert carried == [("A", 3, minutes(3, 200))]
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

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

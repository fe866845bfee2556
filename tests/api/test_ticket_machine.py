"""Every ticket status × every counter action, through the HTTP API."""

import itertools

import pytest

from app.domain.tickets import TRANSITIONS, TicketAction, TicketStatus
from tests.support import LiveServer, Office

PATHS = {
    TicketAction.RECALL: "recall",
    TicketAction.START: "start",
    TicketAction.FINISH: "finish",
    TicketAction.NO_SHOW: "no-show",
    TicketAction.CANCEL: "cancel",
    TicketAction.TRANSFER: "transfer",
    TicketAction.HOLD: "hold",
    TicketAction.RESUME: "resume",
    TicketAction.UNDO_CALL: "undo-call",
}
# How to bring a fresh ticket (called by counter 1) into each status.
ROUTES: dict[TicketStatus, list[str]] = {
    TicketStatus.WAITING: [],
    TicketStatus.CALLED: ["call"],
    TicketStatus.SERVING: ["call", "start"],
    TicketStatus.DONE: ["call", "start", "finish"],
    TicketStatus.NO_SHOW: ["call", "no-show"],
    TicketStatus.CANCELLED: ["cancel"],
    TicketStatus.HELD: ["call", "hold"],
}


@pytest.mark.parametrize(
    ("status", "action"),
    [(s, a) for s, a in itertools.product(TicketStatus, PATHS)],
    ids=lambda v: str(v),
)
async def test_each_status_and_action(
    server: LiveServer, office: Office, status: TicketStatus, action: TicketAction
) -> None:
    async with server.client(office.token("kiosk")) as kiosk:
        ticket = (
            await kiosk.post(
                f"/offices/{office.id}/tickets", json={"category": office.category("A")}
            )
        ).json()
    async with server.client(office.token("counter")) as counter:
        for step in ROUTES[status]:
            if step == "call":
                response = await counter.post(f"/counters/{office.counter('1')}/call-next")
            else:
                response = await counter.post(f"/tickets/{ticket['id']}/{step}")
            assert response.status_code == 200, response.text
        body = {
            TicketAction.TRANSFER: {"category": office.category("C")},
            TicketAction.RESUME: {"counter": office.counter("1")},
        }.get(action)
        response = await counter.post(f"/tickets/{ticket['id']}/{PATHS[action]}", json=body)
        expected = TRANSITIONS.get((status, action))
        if expected is None:
            assert response.status_code == 409, response.text
            assert response.json()["code"] == "invalid_transition"
            board = await counter.get(f"/counters/{office.counter('1')}")
            assert board.status_code == 200
        else:
            assert response.status_code == 200, response.text
            assert response.json()["status"] == expected
            assert response.json()["number"] == ticket["number"]


async def test_transfer_to_counter_keeps_number_and_place(
    server: LiveServer, office: Office
) -> None:
    async with server.client(office.token("kiosk")) as kiosk:
        first = (
            await kiosk.post(
                f"/offices/{office.id}/tickets", json={"category": office.category("A")}
            )
        ).json()
        second = (
            await kiosk.post(
                f"/offices/{office.id}/tickets", json={"category": office.category("A")}
            )
        ).json()
    async with server.client(office.token("counter")) as counter:
        called = (await counter.post(f"/counters/{office.counter('1')}/call-next")).json()
        assert called["id"] == first["id"]
        # Counter 1 sends the resident on to counter 3 (which does not serve A).
        moved = await counter.post(
            f"/tickets/{first['id']}/transfer", json={"counter": office.counter("3")}
        )
        assert moved.json()["status"] == "waiting" and moved.json()["number"] == "A-001"
        # Counter 2 (serves A) does not get it: it was sent to counter 3.
        assert (await counter.post(f"/counters/{office.counter('2')}/call-next")).json()[
            "id"
        ] == second["id"]
        assert (await counter.post(f"/counters/{office.counter('3')}/call-next")).json()[
            "id"
        ] == first["id"]


async def test_transfer_to_category_keeps_place_by_issue_time(
    server: LiveServer, office: Office
) -> None:
    async with server.client(office.token("kiosk")) as kiosk:
        early = (
            await kiosk.post(
                f"/offices/{office.id}/tickets", json={"category": office.category("A")}
            )
        ).json()
        late = (
            await kiosk.post(
                f"/offices/{office.id}/tickets", json={"category": office.category("B")}
            )
        ).json()
    async with server.client(office.token("counter")) as counter:
        await counter.post(f"/counters/{office.counter('1')}/call-next")
        await counter.post(
            f"/tickets/{early['id']}/transfer", json={"category": office.category("B")}
        )
        # Counter 3 serves B: the transferred A-001, issued first, comes before B-001.
        assert (await counter.post(f"/counters/{office.counter('3')}/call-next")).json()[
            "number"
        ] == "A-001"
        assert (await counter.post(f"/counters/{office.counter('3')}/call-next")).json()[
            "number"
        ] == late["number"]


async def test_transfer_needs_exactly_one_target(server: LiveServer, office: Office) -> None:
    async with server.client(office.token("kiosk")) as kiosk:
        ticket = (
            await kiosk.post(
                f"/offices/{office.id}/tickets", json={"category": office.category("A")}
            )
        ).json()
    async with server.client(office.token("counter")) as counter:
        response = await counter.post(f"/tickets/{ticket['id']}/transfer", json={})
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "category"

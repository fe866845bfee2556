"""Two API processes on PostgreSQL: a call made through one reaches displays held by the other."""

import asyncio
import json

import httpx2
import pytest
from websockets.asyncio.client import connect

from tests.support import Office, seed
from tests.support_process import server_process


@pytest.mark.postgres
async def test_display_on_one_process_receives_calls_made_through_another(clean_db: str) -> None:
    office = Office(await seed(clean_db))
    with server_process(clean_db) as first, server_process(clean_db) as second:
        ws_url = (
            first.replace("http", "ws")
            + f"/api/v1/ws/offices/{office.id}/lobby?token={office.token('display')}"
        )
        async with connect(ws_url) as display:
            snapshot = json.loads(await display.recv())
            async with httpx2.AsyncClient(base_url=second + "/api/v1") as other:
                kiosk = {"Authorization": f"Bearer {office.token('kiosk')}"}
                counter = {"Authorization": f"Bearer {office.token('counter')}"}
                for _ in range(10):
                    response = await other.post(
                        f"/offices/{office.id}/tickets",
                        json={"category": office.category("A")},
                        headers=kiosk,
                    )
                    assert response.status_code == 201
                for _ in range(10):
                    response = await other.post(
                        f"/counters/{office.counter('1')}/call-next", headers=counter
                    )
                    assert response.status_code == 200
            events = []
            while len(events) < 20:
                message = json.loads(await asyncio.wait_for(display.recv(), 5))
                if message["type"] != "heartbeat":
                    events.append(message)
    assert [e["seq"] for e in events] == list(range(snapshot["seq"] + 1, snapshot["seq"] + 21))
    called = [e["data"]["number"] for e in events if e["type"] == "ticket.called"]
    assert called == [f"A-{n:03d}" for n in range(1, 11)]

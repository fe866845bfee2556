"""Many kiosks and counters at once: no duplicate number, no resident called twice."""

import asyncio
from collections import Counter

from tests.support import LiveServer, Office


async def test_fifty_concurrent_issues_get_fifty_consecutive_numbers(
    server: LiveServer, office: Office
) -> None:
    async with server.client(office.token("kiosk")) as kiosk:
        responses = await asyncio.gather(
            *[
                kiosk.post(f"/offices/{office.id}/tickets", json={"category": office.category("A")})
                for _ in range(50)
            ]
        )
    assert [r.status_code for r in responses] == [201] * 50
    numbers = sorted(r.json()["number"] for r in responses)
    assert numbers == [f"A-{n:03d}" for n in range(1, 51)]
    async with server.client(office.token("display")) as display:
        snapshot = (await display.get(f"/offices/{office.id}/lobby")).json()
    assert snapshot["seq"] == 50
    assert next(q for q in snapshot["queues"] if q["prefix"] == "A")["waiting"] == 50


async def test_ten_counters_calling_at_once_call_each_ticket_exactly_once(
    server: LiveServer, office: Office
) -> None:
    async with server.client(office.token("admin")) as admin:
        counter_ids = []
        for label in range(10, 20):
            created = await admin.post(
                f"/admin/offices/{office.id}/counters",
                json={
                    "label": str(label),
                    "name_ja": f"{label}番窓口",
                    "name_en": f"Counter {label}",
                    "categories": [office.category("A")],
                },
            )
            assert created.status_code == 201, created.text
            counter_ids.append(created.json()["id"])
    async with server.client(office.token("kiosk")) as kiosk:
        issued = await asyncio.gather(
            *[
                kiosk.post(f"/offices/{office.id}/tickets", json={"category": office.category("A")})
                for _ in range(100)
            ]
        )
    issued_ids = {r.json()["id"] for r in issued}

    async def work(client, counter_id: str) -> list[str]:  # type: ignore[no-untyped-def]
        called = []
        while True:
            response = await client.post(f"/counters/{counter_id}/call-next")
            if response.status_code == 204:
                return called
            assert response.status_code == 200, response.text
            called.append(response.json()["id"])
            assert response.json()["counter_id"] == counter_id

    async with server.client(office.token("counter")) as counter:
        results = await asyncio.gather(*[work(counter, c) for c in counter_ids])
    calls = Counter(ticket for result in results for ticket in result)
    assert set(calls) == issued_ids
    assert max(calls.values()) == 1
    async with server.client(office.token("display")) as display:
        snapshot = (await display.get(f"/offices/{office.id}/lobby")).json()
    # 100 issues + 100 calls, each one event with its own seq.
    assert snapshot["seq"] == 200

"""One ticket through several counters: a plan of stops (住民異動 → 子育て・福祉 → その他) keeps its
number, moves to the next category's queue as each stop finishes, keeps its place by arrival time,
and the resident's status page names where it waits and what follows."""

from typing import Any

from tests.support import LiveServer, Office


async def issue(server: LiveServer, office: Office, prefix: str, **body: Any) -> Any:
    async with server.client(office.token("kiosk")) as kiosk:
        response = await kiosk.post(
            f"/offices/{office.id}/tickets", json={"category": office.category(prefix), **body}
        )
    assert response.status_code == 201, response.text
    return response.json()


async def status_page(server: LiveServer, ticket: dict[str, Any]) -> Any:
    async with server.client() as anonymous:
        response = await anonymous.get(
            f"/tickets/{ticket['id']}/public", params={"key": ticket["public_key"]}
        )
    assert response.status_code == 200, response.text
    return response.json()


async def serve(server: LiveServer, office: Office, counter_label: str) -> Any:
    """Call the next resident at the counter, start and finish; the ticket as finished."""
    async with server.client(office.token("counter")) as counter:
        called = await counter.post(f"/counters/{office.counter(counter_label)}/call-next")
        assert called.status_code == 200, called.text
        ticket_id = called.json()["id"]
        assert (await counter.post(f"/tickets/{ticket_id}/start")).status_code == 200
        finished = await counter.post(f"/tickets/{ticket_id}/finish")
    assert finished.status_code == 200, finished.text
    return finished.json()


async def test_a_ticket_with_three_stops_is_called_at_three_counters_in_order(
    server: LiveServer, office: Office
) -> None:
    # A resident for 子育て・福祉 arrives before the family, so is ahead there at first...
    early = await issue(server, office, "B")
    family = await issue(server, office, "A", then=[office.category("B"), office.category("C")])
    # ...and one arriving after the family is behind it at every stop.
    late = await issue(server, office, "B")
    assert family["number"] == "A-001" and family["next_stops"] == [
        office.category("B"),
        office.category("C"),
    ]
    page = await status_page(server, family)
    assert page["stop"]["name_ja"] == "住民異動・証明"
    assert [s["name_ja"] for s in page["next_stops"]] == ["子育て・福祉", "その他の手続"]

    first = await serve(server, office, "2")  # counter 2 serves A
    assert (first["number"], first["status"], first["category_id"]) == (
        "A-001",
        "waiting",
        office.category("B"),
    )
    assert first["next_stops"] == [office.category("C")]
    page = await status_page(server, family)
    assert (page["number"], page["status"], page["stop"]["name_en"]) == (
        "A-001",
        "waiting",
        "Child & welfare",
    )
    assert page["position"] == 2  # behind the earlier B ticket, ahead of the later one
    assert [s["name_en"] for s in page["next_stops"]] == ["Other procedures"]

    assert (await serve(server, office, "3"))["id"] == early["id"]
    second = await serve(server, office, "3")  # counter 3 serves B: the family before `late`
    assert (second["id"], second["category_id"], second["next_stops"]) == (
        family["id"],
        office.category("C"),
        [],
    )
    third = await serve(server, office, "1")  # counter 1 serves A and C
    assert (third["id"], third["number"], third["status"]) == (family["id"], "A-001", "done")
    page = await status_page(server, family)
    assert page["status"] == "done" and page["next_stops"] == []
    async with server.client(office.token("counter")) as counter:
        after = await counter.post(f"/counters/{office.counter('3')}/call-next")
    assert after.json()["id"] == late["id"]


async def test_a_plan_names_only_the_offices_categories(
    server: LiveServer, office: Office, other_office: Office
) -> None:
    async with server.client(office.token("kiosk")) as kiosk:
        foreign = await kiosk.post(
            f"/offices/{office.id}/tickets",
            json={"category": office.category("A"), "then": [other_office.category("B")]},
        )
    assert foreign.status_code == 422
    assert foreign.json()["errors"][0]["field"] == "then[0]"

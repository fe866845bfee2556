"""One ticket through several counters: a plan of stops (住民異動 → 子育て・福祉 → その他) keeps its
number, moves to the next category's queue as each stop finishes, keeps its place by arrival time,
and the resident's status page names where it waits and what follows."""

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from app.storage.db import create_engine, make_sessionmaker
from app.storage.tables import EventLog
from tests.support import LiveServer, Office, make_settings, run_server, seed
from tests.support_thread import FakeClock


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
    # A display that connects now gets the move in its snapshot (until called at B).
    async with server.client(office.token("display")) as display:
        snapshot = (await display.get(f"/offices/{office.id}/lobby")).json()
    assert [(m["number"], m["next_stop"]["name_ja"]) for m in snapshot["moved"]] == [
        ("A-001", "子育て・福祉")
    ]
    assert [s["name_en"] for s in page["next_stops"]] == ["Other procedures"]

    assert (await serve(server, office, "3"))["id"] == early["id"]
    second = await serve(server, office, "3")  # counter 3 serves B: the family before `late`
    assert (second["id"], second["category_id"], second["next_stops"]) == (
        family["id"],
        office.category("C"),
        [],
    )
    async with server.client(office.token("display")) as display:
        snapshot = (await display.get(f"/offices/{office.id}/lobby")).json()
    assert [m["next_stop"]["prefix"] for m in snapshot["moved"]] == ["C"]
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


async def test_staff_skip_the_next_stop_and_add_one(server: LiveServer, office: Office) -> None:
    family = await issue(server, office, "A", then=[office.category("B"), office.category("C")])
    path = f"/tickets/{family['id']}"
    async with server.client(office.token("counter")) as counter:
        skipped = await counter.post(f"{path}/skip-stop")
        assert skipped.status_code == 200, skipped.text
        # Number, status and place unchanged; only the plan lost its next stop.
        assert (skipped.json()["number"], skipped.json()["status"]) == ("A-001", "waiting")
        assert skipped.json()["next_stops"] == [office.category("C")]
        assert "skip_stop" in skipped.json()["allowed_actions"]
    async with server.client(office.token("supervisor")) as supervisor:
        added = await supervisor.post(f"{path}/stops", json={"category": office.category("B")})
        assert added.status_code == 200, added.text
        assert added.json()["next_stops"] == [office.category("C"), office.category("B")]
        first = await supervisor.post(
            f"{path}/stops", json={"category": office.category("B"), "at": 0}
        )
        assert first.status_code == 422  # already planned
        assert first.json()["errors"][0]["code"] == "already_planned"
    assert [s["name_ja"] for s in (await status_page(server, family))["next_stops"]] == [
        "その他の手続",
        "子育て・福祉",
    ]
    # Finishing the first stop now sends the ticket to C, not B.
    moved = await serve(server, office, "1")
    assert (moved["id"], moved["category_id"]) == (family["id"], office.category("C"))
    async with server.client(office.token("counter")) as counter:
        await counter.post(f"{path}/skip-stop")
        empty = await counter.post(f"{path}/skip-stop")
        assert empty.status_code == 409
        assert empty.headers["content-type"] == "application/problem+json"
        assert empty.json()["code"] == "no_next_stop"
        assert "skip_stop" not in (await counter.get(f"/counters/{office.counter('1')}")).text
    engine = create_engine(server.settings.database_url)
    try:
        async with make_sessionmaker(engine)() as session:
            rows = (
                await session.execute(
                    select(EventLog.action, EventLog.actor_role, EventLog.data)
                    .where(
                        EventLog.entity_id == family["id"],
                        EventLog.action.in_(["skip_stop", "add_stop"]),
                    )
                    .order_by(EventLog.id)
                )
            ).all()
    finally:
        await engine.dispose()
    assert [(action, role) for action, role, _ in rows] == [
        ("skip_stop", "counter"),
        ("add_stop", "supervisor"),
        ("skip_stop", "counter"),
    ]
    assert rows[1][2]["stops_after"] == [office.category("C"), office.category("B")]


async def test_a_plan_change_refuses_bad_input_and_other_offices(
    server: LiveServer, office: Office, other_office: Office
) -> None:
    mine = await issue(server, office, "A")
    theirs = await issue(server, other_office, "A", then=[other_office.category("B")])
    async with server.client(office.token("counter")) as counter:
        foreign = await counter.post(
            f"/tickets/{mine['id']}/stops", json={"category": other_office.category("B")}
        )
        assert foreign.status_code == 422
        assert foreign.json()["errors"][0] == {
            "field": "category",
            "code": "unknown_category",
            "message": "受付区分が見つかりません (no such category here)",
        }
        current = await counter.post(
            f"/tickets/{mine['id']}/stops", json={"category": office.category("A")}
        )
        assert current.json()["errors"][0]["code"] == "already_planned"
        far = await counter.post(
            f"/tickets/{mine['id']}/stops", json={"category": office.category("B"), "at": 1}
        )
        assert far.status_code == 422 and far.json()["errors"][0]["field"] == "at"
        for path in ("skip-stop", "stops"):
            other = await counter.post(
                f"/tickets/{theirs['id']}/{path}", json={"category": office.category("B")}
            )
            assert other.status_code == 404, other.text
        assert (await counter.post(f"/tickets/{mine['id']}/cancel")).status_code == 200
        done = await counter.post(
            f"/tickets/{mine['id']}/stops", json={"category": office.category("B")}
        )
        assert done.status_code == 409
    async with server.client(office.token("kiosk")) as kiosk:
        assert (await kiosk.post(f"/tickets/{theirs['id']}/skip-stop")).status_code == 403
    page = await status_page(server, theirs)
    assert [s["name_en"] for s in page["next_stops"]] == ["Child & welfare"]


MONDAY = datetime(2026, 12, 7, 9, 0, tzinfo=ZoneInfo("Asia/Tokyo"))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(MONDAY)


@pytest.fixture
async def live(clean_db: str, clock: FakeClock) -> AsyncIterator[LiveServer]:
    async with run_server(make_settings(clean_db), clock=clock) as running:
        yield running


async def test_the_days_statistics_count_each_stops_wait_and_service(
    live: LiveServer, clock: FakeClock
) -> None:
    city = Office(await seed(live.settings.database_url, "431001"))

    def at(minute: int) -> None:
        clock.advance((MONDAY.replace(minute=minute) - clock.now()).total_seconds())

    family = await issue(live, city, "A", then=[city.category("B")])
    async with live.client(city.token("counter")) as counter:
        for minute, path in [
            (2, f"/counters/{city.counter('2')}/call-next"),  # waited 2 min for A
            (3, f"/tickets/{family['id']}/start"),
            (8, f"/tickets/{family['id']}/finish"),  # served 5 min at A, now waits at B
            (10, f"/counters/{city.counter('3')}/call-next"),  # waited 2 min for B
            (11, f"/tickets/{family['id']}/start"),
            (20, f"/tickets/{family['id']}/finish"),  # served 9 min at B
        ]:
            at(minute)
            response = await counter.post(path)
            assert response.status_code == 200, response.text
    assert response.json()["status"] == "done"
    # A staff transfer is a transfer; the planned move on from A above is a next stop.
    sent = await issue(live, city, "C")
    async with live.client(city.token("counter")) as counter:
        moved = await counter.post(
            f"/tickets/{sent['id']}/transfer", json={"category": city.category("A")}
        )
        assert moved.status_code == 200, moved.text
        assert (await counter.post(f"/tickets/{sent['id']}/cancel")).status_code == 200
    async with live.client(city.token("supervisor")) as supervisor:
        stats = await supervisor.get("/lobby-stats", params={"day": "2026-12-07"})
    assert stats.status_code == 200, stats.text
    rows = {(r["category"], r["counter"]): r for r in stats.json()["rows"]}
    figures = ("tickets", "served", "wait_max_s", "service_max_s")
    assert [rows[("A", "2")][f] for f in figures] == [1, 1, 120, 300]
    assert [rows[("B", "3")][f] for f in figures] == [1, 1, 120, 540]
    assert [rows[("A", "*")][f] for f in figures] == [2, 1, 120, 300]
    moves = ("transfers", "next_stops")
    assert [rows[("A", "2")][f] for f in moves] == [0, 1]
    assert [rows[("B", "3")][f] for f in moves] == [0, 0]
    assert [rows[("A", "*")][f] for f in moves] == [1, 1]
    # The wait estimates use the first stop's service time too: A's default is 420 s, its one
    # service 300 s; three residents ahead take A's three counters, the fourth is called when
    # one is free again: 5 minutes, not 7.
    at(21)
    for _ in range(3):
        await issue(live, city, "A")
    at(22)
    second = await issue(live, city, "A")
    assert (second["ahead"], second["estimate_min"]) == (3, 5)
    assert (await status_page(live, second))["estimate_min"] == 5

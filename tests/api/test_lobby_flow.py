"""The lobby through the HTTP API: issue, call, serve, and what residents and displays see."""

from sqlalchemy import text

from app.storage.db import create_engine
from tests.factories import status_report
from tests.support import LiveServer, Office

# What a lobby display is sent (app/realtime/messages.py), key for key.
SNAPSHOT_KEYS = {
    "type",
    "seq",
    "epoch",
    "at",
    "office",
    "called",
    "queues",
    "paused_counters",
    "moved",
}
CALLED_KEYS = {
    "number",
    "counter_id",
    "counter_label",
    "status",
    "called_at",
    "call_count",
    "seq",
    "announcements",
}
QUEUE_KEYS = frozenset({"category_id", "prefix", "name_ja", "name_en", "waiting", "estimate_min"})


async def issue(server: LiveServer, office: Office, prefix: str = "A", **extra: object) -> dict:
    async with server.client(office.token("kiosk")) as client:
        response = await client.post(
            f"/offices/{office.id}/tickets", json={"category": office.category(prefix), **extra}
        )
    assert response.status_code == 201, response.text
    return response.json()


async def test_issued_ticket_has_daily_number_position_and_status_url(
    server: LiveServer, office: Office
) -> None:
    first = await issue(server, office)
    second = await issue(server, office)
    assert (first["number"], second["number"]) == ("A-001", "A-002")
    assert second["position"] == 2 and second["ahead"] == 1
    # A's three counters are free: the one resident ahead and this one are called at once.
    assert second["estimate_min"] == 0
    assert second["status_url"] == (
        f"{server.url}/status/?office={office.id}&ticket={second['id']}&key={second['public_key']}"
    )
    async with server.client() as anonymous:
        public = await anonymous.get(
            f"/tickets/{second['id']}/public", params={"key": second["public_key"]}
        )
        assert public.status_code == 200
        assert public.json()["position"] == 2
        wrong = await anonymous.get(f"/tickets/{second['id']}/public", params={"key": "nope"})
        assert wrong.status_code == 404
        assert wrong.headers["content-type"] == "application/problem+json"


async def test_numbers_past_999_keep_every_digit(server: LiveServer, office: Office) -> None:
    # The day's 999th resident of a category is A-999, the next A-1000 (not A-100 again).
    await issue(server, office)
    engine = create_engine(server.settings.database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                text("UPDATE ticket_sequence SET last_value = 998 WHERE category_id = :category"),
                {"category": office.category("A")},
            )
    finally:
        await engine.dispose()
    numbers = [(await issue(server, office))["number"] for _ in range(2)]
    assert numbers == ["A-999", "A-1000"]


async def test_call_next_serves_priority_first_then_oldest(
    server: LiveServer, office: Office
) -> None:
    plain = await issue(server, office)
    urgent = await issue(server, office, is_priority=True)
    async with server.client(office.token("counter")) as counter:
        called = await counter.post(f"/counters/{office.counter('1')}/call-next")
        assert called.status_code == 200
        assert called.json()["number"] == urgent["number"]
        assert called.json()["counter_label"] == "1"
        second = await counter.post(f"/counters/{office.counter('2')}/call-next")
        assert second.json()["number"] == plain["number"]
        none_left = await counter.post(f"/counters/{office.counter('2')}/call-next")
        assert none_left.status_code == 204


async def test_counter_calls_only_categories_it_serves(server: LiveServer, office: Office) -> None:
    await issue(server, office, "B")
    async with server.client(office.token("counter")) as counter:
        # Counter 2 serves A only; counter 3 serves B.
        assert (await counter.post(f"/counters/{office.counter('2')}/call-next")).status_code == 204
        assert (await counter.post(f"/counters/{office.counter('3')}/call-next")).json()[
            "number"
        ] == "B-001"


async def test_full_service_and_illegal_step(server: LiveServer, office: Office) -> None:
    ticket = await issue(server, office)
    async with server.client(office.token("counter")) as counter:
        await counter.post(f"/counters/{office.counter('1')}/call-next")
        for step, status in [("recall", "called"), ("start", "serving"), ("finish", "done")]:
            response = await counter.post(f"/tickets/{ticket['id']}/{step}")
            assert response.status_code == 200, response.text
            assert response.json()["status"] == status
        again = await counter.post(f"/tickets/{ticket['id']}/start")
        assert again.status_code == 409
        body = again.json()
        assert body["code"] == "invalid_transition" and body["status"] == 409


async def test_lobby_snapshot_shows_called_numbers_and_waiting(
    server: LiveServer, office: Office
) -> None:
    first = await issue(server, office)
    await issue(server, office)
    # The resident of the called number has a 児童扶養手当 form linked to their ticket.
    async with server.client(office.token("intake")) as intake:
        linked = await intake.post("/applications", json=status_report(ticket=first["id"]))
    assert linked.status_code == 201, linked.text
    async with server.client(office.token("counter")) as counter:
        await counter.post(f"/counters/{office.counter('4')}/call-next")
    async with server.client(office.token("display")) as display:
        response = await display.get(f"/offices/{office.id}/lobby")
    snapshot = response.json()
    assert snapshot["type"] == "lobby.snapshot"
    assert snapshot["seq"] == 3
    assert [(c["number"], c["counter_label"]) for c in snapshot["called"]] == [("A-001", "4")]
    queue_a = next(q for q in snapshot["queues"] if q["prefix"] == "A")
    assert queue_a["waiting"] == 1
    # Numbers, counters and per-category counts only: a called number says nothing of its
    # resident or of what they came for (DOMAIN.md §7.14).
    assert set(snapshot) == SNAPSHOT_KEYS
    assert [set(c) for c in snapshot["called"]] == [CALLED_KEYS]
    # What the display says aloud: the number and the counter, nothing else.
    assert [(set(a), a["text"]) for a in snapshot["called"][0]["announcements"]] == [
        ({"language", "text", "url"}, "エー の 1番の方、4番窓口へお越しください")
    ]
    assert {frozenset(q) for q in snapshot["queues"]} == {QUEUE_KEYS}
    for private in ("佐藤", "child_rearing", "児童扶養", linked.json()["id"], first["id"]):
        assert private not in response.text


async def test_ticket_carries_the_kiosk_language_to_its_public_view(
    server: LiveServer, office: Office
) -> None:
    async with server.client(office.token("kiosk")) as kiosk:
        issued = await kiosk.post(
            f"/offices/{office.id}/tickets",
            json={"category": office.category("A"), "language": "vi"},
        )
        assert issued.status_code == 201
        assert issued.json()["language"] == "vi"
        easy = await kiosk.post(
            f"/offices/{office.id}/tickets",
            json={"category": office.category("A"), "language": "ja-easy"},
        )
        assert easy.json()["language"] == "ja-easy"
        unknown = await kiosk.post(
            f"/offices/{office.id}/tickets",
            json={"category": office.category("A"), "language": "xx"},
        )
        assert unknown.status_code == 422
        assert unknown.headers["content-type"] == "application/problem+json"
        assert [e["field"] for e in unknown.json()["errors"]] == ["language"]
    ticket = issued.json()
    async with server.client() as anonymous:
        public = await anonymous.get(
            f"/tickets/{ticket['id']}/public", params={"key": ticket["public_key"]}
        )
    assert public.json()["language"] == "vi"
    default = await issue(server, office)
    assert default["language"] == "ja"

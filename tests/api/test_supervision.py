"""Supervisors move operators between procedures and read the access log; the console's self
view."""

from typing import Any

from sqlalchemy import select

from app.storage.db import create_engine, make_sessionmaker
from app.storage.tables import EventLog
from tests.api.test_work_queue import claim, receive, token
from tests.factories import move_in, status_report
from tests.support import LiveServer, Office


async def operator_id(server: LiveServer, office: Office, name: str) -> str:
    async with server.client(office.token("supervisor")) as supervisor:
        listed = (await supervisor.get("/work/operators")).json()
    return str(next(o["token_id"] for o in listed if o["name"] == name))


async def test_supervisor_moves_an_operator_between_procedures(
    server: LiveServer, office: Office
) -> None:
    await receive(server, office, move_in())
    secret = await token(server, office, "operator", "山田 (entry team)")
    op_id = await operator_id(server, office, "山田 (entry team)")
    async with (
        server.client(office.token("supervisor")) as supervisor,
        server.client(secret) as operator,
    ):
        moved = await supervisor.put(
            f"/work/operators/{op_id}/qualifications",
            json=[
                "child_rearing.status_report",
                "child_allowance.claim",
                "child_rearing.status_report",
            ],
        )
        assert moved.status_code == 200, moved.text
        # Catalogue order, each code once.
        assert moved.json()["qualifications"] == [
            "child_allowance.claim",
            "child_rearing.status_report",
        ]
        me = (await operator.get("/work/me")).json()
        assert me["qualifications"] == ["child_allowance.claim", "child_rearing.status_report"]
        assert me["role"] == "operator" and me["may_reveal_my_number"] is True
        assert await claim(operator) is None  # the 転入届 is no longer theirs
        empty = await supervisor.put(f"/work/operators/{op_id}/qualifications")
        assert empty.status_code == 422
        back = await supervisor.put(
            f"/work/operators/{op_id}/qualifications",
            content=b"null",
            headers={"Content-Type": "application/json"},
        )
        assert back.status_code == 200 and back.json()["qualifications"] is None
        task = await claim(operator)
        assert task is not None and task["procedure"] == "resident.move_in"
        listed = {o["token_id"]: o for o in (await supervisor.get("/work/operators")).json()}
        assert listed[op_id]["qualifications"] is None

    engine = create_engine(server.settings.database_url)
    async with make_sessionmaker(engine)() as session:
        log = (
            (
                await session.execute(
                    select(EventLog)
                    .where(
                        EventLog.entity == "api_token",
                        EventLog.entity_id == op_id,
                        EventLog.action == "qualifications",
                    )
                    .order_by(EventLog.id)  # type: ignore[arg-type]
                )
            )
            .scalars()
            .all()
        )
    await engine.dispose()
    assert [(e.data or {}).get("to") for e in log] == [
        ["child_allowance.claim", "child_rearing.status_report"],
        None,
    ]
    assert log[0].actor_role == "supervisor"


async def test_only_operators_of_the_callers_municipality(
    server: LiveServer, office: Office, other_office: Office
) -> None:
    async with server.client(office.token("admin")) as admin:
        # The city's own operator (the vendor's operators take direction from their manager).
        tokens = {
            t["role"]: t["id"]
            for t in (await admin.get("/admin/tokens")).json()
            if t.get("employer") != "vendor"
        }
    async with server.client(other_office.token("admin")) as admin:
        foreign = next(
            t["id"] for t in (await admin.get("/admin/tokens")).json() if t["role"] == "operator"
        )
    async with server.client(office.token("supervisor")) as supervisor:
        for target in (tokens["reviewer"], tokens["supervisor"], foreign, "nope"):
            response = await supervisor.put(
                f"/work/operators/{target}/qualifications", json=["resident.move_in"]
            )
            assert response.status_code == 404, response.text
            assert response.headers["content-type"] == "application/problem+json"
        bad = await supervisor.put(
            f"/work/operators/{tokens['operator']}/qualifications",
            json=["resident.move_in", "resident.teleport"],
        )
        assert bad.status_code == 422
        assert bad.json()["errors"][0]["code"] == "unknown_procedure"
        unchanged = {o["token_id"]: o for o in (await supervisor.get("/work/operators")).json()}
        assert unchanged[tokens["operator"]]["qualifications"] is None
        assert foreign not in unchanged
    async with server.client(office.token("operator")) as operator:
        refused = await operator.put(
            f"/work/operators/{tokens['operator']}/qualifications", json=None
        )
        assert refused.status_code == 403


async def test_access_log_shows_who_saw_my_numbers_newest_first_paginated(
    server: LiveServer, office: Office
) -> None:
    first = await receive(server, office, status_report())
    second = await receive(server, office, move_in())
    async with server.client(office.token("operator")) as operator:
        assert (await operator.get(f"/applications/{first}")).status_code == 200
        shown = await operator.get(f"/applications/{first}", params={"reveal_my_number": "true"})
        assert shown.json()["my_number_shown"] is True
        assert (await operator.get(f"/applications/{second}")).status_code == 200
    async with server.client(office.token("reviewer")) as reviewer:
        assert (await reviewer.get(f"/applications/{first}")).status_code == 200
    async with server.client(office.token("supervisor")) as supervisor:
        page = (await supervisor.get("/access-log", params={"entity_id": first, "limit": 2})).json()
        assert [(e["actor_role"], e["my_number_shown"]) for e in page["items"]] == [
            ("reviewer", False),
            ("operator", True),
        ]
        assert page["items"][1]["actor_name"] and page["items"][0]["action"] == "view"
        rest = (
            await supervisor.get(
                "/access-log",
                params={"entity_id": first, "limit": 2, "cursor": page["next_cursor"]},
            )
        ).json()
        assert [e["my_number_shown"] for e in rest["items"]] == [False]
        assert rest["next_cursor"] is None
        revealed = (await supervisor.get("/access-log", params={"my_number_shown": "true"})).json()
        assert [e["entity_id"] for e in revealed["items"]] == [first]
        everything: list[dict[str, Any]] = (await supervisor.get("/access-log")).json()["items"]
        assert {e["entity_id"] for e in everything} == {first, second}
        bad = await supervisor.get("/access-log", params={"cursor": "garbage!"})
        assert bad.status_code == 422


async def test_console_self_view_for_each_console_role(server: LiveServer, office: Office) -> None:
    for role, reveal in (
        ("operator", True),
        ("operator_vendor", False),
        ("reviewer", True),
        ("supervisor", False),
    ):
        async with server.client(office.token(role)) as client:
            me = (await client.get("/work/me")).json()
        assert me["may_reveal_my_number"] is reveal, role
        assert me["lease_s"] == server.settings.queue.lease_s
        assert me["confidence_threshold"] == server.settings.queue.confidence_threshold
    async with server.client(office.token("kiosk")) as kiosk:
        assert (await kiosk.get("/work/me")).status_code == 403

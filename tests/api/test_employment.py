"""Command lines follow employment (DOMAIN.md §3.3, 偽装請負): only the vendor's 管理責任者
assigns, qualifies or releases the vendor's operators' work; the city supervisor sees their
counts but is refused, with the reason, when trying to direct them."""

import json
from typing import Any

from tests.api.test_work_queue import claim, receive
from tests.factories import move_in
from tests.support import LiveServer, Office, make_settings, run_server
from tests.test_cli import madoguchi


async def operator_ids(office: Office, server: LiveServer) -> dict[str, str]:
    async with server.client(office.token("admin")) as admin:
        tokens = (await admin.get("/admin/tokens")).json()
    return {t["employer"]: t["id"] for t in tokens if t["role"] == "operator"}


async def test_a_city_supervisor_cannot_qualify_a_vendor_operator_but_their_manager_can(
    server: LiveServer, office: Office, other_office: Office
) -> None:
    ids = await operator_ids(office, server)
    async with server.client(office.token("supervisor")) as supervisor:
        refused = await supervisor.put(
            f"/work/operators/{ids['vendor']}/qualifications", json=["resident.move_in"]
        )
        assert refused.status_code == 403, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["code"] == "vendor_staff_direction"
        assert "管理責任者" in refused.json()["detail"]
        # The supervisor still sees the vendor's operators, unchanged.
        listed = {o["token_id"]: o for o in (await supervisor.get("/work/operators")).json()}
        assert (
            listed[ids["vendor"]]["qualifications"] is None
            and listed[ids["vendor"]]["employer"] == "vendor"
        )
        # City staff remain theirs to direct.
        mine = await supervisor.put(
            f"/work/operators/{ids['city']}/qualifications", json=["resident.move_in"]
        )
        assert mine.status_code == 200
    async with server.client(office.token("vendor_manager")) as manager:
        moved = await manager.put(
            f"/work/operators/{ids['vendor']}/qualifications", json=["child_allowance.claim"]
        )
        assert moved.status_code == 200, moved.text
        assert moved.json()["qualifications"] == ["child_allowance.claim"]
        # The manager lists the vendor's operators only, and cannot direct city staff.
        assert {o["employer"] for o in (await manager.get("/work/operators")).json()} == {"vendor"}
        city = await manager.put(f"/work/operators/{ids['city']}/qualifications", json=None)
        assert city.status_code == 403 and city.json()["code"] == "vendor_staff_direction"
    async with server.client(other_office.token("vendor_manager")) as stranger:
        foreign = await stranger.put(f"/work/operators/{ids['vendor']}/qualifications", json=None)
        assert foreign.status_code == 404
    async with server.client(office.token("operator_vendor")) as operator:
        assert (await operator.get("/work/me")).json()["qualifications"] == [
            "child_allowance.claim"
        ]


async def test_releasing_a_vendor_operators_task_is_for_their_manager(
    server: LiveServer, office: Office
) -> None:
    await receive(server, office, move_in())
    await receive(
        server, office, move_in(applicant={"family_name": "別世帯", "household_ref": "H-9"})
    )
    ids = await operator_ids(office, server)
    async with (
        server.client(office.token("operator_vendor")) as vendor_op,
        server.client(office.token("operator")) as city_op,
    ):
        vendor_task = await claim(vendor_op)
        city_task = await claim(city_op)
        assert vendor_task is not None and city_task is not None
    async with server.client(office.token("supervisor")) as supervisor:
        stats = (await supervisor.get("/work/stats")).json()
        holding = {o["token_id"]: o for o in stats["operators"]}
        assert [h["task_id"] for h in holding[ids["vendor"]]["holding"]] == [vendor_task["id"]]
        assert holding[ids["vendor"]]["employer"] == "vendor"
        refused = await supervisor.post(f"/work/{vendor_task['id']}/release", json={})
        assert refused.status_code == 403 and refused.json()["code"] == "vendor_staff_direction"
        assert (await supervisor.post(f"/work/{city_task['id']}/release", json={})).json()[
            "status"
        ] == "open"
    async with server.client(office.token("operator_vendor")) as vendor_op:
        # Still the vendor operator's: the refused release changed nothing.
        beat = await vendor_op.post(
            f"/work/{vendor_task['id']}/heartbeat", json={"lease_token": vendor_task["lease_token"]}
        )
        assert beat.status_code == 200
    async with server.client(office.token("vendor_manager")) as manager:
        city_task = await claim_again(server, office)
        refused = await manager.post(f"/work/{city_task['id']}/release", json={})
        assert refused.status_code == 403 and refused.json()["code"] == "vendor_staff_direction"
        released = await manager.post(f"/work/{vendor_task['id']}/release", json={})
        assert released.status_code == 200 and released.json()["status"] == "open"
    events = await release_events(server, office)
    assert vendor_task["id"] in events


async def claim_again(server: LiveServer, office: Office) -> dict[str, Any]:
    async with server.client(office.token("operator")) as city_op:
        task = await claim(city_op)
    assert task is not None
    return task


async def release_events(server: LiveServer, office: Office) -> list[str]:
    from sqlalchemy import select

    from app.storage.db import create_engine, make_sessionmaker
    from app.storage.tables import EventLog

    engine = create_engine(server.settings.database_url)
    async with make_sessionmaker(engine)() as session:
        rows = (
            (
                await session.execute(
                    select(EventLog).where(EventLog.action == "release").order_by(EventLog.id)  # type: ignore[arg-type]
                )
            )
            .scalars()
            .all()
        )
    await engine.dispose()
    return [r.entity_id for r in rows]


async def test_the_vendor_queue_is_the_managers_not_the_vendor_systems(
    server: LiveServer, office: Office
) -> None:
    async with server.client(office.token("vendor")) as system:
        refused = await system.get("/work/vendor-queue")
        assert refused.status_code == 403
    async with server.client(office.token("vendor_manager")) as manager:
        assert (await manager.get("/work/vendor-queue")).status_code == 200
        # A manager decides nothing: no review, no keying.
        assert (await manager.post("/work/claim", json={})).status_code == 403
    async with server.client(office.token("supervisor")) as supervisor:
        assert (await supervisor.get("/work/vendor-queue")).status_code == 403


async def test_an_admin_cannot_make_a_city_employed_vendor_manager(
    server: LiveServer, office: Office
) -> None:
    async with server.client(office.token("admin")) as admin:
        refused = await admin.post(
            "/admin/tokens", json={"role": "vendor_manager", "name": "x", "employer": "city"}
        )
        assert refused.status_code == 422
        made = await admin.post(
            "/admin/tokens", json={"role": "vendor_manager", "name": "管理責任者 山田"}
        )
        assert made.status_code == 201, made.text
        assert made.json()["employer"] == "vendor"


async def test_seed_demo_and_token_create_make_a_vendor_manager(clean_db: str) -> None:
    seeded = json.loads(madoguchi(clean_db, "seed-demo", "--json").stdout)
    assert {"vendor", "vendor_manager", "operator_vendor"} <= set(seeded["tokens"])
    created = madoguchi(
        clean_db,
        "token",
        "create",
        "--municipality",
        "431001",
        "--role",
        "vendor_manager",
        "--name",
        "管理責任者 佐々木",
        # Without a contract a vendor-employed person sees nothing (the visibility policy).
        "--contract",
        seeded["vendor_contracts"][0]["id"],
    )
    assert created.returncode == 0, created.stderr
    async with run_server(make_settings(clean_db)) as server:
        for secret in (seeded["tokens"]["vendor_manager"], created.stdout.strip()):
            async with server.client(secret) as manager:
                assert (await manager.get("/work/vendor-queue")).status_code == 200

"""Who may call what, read from the route table, and no municipality ever sees another's rows."""

from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from sqlalchemy import select

from app.api.deps import RoleGuard
from app.domain.announcements import announcements_for, sound_check_announcements
from app.domain.roles import Role
from app.main import create_app
from app.services.announcements import catalogues
from app.settings import Settings
from app.storage.db import create_engine, make_sessionmaker
from app.storage.tables import Task
from tests.api.test_move_in_reservations import reservation
from tests.factories import move_in, status_report
from tests.support import LiveServer, Office

# Routes anyone may call: the resident's own ticket (by its secret key) and operations; staff
# sign-in, which checks the password, the SSO proxy or the session cookie itself.
PUBLIC = {
    "/api/v1/tickets/{ticket_id}/public",
    "/api/v1/tickets/{ticket_id}/public/notify",
    "/api/v1/tickets/{ticket_id}/qr.svg",
    "/healthz",
    "/readyz",
    "/metrics",
    "/api/v1/auth/login",
    "/api/v1/auth/sso",
    "/api/v1/auth/me",
    "/api/v1/auth/logout",
    # 来庁予約: free slots, and a booking by its confirmation code (rate-limited per address).
    "/api/v1/public/offices/{office_id}/appointment-slots",
    "/api/v1/public/appointments",
    "/api/v1/public/appointments/{code}",
    "/api/v1/public/appointments/{code}/move",
    "/api/v1/public/appointments/{code}/cancel",
    # The booking page: which categories take bookings, and the QR of a real booking's code.
    "/api/v1/public/offices/{office_id}/appointment-categories",
    "/api/v1/public/appointments/{code}/qr.svg",
}


def api_routes() -> list[tuple[str, APIRoute]]:
    """(full path, route) of every documented HTTP route of the application."""
    app = create_app(Settings(database_url="sqlite+aiosqlite:///:memory:"))
    return [
        (context.path, context.original_route)
        for context in iter_route_contexts(app.routes)
        if isinstance(context.original_route, APIRoute) and context.original_route.include_in_schema
    ]


def roles_of(route: APIRoute) -> frozenset[Role] | None:
    pending = [route.dependant]
    while pending:
        dependant = pending.pop()
        if isinstance(dependant.call, RoleGuard):
            return dependant.call.roles
        pending.extend(dependant.dependencies)
    return None


ROUTES = [
    (method, path, roles_of(route))
    for path, route in api_routes()
    for method in sorted(route.methods)
    if path not in PUBLIC
]


def test_every_route_declares_its_roles() -> None:
    undeclared = [f"{method} {path}" for method, path, roles in ROUTES if not roles]
    assert undeclared == []


def body_for(path: str, office: Office) -> Any:
    if path.endswith("/applications"):
        return move_in()
    if path.endswith("/whatif"):
        return {"target": 0.9, "population": 2_000, "seed": 1}
    if path.endswith(("/withdraw", "/correction")):
        return {"reason": "申出による"}
    if path.startswith("/api/v1/work/{task_id}/submit"):
        return {"lease_token": "stale", "decision": "approve"}
    if path.startswith("/api/v1/work/{task_id}"):
        return {"lease_token": "stale"}
    if path.endswith("/work/claim"):
        return {}
    if path.endswith("/qualifications"):
        return ["resident.move_in"]
    if path.endswith("/appointment-hours"):
        return {"opens_at": "09:00", "closes_at": "12:00", "slot_minutes": 30, "seats": 1}
    if path.endswith("/appointments/check-in"):
        return {"code": "not a code"}
    if path.endswith("/move-in-reservations/check-in"):
        return {"number": "not a number"}
    if path.endswith("/move-in-reservations"):
        return reservation(office, f"MP-{office.id}")
    if path.endswith("/offices/{office_id}/appointments"):
        return {
            "category_id": office.category("A"),
            "starts_at": "2030-01-07T10:00:00+09:00",
            "initial": "K",
        }
    if path.endswith("/tickets") and "admin" not in path:
        return {"category": office.category("A")}
    if path.endswith(("/transfer", "/tickets/{ticket_id}/stops")):
        return {"category": office.category("B")}
    if path.endswith("/counters/{counter_id}/call"):
        return {"ticket": "A-001"}
    if path.endswith("/tickets/{ticket_id}/resume"):
        return {"counter": office.counter("1")}
    if path.endswith("/quiet-hours"):
        return {"ranges": [{"start": "12:00", "end": "13:00"}]}
    if path.endswith("/test-announcement"):
        return {"display": None}
    if path.endswith("/announce-languages"):
        return {"languages": ["en"]}
    if path.endswith("/admin/offices"):
        return {"name_ja": "支所", "name_en": "Branch"}
    if path.endswith("/categories") and "counters" not in path:
        return {"prefix": "Z", "name_ja": "臨時", "name_en": "Temporary"}
    if path.endswith("/counters/{counter_id}/categories"):
        return [office.category("A")]
    if path.endswith("/counters"):
        return {"label": "99", "name_ja": "99番窓口", "name_en": "Counter 99", "categories": []}
    if path.endswith("/admin/tokens"):
        return {"role": "display", "name": "lobby TV", "office_id": office.id}
    if path.endswith("/admin/vendor-contracts"):
        return {
            "vendor_name": "入力センター",
            "procedures": ["child_rearing.status_report"],
            "field_allow_list": ["claimant_name"],
        }
    if path.endswith("/admin/vendor-contracts/{contract_id}"):
        return {"batch_size": 100}
    if path.endswith("/admin/vendor-contracts/{contract_id}/tokens"):
        return {"name": "vendor system"}
    return None


async def ids_of(server: LiveServer, office: Office) -> dict[str, str]:
    async with server.client(office.token("kiosk")) as kiosk:
        ticket = (
            await kiosk.post(
                f"/offices/{office.id}/tickets", json={"category": office.category("A")}
            )
        ).json()
    async with server.client(office.token("admin")) as admin:
        # An operator's token: admins may revoke any token, supervisors set operators'
        # qualifications.
        token_id = next(
            t["id"] for t in (await admin.get("/admin/tokens")).json() if t["role"] == "operator"
        )
    async with server.client(office.token("intake")) as intake:
        application = (await intake.post("/applications", json=move_in())).json()
        await intake.post("/applications", json=status_report())  # work the demo contract sends out
        scan = f"scan of {office.id}".encode()
        sha256 = (await intake.post("/attachments", content=scan)).json()["sha256"]
        number = (
            await intake.post("/move-in-reservations", json=reservation(office, "MP-MATRIX"))
        ).json()["number"]
    async with server.client(office.token("admin")) as admin:
        contract_id = (await admin.get("/admin/vendor-contracts")).json()[0]["id"]
        batch_id = (await admin.post(f"/admin/vendor-contracts/{contract_id}/seal")).json()[
            "batches"
        ][0]["id"]
    engine = create_engine(server.settings.database_url)
    async with make_sessionmaker(engine)() as session:
        task_id = (
            await session.execute(select(Task.id).where(Task.application_id == application["id"]))
        ).scalar_one()
    await engine.dispose()
    said = announcements_for(ticket["number"], "1", "ja", catalogues())[0]
    return {
        "office_id": office.id,
        "counter_id": office.counter("1"),
        "category_id": office.category("A"),
        "ticket_id": ticket["id"],
        # The announcement of calling the ticket at counter 1 (its recipe goes in the query).
        "digest": said.digest,
        "announcement": urlencode(
            {"lang": "ja", "number": ticket["number"], "counter": office.counter("1")}
        ),
        # The test announcement's Japanese phrase (the office announces every language).
        "test_digest": sound_check_announcements(catalogues())[0].digest,
        "token_id": token_id,
        "application_id": application["id"],
        "task_id": task_id,
        "contract_id": contract_id,
        "batch_id": batch_id,
        "sha256": sha256,
        "number": number,
    }


def fill(path: str, ids: dict[str, str]) -> str:
    if "/announcements/test/" in path:
        return path.removeprefix("/api/v1").format(**{**ids, "digest": ids["test_digest"]}) + (
            "?lang=ja"
        )
    filled = path.removeprefix("/api/v1").format(**ids)
    return f"{filled}?{ids['announcement']}" if "/announcements/" in path else filled


@pytest.mark.parametrize(
    ("method", "path", "roles"), ROUTES, ids=[f"{m} {p}" for m, p, _ in ROUTES]
)
async def test_roles_not_listed_are_refused(
    server: LiveServer, office: Office, method: str, path: str, roles: frozenset[Role]
) -> None:
    ids = await ids_of(server, office)
    for role in Role:
        if role in roles:
            continue
        async with server.client(office.token(role.value)) as client:
            response = await client.request(method, fill(path, ids), json=body_for(path, office))
        assert response.status_code == 403, f"{role} got {response.status_code} on {method} {path}"
        assert response.json()["code"] == "not_allowed"
    async with server.client() as anonymous:
        response = await anonymous.request(method, fill(path, ids), json=body_for(path, office))
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("method", "path", "roles"), ROUTES, ids=[f"{m} {p}" for m, p, _ in ROUTES]
)
async def test_listed_roles_pass_and_other_municipalities_rows_are_not_found(
    server: LiveServer,
    office: Office,
    other_office: Office,
    method: str,
    path: str,
    roles: frozenset[Role],
) -> None:
    mine = await ids_of(server, office)
    theirs = await ids_of(server, other_office)
    for role in roles:
        async with server.client(office.token(role.value)) as client:
            own = await client.request(method, fill(path, mine), json=body_for(path, office))
            # Dispatch takes only tasks in the vendor manager's queue: a fresh task is not there.
            refused = (401, 403) if path.endswith("/dispatch") else (401, 403, 404)
            # The vendor's 管理責任者 directs vendor operators only: the row here is a city
            # operator's.
            directs_city_staff = (
                own.status_code == 403 and own.json().get("code") == "vendor_staff_direction"
            )
            assert own.status_code not in refused or directs_city_staff, (
                f"{role} {method} {path}: {own.text}"
            )
            if "{" in path:
                foreign = await client.request(
                    method, fill(path, theirs), json=body_for(path, office)
                )
                assert foreign.status_code == 404, (
                    f"{role} {method} {path} foreign: {foreign.status_code}"
                )
                assert foreign.headers["content-type"] == "application/problem+json"

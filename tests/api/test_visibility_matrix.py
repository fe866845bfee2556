"""Who sees what, generated: role × employer × contract × every route that returns application data.

The routes come from the route table (as in test_access_matrix.py): every route a staff or vendor
role may call is either driven here or listed with the reason it carries no application data, so
a new route cannot slip past the policy. Each case seeds, through the public API, applications
with valid My Numbers, two persons under 支援措置 (one flagged by the sender, one whose form says
DV evacuee), fields outside the contracts' allow-lists, a settle task of a My Number mismatch and
one of a birth-date mismatch, and work returned to the vendor's manager. Then every response the
caller gets is scanned: no vendor-employed person receives a full My Number, a 支援措置 reason or a
protected person's form, and every response showing personal data has its access-log row, whose
``my_number_shown`` is true exactly when a full My Number was in the response.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx2
import pytest
from sqlalchemy import func, select, update

from app.domain.applications import get_path
from app.domain.roles import Role
from app.storage.db import create_engine, make_sessionmaker
from app.storage.tables import AccessLog, Application, Task
from tests.api.test_access_matrix import api_routes, roles_of
from tests.factories import my_number
from tests.support import LiveServer, Office

PROCEDURE = "child_allowance.status_report"
# People and systems who may read application data: city staff and everyone on the vendor's side.
STAFF_ROLES = {Role.OPERATOR, Role.REVIEWER, Role.SUPERVISOR, Role.VENDOR} | {
    r for r in Role if r.value == "vendor_manager"
}
ALLOW = [
    "claimant_name",
    "claimant_kana",
    "claimant_birth_date",
    "recipient_number",
    "children",
    "applicant.family_name",
]
OUTSIDE_ALLOW = "外山 秀樹"  # spouse_name: no contract names it
PROTECTED_NAMES = ("鬼塚 美咲", "権藤 沙織", "宍戸 遥")
SUPPORT_MARKERS = ("dv_evacuee", "配偶者からの暴力")

# Routes staff or vendor roles may call that return no application data, and why.
NO_APPLICATION_DATA = {
    "POST /api/v1/work/{task_id}/heartbeat": "the lease's expiry only",
    "POST /api/v1/work/{task_id}/submit": "ids and the new status only",
    "POST /api/v1/work/{task_id}/release": "the lease's state only",
    "POST /api/v1/work/{task_id}/dispatch": "the lease's state only",
    "GET /api/v1/work/stats": "counts per procedure, step and operator",
    "GET /api/v1/work/me": "the caller's own token",
    "GET /api/v1/work/operators": "staff tokens, no residents",
    "PUT /api/v1/work/operators/{token_id}/qualifications": "staff tokens, no residents",
    "GET /api/v1/access-log": "who saw what: ids, never the data",
    "GET /api/v1/access-reports": "who did what when: staff, terminals and record ids, no data",
    "GET /api/v1/procedures": "the public catalogue",
    "POST /api/v1/offices/{office_id}/appointments": "a booking: slot, initial, its code",
    "GET /api/v1/offices/{office_id}/appointments": "bookings: slot and initial, no contact",
    "GET /api/v1/lobby-stats": "counts and times per category and counter, no tickets",
    "GET /api/v1/lobby-stats/estimates": "each wait model's errors per category, no tickets",
    "POST /api/v1/tickets/{ticket_id}/skip-stop": "a lobby ticket: number, status, plan",
    "POST /api/v1/tickets/{ticket_id}/stops": "a lobby ticket: number, status, plan",
    "GET /api/v1/vendor/batches": "batch metadata",
    "POST /api/v1/vendor/batches/{batch_id}/lease": "the lease and the manifest (counts, hashes)",
    "POST /api/v1/vendor/batches/{batch_id}/results": "outcomes of the vendor's own keying",
    "POST /api/v1/vendor/batches/{batch_id}/ack": "the batch's state",
    # City staff only; the characters CP932 cannot carry are logged (tests/api/test_visibility.py).
    "POST /api/v1/admin/vendor-contracts/{contract_id}/seal": "counts, held-back characters",
    "GET /api/v1/admin/vendor-contracts/{contract_id}/held-back": "held-back characters",
    "POST /api/v1/admin/vendor-batches/{batch_id}/recall": "city staff: the batch's state",
    "GET /api/v1/admin/vendor-batches": "city staff: batch metadata",
    "POST /api/v1/applications/{application_id}/withdraw": "city staff: the new status only",
    "GET /api/v1/auth/failures": "failed sign-ins: staff numbers and times, no residents",
    "POST /api/v1/applications/{application_id}/correction": "city staff: the new status only",
    # City staff only (vendor-employed operators: 403); persons by their place on the form.
    "GET /api/v1/follow-ups": "city staff: follow-up kinds, departments and due dates, no names",
    "GET /api/v1/life-events/{application_id}": "city staff: the move's status and follow-ups",
    # 転入予約: a resident's 転出届 before it is an application; city staff only (every
    # vendor-employed role gets 403 in tests/api/test_access_matrix.py), each read access-logged
    # (tests/api/test_move_in_reservations.py).
    "GET /api/v1/move-in-reservations": "city staff: reservations due or expired",
    "GET /api/v1/move-in-reservations/{number}": "city staff: one reservation",
    "GET /api/v1/move-in-reservations/{number}/qr.svg": "city staff: the reservation's number",
    "POST /api/v1/whatif": "city staff: simulated staffing from counts and durations",
    "GET /api/v1/admin/offices/{office_id}/displays": "city staff: display tokens' names",
    "POST /api/v1/admin/offices/{office_id}/test-announcement": "city staff: a fixed phrase",
    "PUT /api/v1/admin/offices/{office_id}/quiet-hours": "city staff: the office's hours",
}
DRIVEN = {
    "GET /api/v1/applications/{application_id}",
    "GET /api/v1/attachments/{sha256}",
    "POST /api/v1/work/claim",
    "GET /api/v1/work/vendor-queue",
    "GET /api/v1/vendor/batches/{batch_id}/items",
}
ROUTE_ROLES = {
    f"{method} {path}": roles_of(route)
    for path, route in api_routes()
    for method in sorted(route.methods)
}


def test_every_route_staff_may_call_is_in_the_matrix() -> None:
    """A new route that staff or the vendor may call must be driven below or say why not."""
    reachable = {key for key, roles in ROUTE_ROLES.items() if roles and roles & STAFF_ROLES}
    assert reachable - DRIVEN - set(NO_APPLICATION_DATA) == set()
    assert DRIVEN | set(NO_APPLICATION_DATA) <= set(ROUTE_ROLES)


# ---- the callers ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Caller:
    role: str
    employer: str
    contract: str  # "n/a" for city staff, else "none" / "plain" (no My Number) / "my_number"

    @property
    def vendor_side(self) -> bool:
        return self.employer == "vendor"

    def __str__(self) -> str:
        return f"{self.role}-{self.employer}-{self.contract}"


# City staff roles, and every role a vendor-employed person or system holds, under each contract.
VENDOR_SIDE_ROLES = [
    "operator",
    *sorted(r.value for r in STAFF_ROLES if r.value.startswith("vendor")),
]
CALLERS = [
    *[Caller(role, "city", "n/a") for role in ("operator", "reviewer", "supervisor")],
    *[
        Caller(role, "vendor", c)
        for role in VENDOR_SIDE_ROLES
        for c in ("none", "plain", "my_number")
    ],
]


# ---- the seed -------------------------------------------------------------------------------


def report(name: str, number_base: str, *, reason: str = "other", **extra: Any) -> dict[str, Any]:
    """A 児童手当 現況届 with a valid My Number and a field outside every allow-list."""
    return {
        "procedure": PROCEDURE,
        "channel": "ocr",
        "received_at": "2026-06-10T09:00:00+09:00",
        "applicant": {
            "family_name": name.split()[0],
            "given_name": name.split()[1],
            "phone": "096-111-2222",
        },
        "fields": {
            "filing_date": "令和8年6月10日",
            "claimant_name": name,
            "claimant_kana": "テスト タロウ",
            "claimant_birth_date": "平成2年5月5日",
            "claimant_sex": "female",
            "claimant_address": "熊本市中央区手取本町1-1",
            "claimant_phone": "096-111-2222",
            "claimant_my_number": my_number(number_base),
            "recipient_number": "R-0001",
            "filing_reason": reason,
            "pension_type": "employees_pension",
            "spouse_name": OUTSIDE_ALLOW,
            "children": [
                {
                    "name": "試験 陽",
                    "kana": "シケン ヒナタ",
                    "birth_date": "平成30年1月9日",
                    "relationship": "子",
                    "living_together": True,
                }
            ],
        },
        "ocr": {
            "claimant_my_number": {
                "value": my_number(number_base),
                "confidence": 0.99,
                "image": "crop://1/my_number",
            },
            "spouse_name": {"value": OUTSIDE_ALLOW, "confidence": 0.95},
        },
        **extra,
    }


@dataclass
class Seed:
    numbers: set[str] = field(default_factory=set)
    apps: dict[str, str] = field(default_factory=dict)  # label → application id
    attachments: list[str] = field(default_factory=list)
    contracts: dict[str, str] = field(default_factory=dict)


async def post_json(client: httpx2.AsyncClient, path: str, body: Any, status: int = 201) -> Any:
    response = await client.post(path, json=body)
    assert response.status_code == status, response.text
    return response.json()


async def claim_for(client: httpx2.AsyncClient, application_id: str, kind: str) -> dict[str, Any]:
    task = await post_json(client, "/work/claim", {"kinds": [kind]}, 200)
    assert task["application_id"] == application_id and task["kind"] == kind, task
    return task  # type: ignore[no-any-return]


async def settle_case(
    server: LiveServer,
    office: Office,
    seed: Seed,
    label: str,
    body: dict[str, Any],
    differ: str,
    other: Any,
    keyers: tuple[str, str],
) -> None:
    """Key and verify one application through the API so that ``differ`` mismatches (settle)."""
    async with server.client(office.token("intake")) as intake:
        seed.apps[label] = (await post_json(intake, "/applications", body))["id"]
    async with server.client(keyers[0]) as first, server.client(keyers[1]) as second:
        entry = await claim_for(first, seed.apps[label], "entry")
        done = await first.post(
            f"/work/{entry['id']}/submit",
            json={"lease_token": entry["lease_token"], "values": entry["form"]["values"]},
        )
        assert done.json()["application_status"] == "verify", done.text
        verify = await claim_for(second, seed.apps[label], "verify")
        keyed = {p: get_path(body["fields"], p) for p in verify["field_keys"]} | {differ: other}
        mismatch = await second.post(
            f"/work/{verify['id']}/submit",
            json={"lease_token": verify["lease_token"], "values": keyed},
        )
        assert mismatch.json()["application_status"] == "settle", mismatch.text


async def seed_everything(server: LiveServer, office: Office) -> Seed:
    seed = Seed()
    async with server.client(office.token("admin")) as admin:
        keyers = tuple(
            [
                (
                    await post_json(
                        admin,
                        "/admin/tokens",
                        {"role": "operator", "name": f"keyer {n}", "employer": "city"},
                    )
                )["token"]
                for n in "AB"
            ]
        )
        for name, terms in (
            ("plain", {}),
            (
                "my_number",
                {
                    "include_my_number": True,
                    "legal_basis": "番号法9条1項 別表第一",
                    "field_allow_list": [*ALLOW, "claimant_my_number"],
                },
            ),
        ):
            seed.contracts[name] = (
                await post_json(
                    admin,
                    "/admin/vendor-contracts",
                    {
                        "vendor_name": "入力センター株式会社",
                        "procedures": [PROCEDURE],
                        "steps": ["entry"],
                        "field_allow_list": ALLOW,
                        **terms,
                    },
                )
            )["id"]
    # Two settle tasks, keyed before anything else is received: a My Number, a birth date.
    numbers = {"settle_mn": "11111111111", "settle_date": "22222222222"}
    await settle_case(
        server,
        office,
        seed,
        "settle_mn",
        report("持田 恵", numbers["settle_mn"]),
        "claimant_my_number",
        my_number("33333333333"),
        keyers,
    )
    await settle_case(
        server,
        office,
        seed,
        "settle_date",
        report("森下 恵", numbers["settle_date"]),
        "claimant_birth_date",
        "平成2年5月6日",
        keyers,
    )
    seed.numbers |= {my_number(b) for b in numbers.values()} | {my_number("33333333333")}
    async with server.client(office.token("intake")) as intake:
        for label in ("open", "dv_form", "flagged"):
            scan = f"scan {label} {office.id}".encode()
            uploaded = await intake.post("/attachments", content=scan)
            assert uploaded.status_code == 201, uploaded.text
            seed.attachments.append(uploaded.json()["sha256"])
        cases = {
            "open": report("公開 一郎", "44444444444"),
            "dv_form": report(PROTECTED_NAMES[0], "55555555555", reason="dv_evacuee"),
            "flagged": report(PROTECTED_NAMES[1], "66666666666", support_measure=True),
            "returned": report("返却 二郎", "77777777777"),
            "returned_protected": report(PROTECTED_NAMES[2], "88888888888", support_measure=True),
        }
        for index, (label, body) in enumerate(cases.items()):
            if index < len(seed.attachments):
                body["attachments"] = [
                    {
                        "name": "scan.pdf",
                        "sha256": seed.attachments[index],
                        "media_type": "application/pdf",
                    }
                ]
            seed.apps[label] = (await post_json(intake, "/applications", body))["id"]
            seed.numbers.add(body["fields"]["claimant_my_number"])
    # Work the reviewer returned to the vendor's manager (vendor-keyed corrections).
    engine = create_engine(server.settings.database_url)
    try:
        async with make_sessionmaker(engine)() as session:
            await session.execute(
                update(Task)
                .where(
                    Task.application_id.in_(
                        [seed.apps["returned"], seed.apps["returned_protected"]]
                    ),  # type: ignore[attr-defined]
                    Task.kind == "entry",
                )
                .values(queue="vendor_manager")
            )
            await session.commit()
    finally:
        await engine.dispose()
    return seed


async def caller_token(server: LiveServer, office: Office, seed: Seed, caller: Caller) -> str:
    if not caller.vendor_side:
        return office.token(caller.role)
    contract = seed.contracts.get(caller.contract)
    async with server.client(office.token("admin")) as admin:
        if caller.role == "vendor" and contract is not None:
            answer = await post_json(
                admin, f"/admin/vendor-contracts/{contract}/tokens", {"name": "vendor system"}
            )
        else:
            answer = await post_json(
                admin,
                "/admin/tokens",
                {
                    "role": caller.role,
                    "name": f"vendor {caller.role}",
                    "employer": "vendor",
                    **({"contract_id": contract} if contract else {}),
                },
            )
    return str(answer["token"])


# ---- the drive ------------------------------------------------------------------------------


@dataclass
class Seen:
    """One response, and the access-log rows written while it was answered."""

    route: str
    status: int
    body: bytes
    personal: bool
    rows: list[tuple[bool, str]]  # (my_number_shown, action)
    full_number_allowed: bool = False


async def access_rows_after(server: LiveServer, after: int) -> tuple[int, list[tuple[bool, str]]]:
    engine = create_engine(server.settings.database_url)
    try:
        async with make_sessionmaker(engine)() as session:
            rows = (
                await session.execute(
                    select(AccessLog.id, AccessLog.my_number_shown, AccessLog.action)
                    .where(AccessLog.id > after)
                    .order_by(AccessLog.id)
                )
            ).all()
            last = (await session.execute(select(func.max(AccessLog.id)))).scalar() or 0
    finally:
        await engine.dispose()
    return last, [(bool(r[1]), str(r[2])) for r in rows]


async def drive(
    server: LiveServer, office: Office, seed: Seed, caller: Caller, token: str
) -> list[Seen]:
    seen: list[Seen] = []
    last, _ = await access_rows_after(server, 0)
    role = Role(caller.role)

    def may(route: str) -> bool:
        roles = ROUTE_ROLES[route]
        return roles is not None and role in roles

    async with server.client(token) as client:

        async def call(
            route: str,
            method: str,
            url: str,
            *,
            personal: Callable[[httpx2.Response], bool],
            full_ok: Callable[[httpx2.Response], bool] = lambda r: False,
            **kwargs: Any,
        ) -> httpx2.Response:
            nonlocal last
            response = await client.request(method, url, **kwargs)
            last, rows = await access_rows_after(server, last)
            seen.append(
                Seen(
                    route,
                    response.status_code,
                    response.content,
                    personal(response),
                    rows,
                    full_ok(response),
                )
            )
            return response

        route = "GET /api/v1/applications/{application_id}"
        if may(route):
            for application_id in seed.apps.values():
                for reveal in (False, True):
                    await call(
                        route,
                        "GET",
                        f"/applications/{application_id}",
                        params={"reveal_my_number": "true"} if reveal else {},
                        personal=lambda r: r.status_code == 200,
                        full_ok=lambda r, reveal=reveal: reveal and r.status_code == 200,
                    )
        route = "GET /api/v1/attachments/{sha256}"
        if may(route):
            for sha in seed.attachments:
                await call(
                    route, "GET", f"/attachments/{sha}", personal=lambda r: r.status_code == 200
                )
        route = "POST /api/v1/work/claim"
        if may(route):
            for _ in range(12):
                response = await call(
                    route,
                    "POST",
                    "/work/claim",
                    json={},
                    personal=lambda r: r.status_code == 200,
                    full_ok=lambda r: r.status_code == 200 and settles_a_my_number(r.json()),
                )
                if response.status_code != 200:
                    break
        route = "GET /api/v1/work/vendor-queue"
        if may(route):
            await call(
                route,
                "GET",
                "/work/vendor-queue",
                personal=lambda r: r.status_code == 200 and bool(r.json()),
            )
        route = "GET /api/v1/vendor/batches/{batch_id}/items"
        if may(route):
            contract = seed.contracts.get(caller.contract)
            if contract is not None:
                async with server.client(office.token("supervisor")) as supervisor:
                    await post_json(
                        supervisor, f"/admin/vendor-contracts/{contract}/seal", None, 200
                    )
            batches = await client.get("/vendor/batches", params={"state": "ready"})
            for batch in batches.json().get("items", []) if batches.status_code == 200 else []:
                leased = await client.post(f"/vendor/batches/{batch['id']}/lease")
                assert leased.status_code == 200, leased.text
                for fmt in ("jsonl", "csv"):
                    await call(
                        route,
                        "GET",
                        f"/vendor/batches/{batch['id']}/items",
                        params={"format": fmt, "encoding": "utf-8"},
                        headers={"Lease-Token": leased.json()["lease_token"]},
                        personal=lambda r: r.status_code == 200,
                        full_ok=lambda r: caller.contract == "my_number",
                    )
    return seen


def settles_a_my_number(task: dict[str, Any]) -> bool:
    return task["kind"] == "settle" and any(k.endswith("my_number") for k in task["field_keys"])


def full_numbers_in(body: bytes, numbers: set[str]) -> set[str]:
    text = body.decode("utf-8", errors="replace")
    return {n for n in numbers if re.search(rf"(?<!\d){n}(?!\d)", text)}


# ---- the matrix -----------------------------------------------------------------------------


@pytest.mark.parametrize("caller", CALLERS, ids=str)
async def test_what_each_caller_sees(server: LiveServer, office: Office, caller: Caller) -> None:
    seed = await seed_everything(server, office)
    token = await caller_token(server, office, seed, caller)
    seen = await drive(server, office, seed, caller, token)
    # The vendor's system reaches application data only through batches of its contract: without
    # one it has nothing to lease, so nothing of the matrix answers it.
    assert seen or (caller.role == "vendor" and caller.contract == "none"), (
        f"{caller}: no route of the matrix is open to this role"
    )
    for response in seen:
        where = f"{caller} {response.route} → {response.status}"
        text = response.body.decode("utf-8", errors="replace")
        shown = full_numbers_in(response.body, seed.numbers)
        if caller.vendor_side:
            if not (caller.role == "vendor" and response.full_number_allowed):
                # The one exception: a batch for the vendor's system under 個人番号利用事務
                # (rule 11).
                assert not shown, f"{where}: full My Number {shown}"
            assert not any(m in text for m in SUPPORT_MARKERS), f"{where}: 支援措置 reason"
            assert not any(n in text for n in PROTECTED_NAMES), (
                f"{where}: a protected person's form"
            )
            assert OUTSIDE_ALLOW not in text, f"{where}: a field outside the allow-list"
            if caller.contract == "none":
                assert not response.personal, (
                    f"{where}: a vendor-side caller without a contract saw data"
                )
        else:
            assert not shown or response.full_number_allowed, (
                f"{where}: My Number not masked by default"
            )
        if response.personal:
            assert response.rows, f"{where}: personal data without an access-log row"
            assert any(r[0] for r in response.rows) == bool(shown), (
                f"{where}: my_number_shown {response.rows} but full numbers {shown}"
            )
        else:
            assert not any(r[0] for r in response.rows), (
                f"{where}: logged a My Number it did not show"
            )
    await what_they_may_see(server, office, seed, caller, token, seen)


async def what_they_may_see(
    server: LiveServer, office: Office, seed: Seed, caller: Caller, token: str, seen: list[Seen]
) -> None:
    """The other side: what the policy lets through does arrive (the scan above is not vacuous)."""
    reads = {
        r.body: r
        for r in seen
        if r.route.startswith("GET /api/v1/applications") and r.status == 200
    }
    if caller.vendor_side and caller.contract == "none":
        assert not reads and all(r.status in (204, 403, 404) or not r.personal for r in seen)
        return
    async with server.client(token) as client:
        if caller.role in ("operator", "reviewer", "supervisor"):
            answer = await client.get(f"/applications/{seed.apps['open']}")
            assert answer.status_code == 200, answer.text
            values = answer.json()["values"]
            assert values["claimant_name"] == "公開 一郎"
            if caller.vendor_side:
                assert "spouse_name" not in values and "filing_reason" not in values
                if caller.contract == "my_number":
                    assert (
                        values["claimant_my_number"] == "********" + my_number("44444444444")[-4:]
                    )
                else:
                    assert "claimant_my_number" not in values
                for label in ("dv_form", "flagged", "returned_protected"):
                    assert (
                        await client.get(f"/applications/{seed.apps[label]}")
                    ).status_code == 404
            else:
                assert values["spouse_name"] == OUTSIDE_ALLOW and values["filing_reason"] == "other"
                assert (await client.get(f"/applications/{seed.apps['dv_form']}")).json()[
                    "is_protected"
                ]
    claims = [r for r in seen if r.route == "POST /api/v1/work/claim" and r.status == 200]
    if caller == Caller("operator", "city", "n/a"):
        # City operators get the protected persons' work and the My Number settle, in full.
        assert any(r.full_number_allowed for r in claims)
        assert any(PROTECTED_NAMES[0] in r.body.decode() for r in claims)
    if caller.role == "operator" and caller.vendor_side:
        assert claims, f"{caller}: the contract's work never reached its operator"
        assert any(b'"settle"' in r.body for r in claims), "the birth-date settle is outsourceable"
    queue = [r for r in seen if r.route == "GET /api/v1/work/vendor-queue"]
    if queue and caller.contract != "none":
        assert queue[0].status == 200 and "返却 二郎" in queue[0].body.decode()
    items = [r for r in seen if r.route.endswith("/items")]
    if caller.role == "vendor" and caller.contract != "none":
        assert items and all("公開 一郎" in r.body.decode() for r in items)
        mine = my_number("44444444444")
        assert all((mine in r.body.decode()) == (caller.contract == "my_number") for r in items)


async def test_intake_marks_a_dv_evacuee_form_protected(server: LiveServer, office: Office) -> None:
    """The 支援措置 reason in the form is enough: no sender flag needed, every task city-only."""
    seed = await seed_everything(server, office)
    engine = create_engine(server.settings.database_url)
    try:
        async with make_sessionmaker(engine)() as session:
            protected = dict(
                (await session.execute(select(Application.id, Application.is_protected))).all()
            )
            city_only = dict(
                (
                    await session.execute(
                        select(Task.application_id, Task.city_only).where(Task.status == "open")
                    )
                ).all()
            )
    finally:
        await engine.dispose()
    assert protected[seed.apps["dv_form"]] and protected[seed.apps["flagged"]]
    assert not protected[seed.apps["open"]]
    assert city_only[seed.apps["dv_form"]] and city_only[seed.apps["settle_mn"]]
    assert not city_only[seed.apps["settle_date"]] and not city_only[seed.apps["open"]]

"""A demo office that works out of the box: counters, categories, a vendor contract, the people
of every console role, sample applications, waiting tickets and a 転入予約.

Seeding again creates nothing new and prints the same links: the demo's tokens and passwords
derive from a random secret stored once per municipality (``demo_seed``). Demo only:
production settings refuse to seed."""

import base64
import hashlib
import hmac
import secrets
from datetime import time, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from app.domain.appointments import AppointmentHours, format_code
from app.domain.clock import business_day
from app.domain.roles import Employer, Principal, Role
from app.services import (
    admin,
    appointments,
    attachments,
    demo_samples,
    intake,
    move_in_reservations,
    people,
    tickets,
)
from app.storage import appointments as appointment_store
from app.storage import demo as store
from app.storage import tenancy
from app.storage.tables import ApiToken, Municipality, Staff
from app.storage.uow import UnitOfWork

NAMES = {"431001": ("熊本市", "Kumamoto City"), "131211": ("足立区", "Adachi City")}

CATEGORIES = [
    ("A", "住民異動・証明", "Moves & certificates", 420),
    ("B", "子育て・福祉", "Child & welfare", 600),
    ("C", "その他の手続", "Other procedures", 300),
    ("D", "国民健康保険・年金", "Health insurance & pension", 480),
    ("E", "税の証明", "Tax certificates", 240),
]
# label → prefixes served
COUNTERS = [("1", "ACE"), ("2", "A"), ("3", "BD"), ("4", "ABCDE")]
SAMPLE_STAFF = frozenset({"operator_2", "operator_vendor_2"})
# The bare office (no samples: what the tests build on) has the first three categories only.
BARE_CATEGORIES = CATEGORIES[:3]
BARE_COUNTERS = [("1", "AC"), ("2", "A"), ("3", "B"), ("4", "ABC")]
# key in the output → staff number, name, role, employer: the people who sign in to the console.
STAFF = [
    ("operator", "demo-operator", "入力 太郎", Role.OPERATOR, Employer.CITY),
    ("operator_2", "demo-operator-2", "照合 五月", Role.OPERATOR, Employer.CITY),
    ("operator_vendor", "demo-vendor-operator", "委託 花子", Role.OPERATOR, Employer.VENDOR),
    ("operator_vendor_2", "demo-vendor-operator-2", "委託 六郎", Role.OPERATOR, Employer.VENDOR),
    ("reviewer", "demo-reviewer", "審査 次郎", Role.REVIEWER, Employer.CITY),
    ("supervisor", "demo-supervisor", "監督 三郎", Role.SUPERVISOR, Employer.CITY),
    # The vendor's 管理責任者, bound to the demo contract like the vendor's operators.
    ("vendor_manager", "demo-vendor-manager", "管理 四郎", Role.VENDOR_MANAGER, Employer.VENDOR),
]
# Waiting tickets issued on the first seeding: category prefix, language.
TICKETS = [("A", "ja"), ("A", "en"), ("B", "ja"), ("D", "zh")]


def _derive(seed: str, purpose: str) -> str:
    digest = hmac.new(seed.encode(), purpose.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


@cache
def _password_hash(password: str) -> str:
    """argon2id of a demo password, once per process: hashing is slow on purpose."""
    return people.hash_password_blocking(password)


async def seed_demo(uow: UnitOfWork, code: str, *, samples: bool = False) -> dict[str, Any]:
    """Create (or find) the demo municipality; ``samples``: also the applications and tickets."""
    municipality = await uow.get(Municipality, code)
    if municipality is None:
        name_ja, name_en = NAMES.get(code, (f"デモ市 {code}", f"Demo City {code}"))
        municipality = await admin.create_municipality(
            uow, code=code, name_ja=name_ja, name_en=name_en
        )
        await uow.flush()
    seed = await store.demo_secret(uow.session, code, secrets.token_urlsafe(32), uow.now())
    office = await tenancy.first_office(uow.session, code)
    if office is None:
        office = await admin.create_office(
            uow, code, name_ja="本庁 市民課", name_en="City Hall, Citizens Division"
        )
    categories = {c.prefix: c for c in await tenancy.all_categories(uow.session, office.id)}
    for prefix, name_ja, name_en, service_s in CATEGORIES if samples else BARE_CATEGORIES:
        if prefix not in categories:
            categories[prefix] = await admin.create_category(
                uow,
                office,
                prefix=prefix,
                name_ja=name_ja,
                name_en=name_en,
                default_service_s=service_s,
            )
    counters = {c.label: c for c in await tenancy.list_counters(uow.session, office.id)}
    for label, prefixes in COUNTERS if samples else BARE_COUNTERS:
        if label not in counters:
            counters[label] = await admin.create_counter(
                uow,
                office,
                label=label,
                name_ja=f"{label}番窓口",
                name_en=f"Counter {label}",
                category_ids=[categories[p].id for p in prefixes],
            )
    contracts = await _demo_vendor_contracts(uow, code)
    contract_id = contracts[0]["id"]
    tokens: dict[str, str] = {}
    rows: dict[str, ApiToken] = {}
    for role in Role:
        office_id = office.id if role in (Role.KIOSK, Role.DISPLAY, Role.COUNTER) else None
        employer = Employer.CITY if role is Role.OPERATOR else None
        # The demo vendor pulls the demo contract; its 管理責任者 manages the work under it.
        contract = contract_id if role in (Role.VENDOR, Role.VENDOR_MANAGER) else None
        tokens[role.value], rows[role.value] = await _demo_token(
            uow, code, seed, role.value, role, office_id, employer, contract
        )
    # A vendor-employed person sees nothing without a contract: the demo one.
    tokens["operator_vendor"], _ = await _demo_token(
        uow, code, seed, "operator_vendor", Role.OPERATOR, None, Employer.VENDOR, contract_id
    )
    staff = await _demo_staff(uow, code, seed, office.id, contract_id, samples=samples)
    result: dict[str, Any] = {
        "municipality": code,
        "offices": [
            {
                "id": office.id,
                "name_ja": office.name_ja,
                "counters": [
                    {"id": c.id, "label": c.label}
                    for c in sorted(counters.values(), key=lambda c: c.label)
                ],
                "categories": [
                    {"id": c.id, "prefix": c.prefix, "name_ja": c.name_ja, "name_en": c.name_en}
                    for c in sorted(categories.values(), key=lambda c: c.prefix)
                ],
            }
        ],
        "vendor_contracts": contracts,
        "tokens": tokens,
        "staff": staff,
    }
    if samples:
        await _demo_appointment_hours(uow, code, office.id, categories["A"].id, rows["admin"])
        result["applications"] = await _demo_applications(uow, code, rows["intake"])
        result["move_in_reservation"] = await _demo_reservation(
            uow, code, office.id, categories["A"].id, rows["intake"]
        )
        result["tickets"] = await _demo_tickets(
            uow, code, office.id, rows["kiosk"], {p: c.id for p, c in categories.items()}
        )
    return result


async def _demo_appointment_hours(
    uow: UnitOfWork, code: str, office_id: str, category_id: str, admin_token: ApiToken
) -> None:
    """来庁予約 for 住民異動 (A), opened once: half-hour slots, one counter of four for them."""
    if await appointment_store.get_hours(uow.session, category_id) is not None:
        return
    principal = Principal(
        token_id=admin_token.id, municipality_code=code, role=Role.ADMIN, name=admin_token.name
    )
    await appointments.set_hours(
        uow,
        principal,
        office_id=office_id,
        category_id=category_id,
        hours=AppointmentHours(
            opens_at=time(9, 0), closes_at=time(16, 0), slot_minutes=30, seats=1
        ),
    )


async def _demo_token(
    uow: UnitOfWork,
    code: str,
    seed: str,
    key: str,
    role: Role,
    office_id: str | None,
    employer: Employer | None,
    contract_id: str | None,
) -> tuple[str, ApiToken]:
    """The demo token of ``key``: the same secret on every run, issued on the first."""
    secret = f"mdg_demo_{_derive(seed, f'token:{code}:{key}')}"
    token = await store.token_by_hash(uow.session, tenancy.hash_token(secret))
    if token is None:
        issued = await admin.create_token(
            uow,
            code,
            role=role,
            name=f"demo {key.replace('_', ' ')}",
            office_id=office_id,
            employer=employer,
            secret=secret,
        )
        token = issued.token
        token.contract_id = contract_id
    return secret, token


async def _demo_staff(
    uow: UnitOfWork, code: str, seed: str, office_id: str, contract_id: str, *, samples: bool
) -> dict[str, Any]:
    """The demo people, created once, with passwords that derive from the demo's secret.

    The second city and vendor operators (four eyes on the samples) come with the samples."""
    out: dict[str, Any] = {}
    for key, staff_id, name, role, employer in STAFF:
        if not samples and key in SAMPLE_STAFF:
            continue
        password = f"demo-{_derive(seed, f'password:{code}:{key}')[:16]}"
        person: Staff | None = await people.find_staff(uow, code, staff_id)
        if person is None:
            person = await people.create_staff(
                uow,
                code,
                staff_id=staff_id,
                name=name,
                role=role,
                employer=employer,
                office_id=office_id if employer is Employer.CITY else None,
                contract_id=contract_id if employer is Employer.VENDOR else None,
            )
        if person.password_hash is None or not await people.verify_password(
            person.password_hash, password
        ):
            person.password_hash = _password_hash(password)
        if not person.is_active or person.failed_logins or person.locked_until:
            person.is_active, person.failed_logins, person.locked_until = True, 0, None
        out[key] = {
            "staff_id": staff_id,
            "password": password,
            "person_id": person.id,
            "name": name,
            "role": role.value,
            "employer": employer.value,
        }
    return out


async def _demo_applications(uow: UnitOfWork, code: str, token: ApiToken) -> list[dict[str, Any]]:
    """The sample forms, received through the intake service like any sender's (once each)."""
    principal = Principal(
        token_id=token.id, municipality_code=code, role=Role.INTAKE, name=token.name
    )
    root = Path(uow.settings.attachment_dir)
    page = demo_samples.scanned_page()

    async def chunks() -> Any:
        yield page

    sha256 = hashlib.sha256(page).hexdigest()
    if not attachments.file_path(root, code, sha256).is_file():
        await attachments.store(root, code, chunks(), len(page))
    attachment = {
        "name": "scan.png",
        "sha256": sha256,
        "media_type": "image/png",
        "size": len(page),
    }
    out: list[dict[str, Any]] = []
    for n, body in enumerate(demo_samples.samples(), start=1):
        application = await intake.find_by_reference(uow, principal, body["external_ref"])
        if application is None:
            envelope = demo_samples.envelope(
                body, demo_samples.received_at(uow.now(), n), attachment
            )
            application, _ = await intake.receive(uow, principal, envelope)
        out.append(
            {
                "id": application.id,
                "external_ref": body["external_ref"],
                "procedure": body["procedure"],
            }
        )
    return out


async def _demo_reservation(
    uow: UnitOfWork, code: str, office_id: str, category_id: str, token: ApiToken
) -> dict[str, str]:
    """A 転入予約 announced on the portal, on the first seeding: out yesterday, in today."""
    principal = Principal(
        token_id=token.id, municipality_code=code, role=Role.INTAKE, name=token.name
    )
    found = await move_in_reservations.find_by_portal_ref(uow, principal, "demo-move-in-001")
    if found is None:
        today = business_day(uow.now())
        moved_out = today - timedelta(days=1)
        found, _ = await move_in_reservations.reserve(
            uow,
            principal,
            move_in_reservations.Request(
                portal_ref="demo-move-in-001",
                office_id=office_id,
                category_id=category_id,
                received_at=uow.now(),
                applicant={"family_name": "松本", "given_name": "美咲"},
                move_out=demo_samples.portal_move_out(moved_out),
                planned_arrival=today,
                previous_municipality_code="401331",
            ),
        )
    row = found.row
    return {
        "number": format_code(row.number),
        "last_valid_day": row.last_valid_day.isoformat(),
        "state": found.state.value,
    }


async def _demo_tickets(
    uow: UnitOfWork, code: str, office_id: str, kiosk: ApiToken, categories: dict[str, str]
) -> list[dict[str, Any]]:
    """A few waiting residents, issued at the kiosk on the first seeding only."""
    existing = await store.office_tickets(uow.session, office_id)
    if not existing:
        principal = Principal(
            token_id=kiosk.id,
            municipality_code=code,
            role=Role.KIOSK,
            name=kiosk.name,
            office_id=office_id,
        )
        for prefix, language in TICKETS:
            await tickets.issue_ticket(
                uow,
                principal,
                office_id=office_id,
                category_id=categories[prefix],
                is_priority=False,
                language=language,
            )
        existing = await store.office_tickets(uow.session, office_id)
    return [{"id": t.id, "number": t.number, "key": t.public_key} for t in existing[: len(TICKETS)]]


async def _demo_vendor_contracts(uow: UnitOfWork, code: str) -> list[dict[str, Any]]:
    from app.services import vendor_contracts  # the vendor module owns its table

    return await vendor_contracts.ensure_demo_contract(uow, code)

"""A demo office that works out of the box: counters, categories, a vendor contract, tokens."""

import secrets
from functools import cache
from typing import Any

from app.domain.roles import Employer, Role
from app.services import admin, people
from app.storage import tenancy
from app.storage.tables import Municipality, Staff
from app.storage.uow import UnitOfWork

NAMES = {"431001": ("熊本市", "Kumamoto City"), "131211": ("足立区", "Adachi City")}

CATEGORIES = [
    ("A", "住民異動・証明", "Moves & certificates", 420),
    ("B", "子育て・福祉", "Child & welfare", 600),
    ("C", "その他の手続", "Other procedures", 300),
]
# label → prefixes served
COUNTERS = [("1", "AC"), ("2", "A"), ("3", "B"), ("4", "ABC")]
# key in the output → staff number, name, role, employer: the people who sign in to the console.
STAFF = [
    ("operator", "demo-operator", "入力 太郎", Role.OPERATOR, Employer.CITY),
    ("operator_vendor", "demo-vendor-operator", "委託 花子", Role.OPERATOR, Employer.VENDOR),
    ("reviewer", "demo-reviewer", "審査 次郎", Role.REVIEWER, Employer.CITY),
    ("supervisor", "demo-supervisor", "監督 三郎", Role.SUPERVISOR, Employer.CITY),
    # The vendor's 管理責任者, bound to the demo contract like the vendor's operator.
    ("vendor_manager", "demo-vendor-manager", "管理 四郎", Role.VENDOR_MANAGER, Employer.VENDOR),
]


@cache
def _demo_password(key: str) -> tuple[str, str]:
    """One demo password (and its argon2id hash) per person and process: hashing is slow on
    purpose."""
    password = f"demo-{secrets.token_urlsafe(12)}"
    return password, people.hash_password_blocking(password)


async def seed_demo(uow: UnitOfWork, code: str) -> dict[str, Any]:
    """Create (or reuse) the demo municipality; new tokens are issued on every run."""
    municipality = await uow.get(Municipality, code)
    if municipality is None:
        name_ja, name_en = NAMES.get(code, (f"デモ市 {code}", f"Demo City {code}"))
        municipality = await admin.create_municipality(
            uow, code=code, name_ja=name_ja, name_en=name_en
        )
        await uow.flush()
    office = await tenancy.first_office(uow.session, code)
    if office is None:
        office = await admin.create_office(
            uow, code, name_ja="本庁 市民課", name_en="City Hall, Citizens Division"
        )
    categories = {c.prefix: c for c in await tenancy.all_categories(uow.session, office.id)}
    for prefix, name_ja, name_en, service_s in CATEGORIES:
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
    for label, prefixes in COUNTERS:
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
    tokens: dict[str, str] = {}
    for role in Role:
        office_id = office.id if role in (Role.KIOSK, Role.DISPLAY, Role.COUNTER) else None
        employer = Employer.CITY if role is Role.OPERATOR else None
        issued = await admin.create_token(
            uow, code, role=role, name=f"demo {role}", office_id=office_id, employer=employer
        )
        if role in (Role.VENDOR, Role.VENDOR_MANAGER):
            # The demo vendor pulls the demo contract; its 管理責任者 manages the work under it.
            issued.token.contract_id = contracts[0]["id"]
        tokens[role.value] = issued.secret
    issued = await admin.create_token(
        uow, code, role=Role.OPERATOR, name="demo vendor operator", employer=Employer.VENDOR
    )
    # A vendor-employed person sees nothing without a contract: the demo one.
    issued.token.contract_id = contracts[0]["id"]
    tokens["operator_vendor"] = issued.secret
    staff = await _demo_staff(uow, code, office.id, contracts[0]["id"])
    return {
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


async def _demo_staff(
    uow: UnitOfWork, code: str, office_id: str, contract_id: str
) -> dict[str, Any]:
    """The demo people, created once; every run gives them new passwords, shown here once."""
    out: dict[str, Any] = {}
    for key, staff_id, name, role, employer in STAFF:
        password, password_hash = _demo_password(key)
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
        person.password_hash, person.is_active = password_hash, True
        person.failed_logins, person.locked_until = 0, None
        out[key] = {
            "staff_id": staff_id,
            "password": password,
            "person_id": person.id,
            "name": name,
            "role": role.value,
            "employer": employer.value,
        }
    return out


async def _demo_vendor_contracts(uow: UnitOfWork, code: str) -> list[dict[str, Any]]:
    from app.services import vendor_contracts  # the vendor module owns its table

    return await vendor_contracts.ensure_demo_contract(uow, code)

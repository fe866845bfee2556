"""Vendor contracts: what may go out to the outsourcing partner (DOMAIN.md §3, §4.2)."""

from typing import Any

from sqlalchemy import select

from app.domain.errors import InvalidInput
from app.services.uow import UnitOfWork
from app.storage.tables import VendorContract

ENCODINGS = ("utf-8", "utf-8-sig", "cp932")
STEPS = ("entry", "verify")

# The demo office's outsourcing partner keys the two 現況届, 転入届 and 転居届: names and addresses.
DEMO_PROCEDURES = (
    "child_allowance.status_report", "child_rearing.status_report",
    "resident.move_in", "resident.move_within",
)
DEMO_ALLOW_LIST = (
    "applicant.family_name", "applicant.given_name", "applicant.family_name_kana",
    "applicant.given_name_kana", "applicant.birth_date",
    "claimant_address", "claimant_postal_code", "new_address", "new_postal_code",
)


async def create_contract(
    uow: UnitOfWork,
    municipality_code: str,
    *,
    vendor_name: str,
    procedures: list[str],
    steps: list[str],
    field_allow_list: list[str],
    include_my_number: bool = False,
    legal_basis: str | None = None,
    encodings: list[str] | None = None,
    batch_size: int = 500,
    seal_every_s: int = 3600,
    lease_s: int = 1800,
) -> VendorContract:
    """A contract; My Numbers go out only with a stated legal basis."""
    encodings = encodings or ["utf-8"]
    problems = [
        {"field": f"encodings[{i}]", "code": "unknown_encoding", "message": f"未対応の文字コード {e} (unsupported)"}
        for i, e in enumerate(encodings) if e not in ENCODINGS
    ] + [
        {"field": f"steps[{i}]", "code": "not_outsourceable", "message": f"{s} は委託できません (city staff only)"}
        for i, s in enumerate(steps) if s not in STEPS
    ]
    if include_my_number and not legal_basis:
        problems.append({"field": "legal_basis", "code": "required",
                         "message": "個人番号を含めるには根拠が必要です (legal basis required for My Number)"})
    if problems:
        raise InvalidInput("委託契約の内容に誤りがあります (invalid contract)", problems)
    contract = VendorContract(
        municipality_code=municipality_code, vendor_name=vendor_name, procedures=procedures,
        steps=steps, field_allow_list=field_allow_list, include_my_number=include_my_number,
        legal_basis=legal_basis, encodings=encodings, batch_size=batch_size,
        seal_every_s=seal_every_s, lease_s=lease_s, created_at=uow.now(),
    )
    uow.session.add(contract)
    await uow.session.flush()
    uow.log(entity="vendor_contract", entity_id=contract.id, action="create",
            municipality_code=municipality_code,
            data={"vendor": vendor_name, "include_my_number": include_my_number})
    return contract


async def ensure_demo_contract(uow: UnitOfWork, municipality_code: str) -> list[dict[str, Any]]:
    existing = (await uow.session.execute(
        select(VendorContract).where(VendorContract.municipality_code == municipality_code)
    )).scalars().all()
    if not existing:
        existing = [await create_contract(
            uow, municipality_code,
            vendor_name="デモ委託事業者 (Demo outsourcing partner)",
            procedures=list(DEMO_PROCEDURES),
            steps=["entry"],
            field_allow_list=list(DEMO_ALLOW_LIST),
            encodings=["utf-8", "utf-8-sig", "cp932"],
        )]
    return [{"id": c.id, "vendor_name": c.vendor_name} for c in existing]

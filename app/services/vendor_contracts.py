"""The demo office's vendor contract (DOMAIN.md §3, §4.2); contracts are app/services/batches/."""

from typing import Any

from app.services.batches.contracts import create_contract
from app.storage import batches as store
from app.storage.uow import UnitOfWork

# The demo office's outsourcing partner keys the two 現況届, 転入届 and 転居届: names and addresses.
DEMO_PROCEDURES = (
    "child_allowance.status_report",
    "child_rearing.status_report",
    "resident.move_in",
    "resident.move_within",
)
DEMO_ALLOW_LIST = (
    "applicant.family_name",
    "applicant.given_name",
    "applicant.family_name_kana",
    "applicant.given_name_kana",
    "applicant.birth_date",
    "claimant_address",
    "claimant_postal_code",
    "new_address",
    "new_postal_code",
)


async def ensure_demo_contract(uow: UnitOfWork, municipality_code: str) -> list[dict[str, Any]]:
    existing = await store.list_contracts(uow.session, municipality_code)
    if not existing:
        existing = [
            await create_contract(
                uow,
                municipality_code,
                vendor_name="デモ委託事業者 (Demo outsourcing partner)",
                procedures=list(DEMO_PROCEDURES),
                steps=["entry"],
                field_allow_list=list(DEMO_ALLOW_LIST),
                encodings=["utf-8", "utf-8-sig", "cp932"],
            )
        ]
    return [{"id": c.id, "vendor_name": c.vendor_name} for c in existing]

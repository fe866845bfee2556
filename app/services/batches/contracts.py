"""Vendor contracts: their terms (one check), the vendor's tokens, and work held back (CP932)."""

from datetime import datetime
from typing import Any

from app.domain.batches import ContractTerms, ExportTerms, contract_problems
from app.domain.catalogue import load_catalogue
from app.domain.errors import InvalidInput, NotFound
from app.domain.roles import Employer, Principal, Role
from app.domain.visibility import is_vendor_side
from app.services import admin
from app.services.admin import IssuedToken
from app.storage import batches as store
from app.storage.tables import ApiToken, VendorBatch, VendorContract
from app.storage.uow import UnitOfWork

# The terms contract_problems checks; a change of schedule or size alone is never refused.
CHECKED_TERMS = tuple(ContractTerms.__dataclass_fields__)


def terms_of(source: VendorContract | VendorBatch) -> ExportTerms:
    return ExportTerms(tuple(source.field_allow_list), source.include_my_number)


def check_terms(terms: ContractTerms) -> None:
    """Refuse terms naming unknown procedures, fields or encodings, steps we do not seal, or My
    Numbers without a legal basis (DOMAIN.md §4.2)."""
    problems = contract_problems(load_catalogue(), terms)
    if problems:
        raise InvalidInput("委託契約の内容に誤りがあります (invalid contract)", problems)


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
    """A contract whose allow-list names real fields; My Numbers only with a legal basis."""
    encodings = encodings or ["utf-8"]
    check_terms(
        ContractTerms(
            procedures=procedures,
            steps=steps,
            field_allow_list=field_allow_list,
            include_my_number=include_my_number,
            legal_basis=legal_basis,
            encodings=encodings,
        )
    )
    contract = VendorContract(
        municipality_code=municipality_code,
        vendor_name=vendor_name,
        procedures=procedures,
        steps=steps,
        field_allow_list=field_allow_list,
        include_my_number=include_my_number,
        legal_basis=legal_basis,
        encodings=encodings,
        batch_size=batch_size,
        seal_every_s=seal_every_s,
        lease_s=lease_s,
        created_at=uow.now(),
    )
    await store.add_contract(uow.session, contract)
    uow.log(
        entity="vendor_contract",
        entity_id=contract.id,
        action="create",
        municipality_code=municipality_code,
        data={"vendor": vendor_name, "include_my_number": include_my_number},
    )
    return contract


async def get_contract(
    uow: UnitOfWork, municipality_code: str, contract_id: str, *, lock: bool = False
) -> VendorContract:
    contract = await store.find_contract(uow.session, contract_id, municipality_code, lock=lock)
    if contract is None:
        raise NotFound(
            "委託契約が見つかりません (no such vendor contract)", contract_id=contract_id
        )
    return contract


async def list_contracts(uow: UnitOfWork, municipality_code: str | None) -> list[VendorContract]:
    return await store.list_contracts(uow.session, municipality_code)


async def held_back(uow: UnitOfWork, contract: VendorContract, limit: int) -> list[dict[str, Any]]:
    """Work this contract could not carry (CP932) that still waits for internal keying."""
    return [
        {"task_id": h.task_id, "application_id": h.application_id, "problems": h.detail}
        for h in await store.list_holdbacks(uow.session, contract.id, limit)
    ]


async def update_contract(
    uow: UnitOfWork, municipality_code: str, contract_id: str, **changes: Any
) -> VendorContract:
    """Change a contract's terms; batches already sealed keep the terms they were sealed under."""
    contract = await get_contract(uow, municipality_code, contract_id, lock=True)
    if set(changes) & set(CHECKED_TERMS):
        terms = {k: changes.get(k, getattr(contract, k)) for k in CHECKED_TERMS}
        check_terms(ContractTerms(**terms))
    for key, value in changes.items():
        setattr(contract, key, value)
    uow.log(
        entity="vendor_contract",
        entity_id=contract.id,
        action="update",
        municipality_code=municipality_code,
        data={k: v for k, v in changes.items() if k != "legal_basis"},
    )
    return contract


async def issue_token(
    uow: UnitOfWork, contract: VendorContract, *, name: str, expires_at: datetime | None = None
) -> IssuedToken:
    """A token for the vendor's system, bound to this one contract."""
    issued = await admin.create_token(
        uow, contract.municipality_code, role=Role.VENDOR, name=name, expires_at=expires_at
    )
    await bind_token(uow, issued.token, contract.id)
    return issued


async def bind_token(uow: UnitOfWork, token: ApiToken, contract_id: str) -> None:
    """Bind a vendor-side token (the vendor's system, its manager or operators) to a contract
    of its own municipality; city staff carry none. A vendor-employed person sees nothing
    without one."""
    holder = Principal(
        token_id=token.id,
        municipality_code=token.municipality_code,
        role=Role(token.role),
        name=token.name,
        employer=Employer(token.employer) if token.employer else None,
    )
    if not is_vendor_side(holder):
        raise InvalidInput.field(
            "contract",
            "not_a_vendor_token",
            "契約に結び付けられるのは委託先のトークンだけです (vendor-side tokens only)",
        )
    contract = await get_contract(uow, token.municipality_code, contract_id)
    token.contract_id = contract.id
    uow.log(
        entity="api_token",
        entity_id=token.id,
        action="bind_contract",
        municipality_code=token.municipality_code,
        data={"contract": contract.id},
    )


async def vendor_contract(uow: UnitOfWork, principal: Principal) -> VendorContract | None:
    """The active contract the vendor's token is bound to; None sees nothing."""
    contract_id = await store.token_contract(uow.session, principal.token_id)
    if contract_id is None:
        return None
    contract = await store.find_contract(uow.session, contract_id, principal.municipality_code)
    return contract if contract is not None and contract.is_active else None

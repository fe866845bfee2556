"""The city's side of outsourcing: vendor contracts and their tokens, sealing, held-back work,
every batch, recall (the vendor's own pull API is app/api/vendor.py)."""

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.api.deps import Caller, UowDep
from app.api.schemas import AwareDatetime, Body
from app.api.vendor import (
    BatchOut,
    BatchPage,
    ClosedOut,
    Encoding,
    StateFilter,
    batch_out,
    batch_page,
)
from app.domain.roles import Principal, Role
from app.services import batches
from app.services.access import record_access
from app.services.records import VendorContractRecord
from app.services.uow import UnitOfWork

router = APIRouter()
Admin = Caller(Role.ADMIN)
Staff = Caller(Role.ADMIN, Role.SUPERVISOR)


# ---- bodies ---------------------------------------------------------------------------------


class ContractTerms(Body):
    vendor_name: str = Field(min_length=1, max_length=200)
    procedures: list[str] = Field(min_length=1, max_length=20)
    steps: list[str] = Field(default_factory=lambda: ["entry"], min_length=1, max_length=4)
    field_allow_list: list[str] = Field(
        max_length=300,
        description="Catalogue patterns such as "
        "`claimant_name`, `children[].name` or a whole group `children`; "
        "`applicant.family_name` for the sender's applicant block",
    )
    include_my_number: bool = Field(
        False, description="Only under a 個人番号利用事務 contract; needs legal_basis"
    )
    legal_basis: str | None = Field(None, max_length=500)
    encodings: list[Encoding] = Field(default_factory=lambda: ["utf-8"], min_length=1, max_length=3)
    batch_size: int = Field(500, ge=1, le=100_000)
    seal_every_s: int = Field(3600, ge=60, le=30 * 86400)
    lease_s: int = Field(1800, ge=30, le=7 * 86400)


def _terms_without_null(schema: dict[str, Any]) -> None:
    """Every term but legal_basis is left out to keep it; null is not one of its values."""
    for name, prop in schema.get("properties", {}).items():
        options = [o for o in prop.get("anyOf", []) if o != {"type": "null"}]
        if name != "legal_basis" and len(options) == 1:
            del prop["anyOf"]
            prop.update(options[0])
            prop.pop("default", None)


class ChangeContract(Body):
    model_config = ConfigDict(extra="forbid", json_schema_extra=_terms_without_null)

    procedures: list[str] | None = Field(None, min_length=1, max_length=20)
    steps: list[str] | None = Field(None, min_length=1, max_length=4)
    field_allow_list: list[str] | None = Field(None, max_length=300)
    include_my_number: bool | None = None
    legal_basis: str | None = Field(None, max_length=500)
    encodings: list[Encoding] | None = Field(None, min_length=1, max_length=3)
    batch_size: int | None = Field(None, ge=1, le=100_000)
    seal_every_s: int | None = Field(None, ge=60, le=30 * 86400)
    lease_s: int | None = Field(None, ge=30, le=7 * 86400)
    is_active: bool | None = None

    @field_validator(
        "procedures",
        "steps",
        "field_allow_list",
        "include_my_number",
        "encodings",
        "batch_size",
        "seal_every_s",
        "lease_s",
        "is_active",
    )
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError(
                "null にはできません。変えない項目は省いてください (leave the term out to keep it)"
            )
        return value


class ContractOut(BaseModel):
    id: str
    vendor_name: str
    procedures: list[str]
    steps: list[str]
    field_allow_list: list[str]
    include_my_number: bool
    legal_basis: str | None
    encodings: list[str]
    batch_size: int
    seal_every_s: int
    lease_s: int
    is_active: bool
    created_at: datetime
    last_seal_at: datetime | None


class CreateVendorToken(Body):
    name: str = Field(min_length=1, max_length=200)
    expires_at: AwareDatetime | None = None


class VendorTokenOut(BaseModel):
    id: str
    name: str
    role: str
    contract_id: str | None
    created_at: datetime
    expires_at: datetime | None
    token: str = Field(description="Shown once; only its hash is stored")


class HeldBackOut(BaseModel):
    task_id: str
    application_id: str
    procedure: str | None = None
    problems: list[dict[str, Any]] = Field(
        description="Fields and the characters CP932 cannot carry"
    )


class SealOut(BaseModel):
    contract_id: str
    batches: list[BatchOut]
    held_back: list[HeldBackOut]


def contract_out(contract: VendorContractRecord) -> ContractOut:
    return ContractOut(**contract.model_dump(exclude={"municipality_code"}))


# ---- the city ---------------------------------------------------------------------------------


@router.get("/admin/vendor-contracts", response_model=list[ContractOut], tags=["admin"])
async def list_contracts(uow: UowDep, principal: Admin) -> list[ContractOut]:
    return [contract_out(c) for c in await batches.list_contracts(uow, principal.municipality_code)]


@router.post(
    "/admin/vendor-contracts",
    response_model=ContractOut,
    status_code=201,
    tags=["admin"],
    summary="A vendor contract: procedures, steps, field allow-list, My Numbers, encodings, "
    "schedule",
    responses={422: {}},
)
async def create_contract(body: ContractTerms, uow: UowDep, principal: Admin) -> ContractOut:
    contract = await batches.create_contract(uow, principal.municipality_code, **body.model_dump())
    return contract_out(contract)


@router.get(
    "/admin/vendor-contracts/{contract_id}",
    response_model=ContractOut,
    tags=["admin"],
    responses={404: {}},
)
async def read_contract(contract_id: str, uow: UowDep, principal: Admin) -> ContractOut:
    return contract_out(await batches.get_contract(uow, principal.municipality_code, contract_id))


@router.patch(
    "/admin/vendor-contracts/{contract_id}",
    response_model=ContractOut,
    tags=["admin"],
    summary="Change terms (sealed batches keep theirs)",
    responses={404: {}, 422: {}},
)
async def change_contract(
    contract_id: str, body: ChangeContract, uow: UowDep, principal: Admin
) -> ContractOut:
    changes = body.model_dump(exclude_unset=True)
    return contract_out(
        await batches.update_contract(uow, principal.municipality_code, contract_id, **changes)
    )


@router.post(
    "/admin/vendor-contracts/{contract_id}/tokens",
    response_model=VendorTokenOut,
    status_code=201,
    tags=["admin"],
    summary="A token for the vendor's system, bound to this contract",
    responses={404: {}},
)
async def create_vendor_token(
    contract_id: str, body: CreateVendorToken, uow: UowDep, principal: Admin
) -> VendorTokenOut:
    contract = await batches.get_contract(uow, principal.municipality_code, contract_id)
    issued = await batches.issue_token(uow, contract, name=body.name, expires_at=body.expires_at)
    return VendorTokenOut(**issued.token.model_dump(), token=issued.secret)


def log_held_back(uow: UnitOfWork, principal: Principal, held: list[dict[str, Any]]) -> None:
    """Held-back work names characters of residents' fields: each is a view, logged."""
    for item in held:
        fields = sorted({str(p.get("field")) for p in item["problems"]})
        record_access(
            uow,
            principal,
            action="view",
            entity="application",
            entity_id=item["application_id"],
            detail={"held_back": item["task_id"], "fields": fields},
        )


def held_out(held: dict[str, Any]) -> HeldBackOut:
    return HeldBackOut(
        task_id=held["task_id"],
        application_id=held["application_id"],
        procedure=held.get("procedure"),
        problems=held["problems"],
    )


@router.post(
    "/admin/vendor-contracts/{contract_id}/seal",
    response_model=SealOut,
    tags=["admin"],
    summary="Seal batches now; lists the items CP932 cannot carry (they stay in the queue)",
    responses={404: {}},
)
async def seal_contract(contract_id: str, uow: UowDep, principal: Staff) -> SealOut:
    contract = await batches.get_contract(uow, principal.municipality_code, contract_id)
    report = await batches.seal(uow, contract)
    log_held_back(uow, principal, report.held_back)
    return SealOut(
        contract_id=contract.id,
        batches=[batch_out(b, uow.now()) for b in report.batches],
        held_back=[held_out(h) for h in report.held_back],
    )


@router.get(
    "/admin/vendor-contracts/{contract_id}/held-back",
    response_model=list[HeldBackOut],
    tags=["admin"],
    summary="Work a contract could not carry (CP932), still waiting for internal keying",
    responses={404: {}},
)
async def list_held_back(
    contract_id: str,
    uow: UowDep,
    principal: Staff,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[HeldBackOut]:
    contract = await batches.get_contract(uow, principal.municipality_code, contract_id)
    held = await batches.held_back(uow, contract, limit)
    log_held_back(uow, principal, held)
    return [held_out(h) for h in held]


@router.get("/admin/vendor-batches", response_model=BatchPage, tags=["admin"])
async def list_all_batches(
    uow: UowDep,
    principal: Staff,
    state: StateFilter = "all",
    contract_id: Annotated[str | None, Query(max_length=64)] = None,
    cursor: Annotated[str | None, Query(max_length=300)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> BatchPage:
    return await batch_page(uow, principal.municipality_code, contract_id, state, cursor, limit)


@router.post(
    "/admin/vendor-batches/{batch_id}/recall",
    response_model=ClosedOut,
    tags=["admin"],
    summary="Take a batch back: its unanswered items return to the internal queue",
    responses={404: {}, 409: {}},
)
async def recall_batch(batch_id: str, uow: UowDep, principal: Staff) -> ClosedOut:
    batch = await batches.recall(uow, principal, batch_id)
    return ClosedOut(
        batch=batch.id,
        state=batch.state,
        results_count=batch.results_count,
        returned_count=batch.returned_count,
    )

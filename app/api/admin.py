"""Administration of a municipality's own configuration (the same actions as the CLI)."""

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Response, status
from fastapi import Body as BodyParam
from pydantic import BaseModel, Field, StringConstraints

from app.api.deps import Caller, ResourcesDep, UowDep
from app.api.schemas import AwareDatetime, Body, CounterOut, TicketLanguage
from app.domain.roles import Employer, Role
from app.services import admin, directory
from app.services import tickets as ticket_service

router = APIRouter(prefix="/admin", tags=["admin"])
Admin = Caller(Role.ADMIN)
CategoryId = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[^\x00]*$")]


class CreateOffice(Body):
    name_ja: str = Field(min_length=1, max_length=200)
    name_en: str = Field(min_length=1, max_length=200)


class OfficeOut(BaseModel):
    id: str
    municipality_code: str
    name_ja: str
    name_en: str
    announce_languages: list[str] = Field(
        default_factory=list,
        description="The languages calls are said in, Japanese first; empty: Japanese, then each "
        "ticket's own language",
    )


def office_out(office: dict[str, Any]) -> OfficeOut:
    stored = str(office.get("announce_languages") or "")
    return OfficeOut(
        id=office["id"],
        municipality_code=office["municipality_code"],
        name_ja=office["name_ja"],
        name_en=office["name_en"],
        announce_languages=[code for code in stored.split(",") if code],
    )


class AnnounceLanguages(Body):
    languages: list[TicketLanguage] = Field(
        max_length=11,
        description="Languages calls are said in (Japanese is always said first); [] for the "
        "default: Japanese, then each ticket's own language",
    )


class CreateCategory(Body):
    prefix: str = Field(pattern=r"^[A-Z]$")
    name_ja: str = Field(min_length=1, max_length=200)
    name_en: str = Field(min_length=1, max_length=200)
    default_service_s: int = Field(300, ge=30, le=7200)


class CategoryOut(BaseModel):
    id: str
    office_id: str
    prefix: str
    name_ja: str
    name_en: str
    default_service_s: int


class CreateCounter(Body):
    label: str = Field(min_length=1, max_length=16)
    name_ja: str = Field(min_length=1, max_length=200)
    name_en: str = Field(min_length=1, max_length=200)
    categories: list[str] = Field(default_factory=list, max_length=26)


class CreateToken(Body):
    role: Role
    name: str = Field(min_length=1, max_length=200)
    office_id: str | None = Field(None, max_length=64)
    employer: Employer | None = None
    qualifications: list[str] | None = Field(None, max_length=50)
    expires_at: AwareDatetime | None = None
    contract_id: str | None = Field(
        None,
        max_length=64,
        description="Vendor-side tokens: the vendor contract the holder works under (without one a "
        "vendor-employed person sees nothing)",
    )


class TokenOut(BaseModel):
    id: str
    role: str
    name: str
    office_id: str | None
    employer: str | None
    contract_id: str | None = None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


class CreatedTokenOut(TokenOut):
    token: str = Field(description="Shown once; only its hash is stored")


@router.get("/offices", response_model=list[OfficeOut])
async def list_offices(uow: UowDep, principal: Admin) -> list[OfficeOut]:
    return [office_out(o) for o in await directory.list_offices(uow, principal.municipality_code)]


@router.post("/offices", response_model=OfficeOut, status_code=201, responses={422: {}})
async def create_office(body: CreateOffice, uow: UowDep, principal: Admin) -> OfficeOut:
    office = await admin.create_office(
        uow, principal.municipality_code, name_ja=body.name_ja, name_en=body.name_en
    )
    return office_out(office.model_dump())


@router.put(
    "/offices/{office_id}/announce-languages",
    response_model=OfficeOut,
    summary="The languages the office's calls are said in",
    responses={404: {}, 422: {}},
)
async def set_announce_languages(
    office_id: str, body: AnnounceLanguages, uow: UowDep, principal: Admin
) -> OfficeOut:
    office = await admin.set_announce_languages(
        uow, principal.municipality_code, office_id, list(body.languages)
    )
    return office_out(office.model_dump())


@router.get(
    "/offices/{office_id}/categories", response_model=list[CategoryOut], responses={404: {}}
)
async def list_categories(office_id: str, uow: UowDep, principal: Admin) -> list[CategoryOut]:
    office = await admin.get_office(uow, principal.municipality_code, office_id)
    return [CategoryOut(**c) for c in await directory.list_categories(uow, office.id)]


@router.post(
    "/offices/{office_id}/categories",
    response_model=CategoryOut,
    status_code=201,
    responses={404: {}, 409: {}, 422: {}},
)
async def create_category(
    office_id: str, body: CreateCategory, uow: UowDep, principal: Admin
) -> CategoryOut:
    office = await admin.get_office(uow, principal.municipality_code, office_id)
    category = await admin.create_category(uow, office, **body.model_dump())
    return CategoryOut(**category.model_dump())


@router.get("/offices/{office_id}/counters", response_model=list[CounterOut], responses={404: {}})
async def list_counters(office_id: str, uow: UowDep, principal: Admin) -> list[CounterOut]:
    office = await admin.get_office(uow, principal.municipality_code, office_id)
    return [CounterOut(**c) for c in await directory.list_counters(uow, office.id)]


@router.post(
    "/offices/{office_id}/counters",
    response_model=CounterOut,
    status_code=201,
    responses={404: {}, 409: {}, 422: {}},
)
async def create_counter(
    office_id: str, body: CreateCounter, uow: UowDep, principal: Admin
) -> CounterOut:
    office = await admin.get_office(uow, principal.municipality_code, office_id)
    counter = await admin.create_counter(
        uow,
        office,
        label=body.label,
        name_ja=body.name_ja,
        name_en=body.name_en,
        category_ids=body.categories,
    )
    return CounterOut(**counter.model_dump(), category_ids=list(dict.fromkeys(body.categories)))


@router.put(
    "/counters/{counter_id}/categories", response_model=CounterOut, responses={404: {}, 422: {}}
)
async def set_counter_categories(
    counter_id: str,
    categories: Annotated[list[CategoryId], BodyParam(max_length=26)],
    uow: UowDep,
    principal: Admin,
) -> CounterOut:
    counter = await ticket_service.get_counter(uow, principal, counter_id)
    await admin.set_counter_categories(uow, counter, categories)
    return CounterOut(**counter.model_dump(), category_ids=list(dict.fromkeys(categories)))


@router.get("/tokens", response_model=list[TokenOut])
async def list_tokens(uow: UowDep, principal: Admin) -> list[TokenOut]:
    return [TokenOut(**t) for t in await directory.list_tokens(uow, principal.municipality_code)]


@router.post(
    "/tokens", response_model=CreatedTokenOut, status_code=201, responses={404: {}, 422: {}}
)
async def create_token(body: CreateToken, uow: UowDep, principal: Admin) -> CreatedTokenOut:
    from app.services.batches import bind_token  # the vendor module owns contracts

    issued = await admin.create_token(
        uow, principal.municipality_code, **body.model_dump(exclude={"contract_id"})
    )
    if body.contract_id is not None:
        await bind_token(uow, issued.token, body.contract_id)
    return CreatedTokenOut(**issued.token.model_dump(), token=issued.secret)


@router.delete("/tokens/{token_id}", status_code=204, responses={404: {}})
async def revoke_token(
    token_id: str, uow: UowDep, resources: ResourcesDep, principal: Admin
) -> Response:
    await admin.revoke_token(uow, principal.municipality_code, token_id)
    uow.after_commit(lambda: resources.tokens.forget(token_id))
    return Response(status_code=status.HTTP_204_NO_CONTENT)

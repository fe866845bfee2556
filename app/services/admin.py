"""Configuration of a municipality: offices, counters, ticket categories and tokens."""

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update

from app.domain.errors import Conflict, InvalidInput, NotFound
from app.domain.municipalities import is_valid_municipality_code
from app.domain.roles import VENDOR_ONLY, Employer, Role, check_token_shape
from app.services.uow import UnitOfWork
from app.storage.db import new_id
from app.storage.tables import (
    ApiToken,
    Counter,
    CounterCategory,
    LobbyChannel,
    Municipality,
    Office,
    TicketCategory,
)
from app.storage.tenancy import hash_token


async def create_municipality(uow: UnitOfWork, *, code: str, name_ja: str, name_en: str) -> Municipality:
    """Register a municipality by its 全国地方公共団体コード (check digit verified)."""
    if not is_valid_municipality_code(code):
        raise InvalidInput.field(
            "code", "invalid_municipality_code",
            "地方公共団体コードが正しくありません (6 digits with a valid check digit)",
        )
    if await uow.session.get(Municipality, code) is not None:
        raise Conflict("この団体は登録済みです (municipality exists)", code=code)
    municipality = Municipality(code=code, name_ja=name_ja, name_en=name_en, created_at=uow.now())
    uow.session.add(municipality)
    await uow.session.flush()
    uow.log(entity="municipality", entity_id=code, action="create", municipality_code=code)
    return municipality


async def create_office(uow: UnitOfWork, municipality_code: str, *, name_ja: str, name_en: str) -> Office:
    """An office with its own lobby channel (the display's event sequence)."""
    office = Office(
        municipality_code=municipality_code, name_ja=name_ja, name_en=name_en, created_at=uow.now()
    )
    uow.session.add(office)
    await uow.session.flush()
    uow.session.add(
        LobbyChannel(
            office_id=office.id,
            municipality_code=municipality_code,
            epoch=new_id()[:12],
            seq=0,
            updated_at=uow.now(),
        )
    )
    uow.log(entity="office", entity_id=office.id, action="create", municipality_code=municipality_code)
    return office


async def get_office(uow: UnitOfWork, municipality_code: str, office_id: str) -> Office:
    office = await uow.session.get(Office, office_id)
    if office is None or office.municipality_code != municipality_code:
        raise NotFound("窓口が見つかりません (no such office)", office_id=office_id)
    return office


async def create_category(
    uow: UnitOfWork, office: Office, *, prefix: str, name_ja: str, name_en: str, default_service_s: int = 300
) -> TicketCategory:
    if len(prefix) != 1 or not ("A" <= prefix <= "Z"):
        raise InvalidInput.field("prefix", "invalid_prefix", "記号は英大文字1字です (one letter A–Z)")
    existing = await uow.session.execute(
        select(TicketCategory).where(TicketCategory.office_id == office.id, TicketCategory.prefix == prefix)
    )
    if existing.scalars().first() is not None:
        raise Conflict("この記号は使用中です (prefix already used in this office)", prefix=prefix)
    category = TicketCategory(
        municipality_code=office.municipality_code,
        office_id=office.id,
        prefix=prefix,
        name_ja=name_ja,
        name_en=name_en,
        default_service_s=default_service_s,
    )
    uow.session.add(category)
    await uow.session.flush()
    uow.log(entity="ticket_category", entity_id=category.id, action="create",
            municipality_code=office.municipality_code, data={"prefix": prefix})
    return category


async def create_counter(
    uow: UnitOfWork, office: Office, *, label: str, name_ja: str, name_en: str, category_ids: list[str]
) -> Counter:
    """A counter and the categories it serves (all of this office)."""
    existing = await uow.session.execute(
        select(Counter).where(Counter.office_id == office.id, Counter.label == label)
    )
    if existing.scalars().first() is not None:
        raise Conflict("この窓口番号は使用中です (counter label already used)", label=label)
    counter = Counter(
        municipality_code=office.municipality_code, office_id=office.id,
        label=label, name_ja=name_ja, name_en=name_en,
    )
    uow.session.add(counter)
    await uow.session.flush()
    await set_counter_categories(uow, counter, category_ids)
    uow.log(entity="counter", entity_id=counter.id, action="create",
            municipality_code=office.municipality_code, data={"label": label})
    return counter


async def set_counter_categories(uow: UnitOfWork, counter: Counter, category_ids: list[str]) -> None:
    for index, category_id in enumerate(category_ids):
        category = await uow.session.get(TicketCategory, category_id)
        if category is None or category.office_id != counter.office_id:
            raise InvalidInput.field(
                f"categories[{index}]", "unknown_category", "受付区分が見つかりません (no such category here)"
            )
    for link in (await uow.session.execute(
        select(CounterCategory).where(CounterCategory.counter_id == counter.id)
    )).scalars():
        await uow.session.delete(link)
    await uow.session.flush()
    for category_id in dict.fromkeys(category_ids):
        uow.session.add(CounterCategory(
            counter_id=counter.id, category_id=category_id, municipality_code=counter.municipality_code
        ))


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    secret: str


async def create_token(
    uow: UnitOfWork,
    municipality_code: str,
    *,
    role: Role,
    name: str,
    office_id: str | None = None,
    employer: Employer | None = None,
    qualifications: list[str] | None = None,
    expires_at: datetime | None = None,
) -> IssuedToken:
    """A bearer token; the secret is returned once and only its hash is stored."""
    if await uow.session.get(Municipality, municipality_code) is None:
        raise NotFound("団体が見つかりません (no such municipality)", code=municipality_code)
    if role in (Role.REVIEWER, Role.SUPERVISOR, Role.ADMIN, Role.COUNTER) and employer is None:
        employer = Employer.CITY
    if role in VENDOR_ONLY and employer is None:
        employer = Employer.VENDOR
    reason = check_token_shape(role, employer, office_id)
    if reason:
        raise InvalidInput.field("role", "invalid_token_shape", reason)
    if office_id is not None:
        await get_office(uow, municipality_code, office_id)
    secret = f"mdg_{secrets.token_urlsafe(32)}"
    token = ApiToken(
        municipality_code=municipality_code,
        office_id=office_id,
        role=role,
        employer=employer,
        name=name,
        token_hash=hash_token(secret),
        qualifications=qualifications,
        created_at=uow.now(),
        expires_at=expires_at,
    )
    uow.session.add(token)
    await uow.session.flush()
    uow.log(entity="api_token", entity_id=token.id, action="create", municipality_code=municipality_code,
            data={"role": role, "office_id": office_id, "employer": employer})
    return IssuedToken(token, secret)


async def revoke_token(uow: UnitOfWork, municipality_code: str, token_id: str) -> None:
    result = await uow.session.execute(
        update(ApiToken)
        .where(ApiToken.id == token_id, ApiToken.municipality_code == municipality_code,
               ApiToken.revoked_at.is_(None))  # type: ignore[union-attr]
        .values(revoked_at=uow.now())
    )
    if not result.rowcount:
        raise NotFound("トークンが見つかりません (no such active token)", token_id=token_id)
    uow.log(entity="api_token", entity_id=token_id, action="revoke", municipality_code=municipality_code)

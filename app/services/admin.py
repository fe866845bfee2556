"""Configuration of a municipality: offices, counters, ticket categories and tokens."""

import secrets
from dataclasses import dataclass
from datetime import datetime

from app.domain.errors import Conflict, InvalidInput, NotFound
from app.domain.municipalities import is_valid_municipality_code
from app.domain.roles import VENDOR_ONLY, Employer, Role, check_token_shape
from app.storage import tenancy
from app.storage.db import new_id
from app.storage.tables import (
    ApiToken,
    Counter,
    LobbyChannel,
    Municipality,
    Office,
    TicketCategory,
)
from app.storage.tenancy import hash_token
from app.storage.uow import UnitOfWork


async def create_municipality(
    uow: UnitOfWork, *, code: str, name_ja: str, name_en: str
) -> Municipality:
    """Register a municipality by its 全国地方公共団体コード (check digit verified)."""
    if not is_valid_municipality_code(code):
        raise InvalidInput.field(
            "code",
            "invalid_municipality_code",
            "地方公共団体コードが正しくありません (6 digits with a valid check digit)",
        )
    if await uow.get(Municipality, code) is not None:
        raise Conflict("この団体は登録済みです (municipality exists)", code=code)
    municipality = Municipality(code=code, name_ja=name_ja, name_en=name_en, created_at=uow.now())
    uow.add(municipality)
    await uow.flush()
    uow.log(entity="municipality", entity_id=code, action="create", municipality_code=code)
    return municipality


async def create_office(
    uow: UnitOfWork, municipality_code: str, *, name_ja: str, name_en: str
) -> Office:
    """An office with its own lobby channel (the display's event sequence)."""
    office = Office(
        municipality_code=municipality_code, name_ja=name_ja, name_en=name_en, created_at=uow.now()
    )
    uow.add(office)
    await uow.flush()
    uow.add(
        LobbyChannel(
            office_id=office.id,
            municipality_code=municipality_code,
            epoch=new_id()[:12],
            seq=0,
            updated_at=uow.now(),
        )
    )
    uow.log(
        entity="office", entity_id=office.id, action="create", municipality_code=municipality_code
    )
    return office


async def get_office(uow: UnitOfWork, municipality_code: str, office_id: str) -> Office:
    office = await uow.get(Office, office_id)
    if office is None or office.municipality_code != municipality_code:
        raise NotFound("窓口が見つかりません (no such office)", office_id=office_id)
    return office


async def set_announce_languages(
    uow: UnitOfWork, municipality_code: str, office_id: str, languages: list[str]
) -> Office:
    """The languages the office's calls are said in: Japanese always, first; an empty list
    restores the default (Japanese, then each ticket's own language)."""
    office = await get_office(uow, municipality_code, office_id)
    codes = ["ja", *(code for code in dict.fromkeys(languages) if code != "ja")]
    office.announce_languages = ",".join(codes) if languages else ""
    await uow.flush()
    uow.log(
        entity="office",
        entity_id=office.id,
        action="announce_languages",
        municipality_code=municipality_code,
        data={"languages": office.announce_languages},
    )
    return office


async def create_category(
    uow: UnitOfWork,
    office: Office,
    *,
    prefix: str,
    name_ja: str,
    name_en: str,
    default_service_s: int = 300,
) -> TicketCategory:
    if len(prefix) != 1 or not ("A" <= prefix <= "Z"):
        raise InvalidInput.field(
            "prefix", "invalid_prefix", "記号は英大文字1字です (one letter A–Z)"
        )
    if await tenancy.category_by_prefix(uow.session, office.id, prefix) is not None:
        raise Conflict("この記号は使用中です (prefix already used in this office)", prefix=prefix)
    category = TicketCategory(
        municipality_code=office.municipality_code,
        office_id=office.id,
        prefix=prefix,
        name_ja=name_ja,
        name_en=name_en,
        default_service_s=default_service_s,
    )
    uow.add(category)
    await uow.flush()
    uow.log(
        entity="ticket_category",
        entity_id=category.id,
        action="create",
        municipality_code=office.municipality_code,
        data={"prefix": prefix},
    )
    return category


async def create_counter(
    uow: UnitOfWork,
    office: Office,
    *,
    label: str,
    name_ja: str,
    name_en: str,
    category_ids: list[str],
) -> Counter:
    """A counter and the categories it serves (all of this office)."""
    if await tenancy.counter_by_label(uow.session, office.id, label) is not None:
        raise Conflict("この窓口番号は使用中です (counter label already used)", label=label)
    counter = Counter(
        municipality_code=office.municipality_code,
        office_id=office.id,
        label=label,
        name_ja=name_ja,
        name_en=name_en,
    )
    uow.add(counter)
    await uow.flush()
    await set_counter_categories(uow, counter, category_ids)
    uow.log(
        entity="counter",
        entity_id=counter.id,
        action="create",
        municipality_code=office.municipality_code,
        data={"label": label},
    )
    return counter


async def set_counter_categories(
    uow: UnitOfWork, counter: Counter, category_ids: list[str]
) -> None:
    for index, category_id in enumerate(category_ids):
        category = await uow.get(TicketCategory, category_id)
        if category is None or category.office_id != counter.office_id:
            raise InvalidInput.field(
                f"categories[{index}]",
                "unknown_category",
                "受付区分が見つかりません (no such category here)",
            )
    await tenancy.replace_counter_categories(uow.session, counter, category_ids)


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
    secret: str | None = None,
) -> IssuedToken:
    """A bearer token; the secret is returned once and only its hash is stored.

    ``secret`` is for the demo only, whose tokens derive from its stored seed."""
    if await uow.get(Municipality, municipality_code) is None:
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
    secret = secret or f"mdg_{secrets.token_urlsafe(32)}"
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
    uow.add(token)
    await uow.flush()
    uow.log(
        entity="api_token",
        entity_id=token.id,
        action="create",
        municipality_code=municipality_code,
        data={"role": role, "office_id": office_id, "employer": employer},
    )
    return IssuedToken(token, secret)


async def revoke_token(uow: UnitOfWork, municipality_code: str, token_id: str) -> None:
    if not await tenancy.revoke_token(uow.session, municipality_code, token_id, uow.now()):
        raise NotFound("トークンが見つかりません (no such active token)", token_id=token_id)
    uow.log(
        entity="api_token", entity_id=token_id, action="revoke", municipality_code=municipality_code
    )

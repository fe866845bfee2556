"""Lookups of tenant-owned rows, always scoped by municipality."""

import hashlib
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.storage.db import rows_matched
from app.storage.tables import ApiToken, Counter, CounterCategory, Office, TicketCategory


def hash_token(secret: str) -> str:
    # Tokens carry 256 random bits, so a fast hash is enough: nothing to brute-force.
    return hashlib.sha256(secret.encode()).hexdigest()


async def find_active_token(session: AsyncSession, secret: str, now: datetime) -> ApiToken | None:
    token = (
        (
            await session.execute(
                select(ApiToken).where(col(ApiToken.token_hash) == hash_token(secret))
            )
        )
        .scalars()
        .first()
    )
    if token is None or token.revoked_at is not None:
        return None
    if token.expires_at is not None and token.expires_at <= now:
        return None
    return token


async def find_office(
    session: AsyncSession, office_id: str, municipality_code: str
) -> Office | None:
    office = await session.get(Office, office_id)
    return office if office and office.municipality_code == municipality_code else None


async def find_counter(
    session: AsyncSession, counter_id: str, municipality_code: str
) -> Counter | None:
    counter = await session.get(Counter, counter_id)
    return counter if counter and counter.municipality_code == municipality_code else None


async def find_category(
    session: AsyncSession, category_id: str, municipality_code: str
) -> TicketCategory | None:
    category = await session.get(TicketCategory, category_id)
    return category if category and category.municipality_code == municipality_code else None


async def list_categories(session: AsyncSession, office_id: str) -> list[TicketCategory]:
    rows = await session.execute(
        select(TicketCategory)
        .where(col(TicketCategory.office_id) == office_id, col(TicketCategory.is_active).is_(True))
        .order_by(TicketCategory.prefix)
    )
    return list(rows.scalars())


async def list_counters(session: AsyncSession, office_id: str) -> list[Counter]:
    rows = await session.execute(
        select(Counter).where(col(Counter.office_id) == office_id).order_by(col(Counter.label))
    )
    return list(rows.scalars())


async def counter_category_ids(session: AsyncSession, counter_id: str) -> list[str]:
    rows = await session.execute(
        select(col(CounterCategory.category_id)).where(
            col(CounterCategory.counter_id) == counter_id
        )
    )
    return list(rows.scalars())


async def category_by_prefix(
    session: AsyncSession, office_id: str, prefix: str
) -> TicketCategory | None:
    rows = await session.execute(
        select(TicketCategory).where(
            col(TicketCategory.office_id) == office_id, col(TicketCategory.prefix) == prefix
        )
    )
    return rows.scalars().first()


async def counter_by_label(session: AsyncSession, office_id: str, label: str) -> Counter | None:
    rows = await session.execute(
        select(Counter).where(col(Counter.office_id) == office_id, col(Counter.label) == label)
    )
    return rows.scalars().first()


async def replace_counter_categories(
    session: AsyncSession, counter: Counter, category_ids: list[str]
) -> None:
    """The counter serves exactly ``category_ids`` (in order, each once) from now on."""
    for link in (
        await session.execute(
            select(CounterCategory).where(col(CounterCategory.counter_id) == counter.id)
        )
    ).scalars():
        await session.delete(link)
    await session.flush()
    for category_id in dict.fromkeys(category_ids):
        session.add(
            CounterCategory(
                counter_id=counter.id,
                category_id=category_id,
                municipality_code=counter.municipality_code,
            )
        )


async def first_office(session: AsyncSession, municipality_code: str) -> Office | None:
    """The municipality's oldest office."""
    rows = await session.execute(
        select(Office)
        .where(col(Office.municipality_code) == municipality_code)
        .order_by(col(Office.created_at))
    )
    return rows.scalars().first()


async def all_categories(session: AsyncSession, office_id: str) -> list[TicketCategory]:
    """Every category of the office, active or not."""
    rows = await session.execute(
        select(TicketCategory).where(col(TicketCategory.office_id) == office_id)
    )
    return list(rows.scalars())


async def revoke_token(
    session: AsyncSession, municipality_code: str, token_id: str, at: datetime
) -> bool:
    """Revoke an active token of the municipality; False when there is none."""
    result = await session.execute(
        update(ApiToken)
        .where(
            col(ApiToken.id) == token_id,
            col(ApiToken.municipality_code) == municipality_code,
            col(ApiToken.revoked_at).is_(None),
        )
        .values(revoked_at=at)
    )
    return bool(rows_matched(result))


async def live_token_ids(session: AsyncSession, token_ids: list[str], now: datetime) -> list[str]:
    """The ids among ``token_ids`` of tokens neither revoked nor expired at ``now``."""
    rows = await session.execute(
        select(col(ApiToken.id)).where(
            col(ApiToken.id).in_(token_ids),
            col(ApiToken.revoked_at).is_(None),
            or_(
                col(ApiToken.expires_at).is_(None),
                col(ApiToken.expires_at) > now,
            ),
        )
    )
    return list(rows.scalars())


async def get_counter(session: AsyncSession, counter_id: str | None) -> Counter | None:
    """The counter (a ticket's, say); None for none."""
    return await session.get(Counter, counter_id) if counter_id else None


async def get_office(session: AsyncSession, office_id: str) -> Office | None:
    return await session.get(Office, office_id)


async def get_category(session: AsyncSession, category_id: str) -> TicketCategory | None:
    return await session.get(TicketCategory, category_id)

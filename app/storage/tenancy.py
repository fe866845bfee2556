"""Lookups of tenant-owned rows, always scoped by municipality."""

import hashlib
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.storage.tables import ApiToken, Counter, CounterCategory, Office, TicketCategory


def hash_token(secret: str) -> str:
    # Tokens carry 256 random bits, so a fast hash is enough: nothing to brute-force.
    return hashlib.sha256(secret.encode()).hexdigest()


async def find_active_token(session: AsyncSession, secret: str, now: datetime) -> ApiToken | None:
    token = (
        await session.execute(select(ApiToken).where(ApiToken.token_hash == hash_token(secret)))
    ).scalars().first()
    if token is None or token.revoked_at is not None:
        return None
    if token.expires_at is not None and token.expires_at <= now:
        return None
    return token


async def find_office(session: AsyncSession, office_id: str, municipality_code: str) -> Office | None:
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
        .where(TicketCategory.office_id == office_id, TicketCategory.is_active.is_(True))  # type: ignore[attr-defined]
        .order_by(TicketCategory.prefix)
    )
    return list(rows.scalars())


async def list_counters(session: AsyncSession, office_id: str) -> list[Counter]:
    rows = await session.execute(
        select(Counter).where(Counter.office_id == office_id).order_by(Counter.label)
    )
    return list(rows.scalars())


async def counter_category_ids(session: AsyncSession, counter_id: str) -> list[str]:
    rows = await session.execute(
        select(CounterCategory.category_id).where(CounterCategory.counter_id == counter_id)
    )
    return list(rows.scalars())

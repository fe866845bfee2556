"""A municipality's offices and API tokens, as the administration screens list them."""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.storage.tables import ApiToken, Municipality, Office


async def list_offices(session: AsyncSession, municipality_code: str) -> list[Office]:
    rows = await session.execute(
        select(Office)
        .where(col(Office.municipality_code) == municipality_code)
        .order_by(col(Office.created_at))
    )
    return list(rows.scalars())


async def all_offices(session: AsyncSession) -> list[Office]:
    """Every office of every municipality (jobs that serve them all)."""
    rows = await session.execute(select(Office).order_by(col(Office.id)))
    return list(rows.scalars())


async def list_tokens(session: AsyncSession, municipality_code: str) -> list[ApiToken]:
    rows = await session.execute(
        select(ApiToken)
        .where(col(ApiToken.municipality_code) == municipality_code)
        .order_by(col(ApiToken.created_at))
    )
    return list(rows.scalars())


async def get_office(session: AsyncSession, office_id: str) -> Office | None:
    return await session.get(Office, office_id)


async def get_municipality(session: AsyncSession, code: str) -> Municipality | None:
    return await session.get(Municipality, code)

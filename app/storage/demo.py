"""The demo's own rows: its secret, and look-ups that let re-seeding create nothing new."""

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.storage.tables import ApiToken, DemoSeed, Ticket


async def demo_secret(session: AsyncSession, code: str, fresh: str, now: datetime) -> str:
    """The municipality's demo secret: the stored one, else ``fresh``, stored now."""
    found = await session.get(DemoSeed, code)
    if found is None:
        found = DemoSeed(municipality_code=code, secret=fresh, created_at=now)
        session.add(found)
        await session.flush()
    return found.secret


async def token_by_hash(session: AsyncSession, token_hash: str) -> ApiToken | None:
    result = await session.execute(select(ApiToken).where(col(ApiToken.token_hash) == token_hash))
    return result.scalars().first()


async def office_tickets(session: AsyncSession, office_id: str) -> list[Ticket]:
    """The office's tickets, oldest first."""
    result = await session.execute(
        select(Ticket)
        .where(col(Ticket.office_id) == office_id)
        .order_by(col(Ticket.issued_at), col(Ticket.number))
    )
    return list(result.scalars())

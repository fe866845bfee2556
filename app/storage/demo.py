"""The demo's own rows: its secret, and look-ups that let re-seeding create nothing new."""

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.storage.tables import (
    ApiToken,
    Application,
    DemoSeed,
    Staff,
    Ticket,
)


async def demo_secret(session: AsyncSession, code: str, fresh: str, now: datetime) -> str:
    """The municipality's demo secret: the stored one, else ``fresh``, stored now."""
    found = await session.get(DemoSeed, code)
    if found is None:
        found = DemoSeed(municipality_code=code, secret=fresh, created_at=now)
        session.add(found)
        await session.flush()
    return found.secret


async def token_by_hash(session: AsyncSession, token_hash: str) -> ApiToken | None:
    result = await session.execute(select(ApiToken).where(ApiToken.token_hash == token_hash))
    return result.scalars().first()


async def office_tickets(session: AsyncSession, office_id: str) -> list[Ticket]:
    """The office's tickets, oldest first."""
    result = await session.execute(
        select(Ticket).where(Ticket.office_id == office_id).order_by(Ticket.issued_at, Ticket.number)
    )
    return list(result.scalars())


async def row_counts(session: AsyncSession, code: str) -> dict[str, int]:
    """How many tokens, staff, applications and tickets the municipality has."""
    counts: dict[str, int] = {}
    for name, table in (
        ("tokens", ApiToken),
        ("staff", Staff),
        ("applications", Application),
        ("tickets", Ticket),
    ):
        query = select(func.count()).select_from(table)
        query = query.where(table.municipality_code == code)  # type: ignore[attr-defined]
        counts[name] = int((await session.execute(query)).scalar_one())
    return counts

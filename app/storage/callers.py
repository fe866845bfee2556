"""Who is calling: the rows behind a bearer token."""

from sqlalchemy.ext.asyncio import AsyncSession

from app.storage.tables import Staff


async def find_staff(session: AsyncSession, staff_id: str) -> Staff | None:
    return await session.get(Staff, staff_id)

"""転入予約: found by the portal's id (idempotent intake), by number (the kiosk, locked), and
listed by their last valid day (the supervisor's list)."""

from datetime import date, datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.storage.tables import MoveInReservation


async def by_portal_ref(
    session: AsyncSession, municipality_code: str, portal_ref: str
) -> MoveInReservation | None:
    statement = select(MoveInReservation).where(
        col(MoveInReservation.municipality_code) == municipality_code,
        col(MoveInReservation.portal_ref) == portal_ref,
    )
    return (await session.execute(statement)).scalars().first()


async def by_number(
    session: AsyncSession, municipality_code: str, number: str, *, lock: bool = False
) -> MoveInReservation | None:
    statement = select(MoveInReservation).where(
        col(MoveInReservation.municipality_code) == municipality_code,
        col(MoveInReservation.number) == number,
    )
    if lock:
        statement = statement.with_for_update()
    return (await session.execute(statement)).scalars().first()


async def open_until(
    session: AsyncSession, municipality_code: str, status: str, last_day: date, limit: int
) -> list[MoveInReservation]:
    """Reservations in ``status`` whose last valid day is on or before ``last_day``, earliest
    first."""
    statement = (
        select(MoveInReservation)
        .where(
            col(MoveInReservation.municipality_code) == municipality_code,
            col(MoveInReservation.status) == status,
            col(MoveInReservation.last_valid_day) <= last_day,
        )
        .order_by(col(MoveInReservation.last_valid_day), col(MoveInReservation.number))
        .limit(limit)
    )
    return list((await session.execute(statement)).scalars())


async def lapse_before(session: AsyncSession, last_day: date, status: str, now: datetime) -> int:
    """Reservations still ``reserved`` whose last valid day is before ``last_day`` drop the
    resident's data (applicant and pre-filled form) and become ``status`` (lapsed)."""
    result = await session.execute(
        update(MoveInReservation)
        .where(
            col(MoveInReservation.status) == "reserved",
            col(MoveInReservation.last_valid_day) < last_day,
        )
        .values(applicant={}, fields={}, status=status, updated_at=now)
    )
    return int(getattr(result, "rowcount", 0) or 0)

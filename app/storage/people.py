"""Queries of the staff register, their sessions and failed sign-ins."""

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.storage.tables import EventLog, Staff, StaffSession


async def staff_by_number(
    session: AsyncSession, municipality_code: str, staff_id: str, *, lock: bool = False
) -> Staff | None:
    query = select(Staff).where(
        col(Staff.municipality_code) == municipality_code, col(Staff.staff_id) == staff_id
    )
    if lock:
        query = query.with_for_update()
    return (await session.execute(query)).scalars().first()


async def staff_by_sso_subject(session: AsyncSession, subject: str) -> Staff | None:
    return (
        (await session.execute(select(Staff).where(col(Staff.sso_subject) == subject)))
        .scalars()
        .first()
    )


async def revoke_sessions(session: AsyncSession, person_id: str, at: datetime) -> None:
    await session.execute(
        update(StaffSession)
        .where(col(StaffSession.staff_id) == person_id, col(StaffSession.revoked_at).is_(None))
        .values(revoked_at=at)
    )


async def session_with_person(
    session: AsyncSession, session_hash: str
) -> tuple[StaffSession, Staff] | None:
    row = (
        await session.execute(
            select(StaffSession, Staff)
            .join(Staff, col(Staff.id) == col(StaffSession.staff_id))
            .where(col(StaffSession.session_hash) == session_hash)
        )
    ).first()
    return None if row is None else (row[0], row[1])


async def login_failures(
    session: AsyncSession, municipality_code: str, since: datetime | None, limit: int
) -> list[EventLog]:
    """Failed sign-ins of a municipality, newest first."""
    query = select(EventLog).where(
        col(EventLog.municipality_code) == municipality_code,
        col(EventLog.entity) == "staff",
        col(EventLog.action) == "login_failed",
    )
    if since is not None:
        query = query.where(col(EventLog.at) >= since)
    return list(
        (await session.execute(query.order_by(col(EventLog.id).desc()).limit(limit))).scalars()
    )

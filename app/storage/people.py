"""Queries of the staff register, their sessions and failed sign-ins."""

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.storage.tables import EventLog, Staff, StaffSession


async def staff_by_number(
    session: AsyncSession, municipality_code: str, staff_id: str, *, lock: bool = False
) -> Staff | None:
    query = select(Staff).where(
        Staff.municipality_code == municipality_code, Staff.staff_id == staff_id
    )
    if lock:
        query = query.with_for_update()
    return (await session.execute(query)).scalars().first()


async def staff_by_sso_subject(session: AsyncSession, subject: str) -> Staff | None:
    return (
        (await session.execute(select(Staff).where(Staff.sso_subject == subject))).scalars().first()
    )


async def revoke_sessions(session: AsyncSession, person_id: str, at: datetime) -> None:
    await session.execute(
        update(StaffSession)
        .where(StaffSession.staff_id == person_id, StaffSession.revoked_at.is_(None))  # type: ignore[union-attr]
        .values(revoked_at=at)
    )


async def session_with_person(
    session: AsyncSession, session_hash: str
) -> tuple[StaffSession, Staff] | None:
    row = (
        await session.execute(
            select(StaffSession, Staff)
            .join(Staff, Staff.id == StaffSession.staff_id)  # type: ignore[arg-type]
            .where(StaffSession.session_hash == session_hash)
        )
    ).first()
    return None if row is None else (row[0], row[1])


async def login_failures(
    session: AsyncSession, municipality_code: str, since: datetime | None, limit: int
) -> list[EventLog]:
    """Failed sign-ins of a municipality, newest first."""
    query = select(EventLog).where(
        EventLog.municipality_code == municipality_code,
        EventLog.entity == "staff",
        EventLog.action == "login_failed",
    )
    if since is not None:
        query = query.where(EventLog.at >= since)  # type: ignore[operator]
    return list(
        (
            await session.execute(query.order_by(EventLog.id.desc()).limit(limit))  # type: ignore[union-attr]
        ).scalars()
    )

"""Supervision's reads and locks: operators (people and tokens of no person), the access log."""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.domain.roles import Employer, Role
from app.storage.tables import AccessLog, ApiToken, Staff


async def list_operators(
    session: AsyncSession, municipality_code: str, *, vendor_only: bool
) -> tuple[list[Staff], list[ApiToken]]:
    """Active operator people, and unrevoked operator tokens of no person (expired included)."""
    staff_query = select(Staff).where(
        col(Staff.municipality_code) == municipality_code,
        col(Staff.role) == Role.OPERATOR,
        col(Staff.is_active).is_(True),
    )
    query = select(ApiToken).where(
        col(ApiToken.municipality_code) == municipality_code,
        col(ApiToken.role) == Role.OPERATOR,
        col(ApiToken.staff_id).is_(None),
        col(ApiToken.revoked_at).is_(None),
    )
    if vendor_only:
        staff_query = staff_query.where(col(Staff.employer) == Employer.VENDOR)
        query = query.where(col(ApiToken.employer) == Employer.VENDOR)
    staff = await session.execute(staff_query)
    rows = await session.execute(query)
    return list(staff.scalars()), list(rows.scalars())


async def lock_staff(session: AsyncSession, staff_id: str) -> Staff | None:
    return await session.get(Staff, staff_id, with_for_update=True)


async def lock_token(session: AsyncSession, token_id: str) -> ApiToken | None:
    return await session.get(ApiToken, token_id, with_for_update=True)


async def person_token_ids(session: AsyncSession, staff_id: str) -> list[str]:
    return list(
        (
            await session.execute(
                select(col(ApiToken.id)).where(col(ApiToken.staff_id) == staff_id)
            )
        ).scalars()
    )


async def access_log_page(
    session: AsyncSession,
    municipality_code: str,
    *,
    entity_id: str | None,
    actor_id: str | None,
    my_number_shown: bool | None,
    before: int | None,
    limit: int,
) -> list[AccessLog]:
    """Access-log rows, newest first, older than ``before`` when given."""
    query = select(AccessLog).where(col(AccessLog.municipality_code) == municipality_code)
    if entity_id:
        query = query.where(col(AccessLog.entity_id) == entity_id)
    if actor_id:
        query = query.where(col(AccessLog.actor_id) == actor_id)
    if my_number_shown is not None:
        query = query.where(col(AccessLog.my_number_shown) == my_number_shown)
    if before is not None:
        query = query.where(col(AccessLog.id) < before)
    return list(
        (await session.execute(query.order_by(col(AccessLog.id).desc()).limit(limit))).scalars()
    )

"""Supervision's reads and locks: operators (people and tokens of no person), the access log."""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.roles import Employer, Role
from app.storage.tables import AccessLog, ApiToken, Staff


async def list_operators(
    session: AsyncSession, municipality_code: str, *, vendor_only: bool
) -> tuple[list[Staff], list[ApiToken]]:
    """Active operator people, and unrevoked operator tokens of no person (expired included)."""
    staff_query = select(Staff).where(
        Staff.municipality_code == municipality_code,
        Staff.role == Role.OPERATOR,
        Staff.is_active.is_(True),
    )  # type: ignore[attr-defined]
    query = select(ApiToken).where(
        ApiToken.municipality_code == municipality_code,
        ApiToken.role == Role.OPERATOR,
        ApiToken.staff_id.is_(None),  # type: ignore[union-attr]
        ApiToken.revoked_at.is_(None),
    )  # type: ignore[union-attr]
    if vendor_only:
        staff_query = staff_query.where(Staff.employer == Employer.VENDOR)
        query = query.where(ApiToken.employer == Employer.VENDOR)
    staff = await session.execute(staff_query)
    rows = await session.execute(query)
    return list(staff.scalars()), list(rows.scalars())


async def lock_staff(session: AsyncSession, staff_id: str) -> Staff | None:
    return await session.get(Staff, staff_id, with_for_update=True)


async def lock_token(session: AsyncSession, token_id: str) -> ApiToken | None:
    return await session.get(ApiToken, token_id, with_for_update=True)


async def person_token_ids(session: AsyncSession, staff_id: str) -> list[str]:
    return list(
        (await session.execute(select(ApiToken.id).where(ApiToken.staff_id == staff_id))).scalars()
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
    query = select(AccessLog).where(AccessLog.municipality_code == municipality_code)
    if entity_id:
        query = query.where(AccessLog.entity_id == entity_id)
    if actor_id:
        query = query.where(AccessLog.actor_id == actor_id)
    if my_number_shown is not None:
        query = query.where(AccessLog.my_number_shown == my_number_shown)  # type: ignore[arg-type]
    if before is not None:
        query = query.where(AccessLog.id < before)  # type: ignore[operator]
    return list(
        (
            await session.execute(
                query.order_by(AccessLog.id.desc()).limit(limit)  # type: ignore[union-attr]
            )
        ).scalars()
    )

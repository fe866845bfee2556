"""Follow-ups of a move: stored once per application, person and kind; a department's queue."""

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.storage.db import rows_matched
from app.storage.tables import Application, FollowUp


async def keys_of(session: AsyncSession, application_id: str) -> set[tuple[str, str]]:
    """(member, kind) of the follow-ups an application already has."""
    rows = await session.execute(
        select(col(FollowUp.member), col(FollowUp.kind)).where(
            col(FollowUp.application_id) == application_id
        )
    )
    return {(row[0], row[1]) for row in rows}


async def add(session: AsyncSession, follow_ups: Sequence[FollowUp]) -> None:
    session.add_all(follow_ups)
    await session.flush()


async def of_application(
    session: AsyncSession, municipality_code: str, application_id: str
) -> list[FollowUp]:
    """An application's follow-ups, by due date, department and person."""
    rows = await session.execute(
        select(FollowUp)
        .where(
            col(FollowUp.municipality_code) == municipality_code,
            col(FollowUp.application_id) == application_id,
        )
        .order_by(
            col(FollowUp.due_on), col(FollowUp.department), col(FollowUp.member), col(FollowUp.id)
        )
    )
    return list(rows.scalars())


async def queue_of(
    session: AsyncSession,
    municipality_code: str,
    *,
    department: str | None,
    status: str | None,
    limit: int,
) -> list[tuple[FollowUp, str]]:
    """A department's follow-ups (all departments' when None), earliest due first, with the
    procedure of the move each follows."""
    query = (
        select(FollowUp, col(Application.procedure))
        .join(Application, col(Application.id) == col(FollowUp.application_id))
        .where(col(FollowUp.municipality_code) == municipality_code)
    )
    if department is not None:
        query = query.where(col(FollowUp.department) == department)
    if status is not None:
        query = query.where(col(FollowUp.status) == status)
    query = query.order_by(col(FollowUp.due_on), col(FollowUp.created_at), col(FollowUp.id)).limit(
        limit
    )
    return [(row[0], row[1]) for row in await session.execute(query)]


async def cancel_open(session: AsyncSession, application_id: str, now: datetime) -> int:
    """A withdrawn move's open follow-ups are cancelled; the number cancelled."""
    result = await session.execute(
        update(FollowUp)
        .where(col(FollowUp.application_id) == application_id, col(FollowUp.status) == "open")
        .values(status="cancelled", updated_at=now)
    )
    return rows_matched(result)

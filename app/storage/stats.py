"""Supervisors' queue figures: open and leased work per step, throughput, who holds what."""

from datetime import date, datetime
from typing import NamedTuple

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.domain.applications import TaskStatus
from app.storage.tables import ApiToken, Application, Staff, Task


class StepCount(NamedTuple):
    procedure: str
    kind: str
    status: str
    count: int  # type: ignore[assignment]  # the field shadows tuple.count, on purpose
    oldest: datetime | None
    due_today: int
    overdue: int


class HeldTask(NamedTuple):
    task_id: str
    holder_id: str | None
    kind: str
    procedure: str
    lease_expires_at: datetime | None


async def active_steps(
    session: AsyncSession, municipality_code: str, today: date
) -> list[StepCount]:
    """Open and leased tasks per (procedure, kind, status), with the oldest and the due dates."""
    rows = await session.execute(
        select(
            col(Task.procedure),
            col(Task.kind),
            col(Task.status),
            func.count(),
            func.min(col(Task.created_at)),
            func.sum(case((col(Application.due_on) == today, 1), else_=0)),
            func.sum(case((col(Application.due_on) < today, 1), else_=0)),
        )
        .join(Application, col(Application.id) == col(Task.application_id))
        .where(
            col(Task.municipality_code) == municipality_code,
            col(Task.status).in_([TaskStatus.OPEN, TaskStatus.LEASED]),
        )
        .group_by(Task.procedure, Task.kind, Task.status)
    )
    return [
        StepCount(procedure, kind, status, count, oldest, int(due or 0), int(overdue or 0))
        for procedure, kind, status, count, oldest, due, overdue in rows.all()
    ]


async def done_per_step(
    session: AsyncSession, municipality_code: str, since: datetime
) -> list[tuple[str, str, int]]:
    """(procedure, kind, tasks done since ``since``)."""
    rows = await session.execute(
        select(col(Task.procedure), col(Task.kind), func.count())
        .where(
            col(Task.municipality_code) == municipality_code,
            col(Task.status) == TaskStatus.DONE,
            col(Task.completed_at) >= since,
        )
        .group_by(Task.procedure, Task.kind)
    )
    return [(procedure, kind, count) for procedure, kind, count in rows.all()]


async def done_per_person(
    session: AsyncSession, municipality_code: str, since: datetime
) -> list[tuple[str | None, str, int]]:
    """(who completed them, kind, tasks done since ``since``)."""
    rows = await session.execute(
        select(col(Task.completed_by), col(Task.kind), func.count())
        .where(
            col(Task.municipality_code) == municipality_code,
            col(Task.status) == TaskStatus.DONE,
            col(Task.completed_at) >= since,
        )
        .group_by(Task.completed_by, Task.kind)
    )
    return [(holder, kind, count) for holder, kind, count in rows.all()]


async def leased_tasks(session: AsyncSession, municipality_code: str) -> list[HeldTask]:
    rows = await session.execute(
        select(
            col(Task.id),
            col(Task.holder_id),
            col(Task.kind),
            col(Task.procedure),
            col(Task.lease_expires_at),
        ).where(
            col(Task.municipality_code) == municipality_code, col(Task.status) == TaskStatus.LEASED
        )
    )
    return [HeldTask(*row) for row in rows.all()]


async def actor_details(
    session: AsyncSession, municipality_code: str, ids: set[str]
) -> dict[str, tuple[str, str | None]]:
    """(name, employer) of the tokens and then the people (staff) among ``ids``."""
    if not ids:
        return {}
    details: dict[str, tuple[str, str | None]] = {
        row[0]: (row[1], row[2])
        for row in (
            await session.execute(
                select(col(ApiToken.id), col(ApiToken.name), col(ApiToken.employer)).where(
                    col(ApiToken.municipality_code) == municipality_code, col(ApiToken.id).in_(ids)
                )
            )
        ).all()
    }
    details.update(
        (row[0], (row[1], row[2]))
        for row in (
            await session.execute(
                select(col(Staff.id), col(Staff.name), col(Staff.employer)).where(
                    col(Staff.municipality_code) == municipality_code, col(Staff.id).in_(ids)
                )
            )
        ).all()
    )
    return details

"""Reads behind the work screens: the vendor manager's queue, the verify step's keying."""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.domain.applications import TaskKind
from app.storage.tables import Application, Task


async def latest_verify(session: AsyncSession, application_id: str) -> Task | None:
    """The application's most recently completed verify task."""
    return (
        (
            await session.execute(
                select(Task)
                .where(
                    col(Task.application_id) == application_id,
                    col(Task.kind) == TaskKind.VERIFY,
                    col(Task.status) == "done",
                )
                .order_by(col(Task.completed_at).desc())
            )
        )
        .scalars()
        .first()
    )


async def list_vendor_manager_tasks(
    session: AsyncSession, municipality_code: str, procedures: list[str], limit: int
) -> list[tuple[Task, Application]]:
    """Open returned vendor-keyed tasks of these procedures, most urgent first (never city-only
    work or applications under 支援措置)."""
    rows = (
        await session.execute(
            select(Task, Application)
            .join(Application, col(Application.id) == col(Task.application_id))
            .where(
                col(Task.municipality_code) == municipality_code,
                col(Task.queue) == "vendor_manager",
                col(Task.status) == "open",
                col(Task.city_only).is_(False),
                col(Application.is_protected).is_(False),
                col(Task.procedure).in_(procedures),
            )
            .order_by(col(Task.urgency))
            .limit(limit)
        )
    ).all()
    return [(task, application) for task, application in rows]

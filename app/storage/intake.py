"""Intake SQL: applications by their sender's reference, and bulk inserts of new forms."""

from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.storage.tables import Application, EventLog, Task, Ticket


async def contents_by_reference(
    session: AsyncSession,
    municipality_code: str,
    sender_id: str,
    refs: list[str],
    keys: tuple[str, ...],
) -> dict[str, tuple[str, dict[str, Any]]]:
    """external_ref → (application id, its ``keys`` columns), for refs this sender already sent."""
    columns = [getattr(Application, key) for key in keys]
    rows = await session.execute(
        select(col(Application.external_ref), col(Application.id), *columns).where(
            col(Application.municipality_code) == municipality_code,
            col(Application.sender_id) == sender_id,
            col(Application.external_ref).in_(refs),
        )
    )
    return {
        row[0]: (row[1], {key: row._mapping[key] for key in keys})
        for row in rows
        if row[0] is not None
    }


async def find_by_reference(
    session: AsyncSession, municipality_code: str, sender_id: str, external_ref: str
) -> Application | None:
    return (
        (
            await session.execute(
                select(Application).where(
                    col(Application.municipality_code) == municipality_code,
                    col(Application.sender_id) == sender_id,
                    col(Application.external_ref) == external_ref,
                )
            )
        )
        .scalars()
        .first()
    )


async def insert_applications(
    session: AsyncSession,
    applications: list[dict[str, Any]],
    tasks: list[dict[str, Any]],
    events: list[dict[str, Any]],
) -> None:
    """Bulk intake: applications, their tasks and log rows, one multi-row INSERT each.

    Core inserts on the tables: the rows are plain column values, so the ORM's bulk path (which
    sorts and inspects every row against the mapper) has nothing to add.
    """
    await session.execute(_INSERT_APPLICATION, applications)
    await session.execute(_INSERT_TASK, tasks)
    await session.execute(_INSERT_EVENT, events)


_INSERT_APPLICATION = insert(Application.__table__)  # type: ignore[attr-defined]
_INSERT_TASK = insert(Task.__table__)  # type: ignore[attr-defined]
_INSERT_EVENT = insert(EventLog.__table__)  # type: ignore[attr-defined]


async def add_applications(session: AsyncSession, applications: list[Application]) -> None:
    session.add_all(applications)
    await session.flush()


async def add_tasks(session: AsyncSession, tasks: list[Task]) -> None:
    session.add_all(tasks)
    await session.flush()


async def get_ticket(session: AsyncSession, ticket_id: str) -> Ticket | None:
    return await session.get(Ticket, ticket_id)

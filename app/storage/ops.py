"""The operations team's reads: schema revision and the queue figures of every municipality."""

from datetime import date

from sqlalchemy import case, func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlmodel import col

from app.domain.applications import TaskStatus
from app.domain.tickets import TicketStatus
from app.storage.db import AnyRow
from app.storage.migrations import current_revision
from app.storage.tables import Application, Task, Ticket, TicketCategory


async def database_revision(engine: AsyncEngine) -> str | None:
    """The schema revision the database is at; raises when the database cannot be reached."""
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))
        return await connection.run_sync(current_revision)


async def queue_figures(
    sessionmaker: async_sessionmaker[AsyncSession], today: date
) -> tuple[list[AnyRow], list[AnyRow]]:
    """Open tasks per (municipality, procedure, kind) and waiting tickets per (municipality,
    office, category prefix): count, leased, oldest, due today, overdue; count, oldest."""
    open_or_leased = col(Task.status).in_([TaskStatus.OPEN, TaskStatus.LEASED])
    overdue = case((col(Application.due_on) < today, 1), else_=0)
    of_task = col(Application.id) == col(Task.application_id)
    of_category = col(TicketCategory.id) == col(Ticket.category_id)
    async with sessionmaker() as session:
        tasks = (
            await session.execute(
                select(
                    col(Task.municipality_code),
                    col(Task.procedure),
                    col(Task.kind),
                    func.count(),
                    func.sum(case((col(Task.status) == TaskStatus.LEASED, 1), else_=0)),
                    func.min(col(Task.created_at)),
                    func.sum(case((col(Application.due_on) == today, 1), else_=0)),
                    func.sum(overdue),
                )
                .join(Application, of_task)
                .where(open_or_leased)
                .group_by(Task.municipality_code, Task.procedure, Task.kind)
            )
        ).all()
        tickets = (
            await session.execute(
                select(
                    col(Ticket.municipality_code),
                    col(Ticket.office_id),
                    col(TicketCategory.prefix),
                    func.count(),
                    func.min(col(Ticket.queued_at)),
                )
                .join(TicketCategory, of_category)
                .where(
                    col(Ticket.status) == TicketStatus.WAITING, col(Ticket.business_day) == today
                )
                .group_by(Ticket.municipality_code, Ticket.office_id, TicketCategory.prefix)
            )
        ).all()
    return list(tasks), list(tickets)

"""A plan of stops: the finished stops before the last, the numbers moved on, the categories
of a plan by id."""

from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.domain.tickets import TicketStatus
from app.storage.tables import Ticket, TicketCategory, TicketStop


async def categories_by_id(
    session: AsyncSession, category_ids: list[str]
) -> dict[str, TicketCategory]:
    """The categories by id (for a ticket's stops)."""
    if not category_ids:
        return {}
    rows = await session.execute(
        select(TicketCategory).where(col(TicketCategory.id).in_(category_ids))
    )
    return {c.id: c for c in rows.scalars()}


async def record_stop(session: AsyncSession, ticket: Ticket, finished_at: datetime) -> TicketStop:
    """Keep the times of the stop ``ticket`` is finishing (before it moves to its next one):
    arrival there is the previous stop's finish, or the issue for the first stop."""
    previous = (
        await session.execute(
            select(func.max(col(TicketStop.finished_at))).where(
                col(TicketStop.ticket_id) == ticket.id
            )
        )
    ).scalar_one()
    stop = TicketStop(
        municipality_code=ticket.municipality_code,
        office_id=ticket.office_id,
        ticket_id=ticket.id,
        category_id=ticket.category_id,
        counter_id=ticket.counter_id,
        business_day=ticket.business_day,
        arrived_at=previous or ticket.issued_at,
        called_at=ticket.called_at,
        started_at=ticket.started_at,
        finished_at=finished_at,
    )
    session.add(stop)
    return stop


async def moved_on(
    session: AsyncSession, office_id: str, business_day: date, *, limit: int
) -> list[tuple[str, TicketCategory]]:
    """Waiting tickets of the day that finished a stop of their plan and were not called at
    their next one yet, the latest move first: (number, the category they wait at)."""
    moved = func.max(col(TicketStop.finished_at))
    rows = await session.execute(
        select(col(Ticket.number), TicketCategory)
        .join(TicketStop, col(TicketStop.ticket_id) == col(Ticket.id))
        .join(TicketCategory, col(TicketCategory.id) == col(Ticket.category_id))
        .where(
            col(Ticket.office_id) == office_id,
            col(Ticket.business_day) == business_day,
            col(Ticket.status) == TicketStatus.WAITING,
            col(Ticket.called_at).is_(None),
        )
        .group_by(col(Ticket.id), col(Ticket.number), col(TicketCategory.id))
        .order_by(moved.desc())
        .limit(limit)
    )
    return [(number, category) for number, category in rows.all()]
